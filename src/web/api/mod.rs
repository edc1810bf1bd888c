//! The JSON API under `/api/v1/`, documented by `/api/openapi.json`. The
//! document is generated from the handlers' `#[utoipa::path]` attributes by
//! the same calls that register the routes (`Routes::api`).

mod directory;
mod geography;
mod me;

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use utoipa::openapi::OpenApi;
use utoipa::OpenApi as _;
use utoipa_axum::routes;

use super::access::{Access, Routes};
use super::AppState;

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Maillage API",
        description = "Contrats locaux de santé : territoires, communes, action plan, agenda, annuaire. \
                       Lecture publique ; écriture réservée aux rôles autorisés (session et jeton CSRF).",
        license(name = "AGPL-3.0-or-later")
    ),
    tags(
        (name = "territories", description = "Territoires de l'instance"),
        (name = "geography", description = "Communes, EPCI et QPV officiels"),
        (name = "directory", description = "Annuaire de l'offre de santé (FINESS, RPPS)"),
        (name = "account", description = "Compte connecté"),
        (name = "agenda", description = "Permanences, événements, séances et inscriptions"),
        (name = "participation", description = "Instances, réunions publiques, consultations et résultats publiés, boîte à idées"),
        (name = "contract", description = "Contrats, plan d'action, fiches action et indicateurs")
    ),
    components(schemas(super::error::ApiErrorBody))
)]
struct BaseDoc;

pub fn openapi_base() -> OpenApi {
    BaseDoc::openapi()
}

pub fn routes(r: Routes) -> Routes {
    r.api(Access::Public, routes!(geography::list_territories))
        .api(Access::Public, routes!(geography::get_territory))
        .api(Access::Public, routes!(geography::territory_communes))
        .api(Access::Public, routes!(geography::search_communes))
        .api(Access::Public, routes!(geography::get_commune))
        .api(Access::Public, routes!(geography::search_epcis))
        .api(Access::Public, routes!(geography::get_epci))
        .api(Access::Public, routes!(directory::search))
        .api(Access::Public, routes!(directory::establishment))
        .api(Access::Public, routes!(directory::professional))
        .api(Access::SignedIn, routes!(me::me))
        .api(Access::Admin, routes!(crate::web::admin::imports::status))
        .get("/api/openapi.json", Access::Public, openapi_json)
}

static DOC: OnceLock<String> = OnceLock::new();

/// The document is the same for every process and every request: build it once.
async fn openapi_json(State(st): State<AppState>) -> impl IntoResponse {
    let json = DOC.get_or_init(|| {
        let doc = super::routes(st).openapi;
        doc.to_pretty_json().unwrap_or_else(|_| "{}".into())
    });
    ([(CONTENT_TYPE, "application/json")], json.clone())
}
