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
        (name = "contract", description = "Contrats, plan d'action, fiches action et indicateurs"),
        (name = "diagnosis", description = "Diagnostic local de santé : densités et accessibilité (E2SFCA) par commune"),
        (name = "open-data", description = "Données ouvertes : les plans d'action de tous les territoires (schéma décrit dans docs/open-data.md)")
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

/// Document the error answers each API operation can give, all with the
/// [`ApiErrorBody`](super::error::ApiErrorBody) schema, from what the route
/// declares: 400 when it takes parameters, 401 and 403 unless it is public,
/// 403 too for writes (CSRF), 404 when its path names something, 409 and
/// 415 and 422 for writes. Statuses a handler documents itself are kept.
pub fn document_errors(doc: &mut OpenApi, specs: &[super::access::RouteSpec]) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let error = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ApiErrorBody")))
                    .build(),
            )
            .build()
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        let ops = [
            (axum::http::Method::GET, item.get.as_mut()),
            (axum::http::Method::POST, item.post.as_mut()),
            (axum::http::Method::PUT, item.put.as_mut()),
            (axum::http::Method::PATCH, item.patch.as_mut()),
            (axum::http::Method::DELETE, item.delete.as_mut()),
        ];
        for (method, op) in ops {
            let Some(op) = op else { continue };
            let access = specs
                .iter()
                .find(|s| s.method == method && &s.path == path)
                .map(|s| s.access)
                .unwrap_or(Access::Public);
            let writes = method != axum::http::Method::GET;
            let mut add = |status: &str, description: &str| {
                op.responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| error(description).into());
            };
            if op.parameters.as_ref().is_some_and(|p| !p.is_empty()) || writes {
                add("400", "Paramètre ou corps de requête illisible");
            }
            if access != Access::Public {
                add("401", "Connexion requise");
                add("403", "Accès refusé");
            }
            if writes {
                add("403", "Accès refusé, ou jeton CSRF absent ou faux");
                add("415", "Corps de requête absent ou pas en JSON");
                add(
                    "409",
                    "Conflit : quelqu'un a enregistré une autre version entre-temps",
                );
                add("422", "Données refusées (le message dit pourquoi)");
            }
            if path.contains('{') {
                add("404", "Introuvable");
            }
        }
    }
}
