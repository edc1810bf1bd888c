//! Territories and the official geography, read-only and public.

use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::codes::{InseeCode, Siren};
use crate::storage::communes::{self, Commune, Epci, Qpv};
use crate::storage::territories::{self, TerritorySummary};
use crate::web::error::{ApiError, ApiErrorBody, AppError};
use crate::web::AppState;

/// A territory as the public sees it.
#[derive(Serialize, ToSchema)]
pub struct TerritoryOut {
    pub slug: String,
    pub name: String,
    pub kind: String,
    pub epci_siren: Option<String>,
    pub presentation: String,
    pub contact_name: String,
    pub contact_email: String,
    pub contact_phone: String,
    pub contact_address: String,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub commune_count: usize,
    pub population: i64,
    pub qpvs: Vec<Qpv>,
}

#[utoipa::path(get, path = "/api/v1/territories", tag = "territories",
    responses((status = 200, description = "Territoires de l'instance", body = [TerritorySummary])))]
pub async fn list_territories(
    State(st): State<AppState>,
) -> Result<Json<Vec<TerritorySummary>>, ApiError> {
    Ok(Json(territories::list(&st.db).await?))
}

async fn territory(st: &AppState, slug: &str) -> Result<territories::Territory, ApiError> {
    Ok(territories::get_by_slug(&st.db, slug)
        .await?
        .ok_or(AppError::NotFound)?)
}

#[utoipa::path(get, path = "/api/v1/territories/{slug}", tag = "territories",
    params(("slug" = String, Path, description = "Identifiant d'adresse du territoire")),
    responses((status = 200, body = TerritoryOut), (status = 404, body = ApiErrorBody)))]
pub async fn get_territory(
    State(st): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Json<TerritoryOut>, ApiError> {
    let t = territory(&st, &slug).await?;
    let communes = territories::communes(&st.db, t.id).await?;
    let qpvs = territories::qpvs(&st.db, t.id).await?;
    Ok(Json(TerritoryOut {
        population: communes.iter().filter_map(|c| c.population).sum(),
        commune_count: communes.len(),
        qpvs,
        slug: t.slug,
        name: t.name,
        kind: t.kind,
        epci_siren: t.epci_siren,
        presentation: t.presentation,
        contact_name: t.contact_name,
        contact_email: t.contact_email,
        contact_phone: t.contact_phone,
        contact_address: t.contact_address,
        updated_at: t.updated_at,
    }))
}

#[utoipa::path(get, path = "/api/v1/territories/{slug}/communes", tag = "territories",
    params(("slug" = String, Path, description = "Identifiant d'adresse du territoire")),
    responses((status = 200, body = [Commune]), (status = 404, body = ApiErrorBody)))]
pub async fn territory_communes(
    State(st): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Json<Vec<Commune>>, ApiError> {
    let t = territory(&st, &slug).await?;
    Ok(Json(territories::communes(&st.db, t.id).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct SearchQuery {
    /// Nom (sans tenir compte des accents), code INSEE ou code postal.
    #[param(min_length = 2)]
    q: String,
    /// Au plus 100 résultats (20 par défaut).
    limit: Option<i64>,
}

/// At least two characters, as documented.
fn check_search(q: &SearchQuery) -> Result<(), ApiError> {
    if q.q.chars().count() < 2 {
        return Err(
            AppError::BadRequest("la recherche demande au moins 2 caractères".into()).into(),
        );
    }
    Ok(())
}

#[utoipa::path(get, path = "/api/v1/communes", tag = "geography", params(SearchQuery),
    responses((status = 200, body = [Commune]), (status = 400, body = ApiErrorBody)))]
pub async fn search_communes(
    State(st): State<AppState>,
    Query(q): Query<SearchQuery>,
) -> Result<Json<Vec<Commune>>, ApiError> {
    check_search(&q)?;
    let limit = q.limit.unwrap_or(20).clamp(1, 100);
    Ok(Json(communes::search_communes(&st.db, &q.q, limit).await?))
}

/// A commune with the EPCI it belongs to.
#[derive(Serialize, ToSchema)]
pub struct CommuneOut {
    #[serde(flatten)]
    pub commune: Commune,
    pub epci: Option<Epci>,
}

#[utoipa::path(get, path = "/api/v1/communes/{insee_code}", tag = "geography",
    params(("insee_code" = String, Path, description = "Code INSEE (5 caractères) ; un code mal formé est introuvable (404)")),
    responses((status = 200, body = CommuneOut), (status = 404, body = ApiErrorBody)))]
pub async fn get_commune(
    State(st): State<AppState>,
    Path(code): Path<String>,
) -> Result<Json<CommuneOut>, ApiError> {
    // A code that cannot exist names no commune: 404, like an unknown one.
    let code = InseeCode::parse(&code).map_err(|_| AppError::NotFound)?;
    let commune = communes::get_commune(&st.db, code.as_str())
        .await?
        .ok_or(AppError::NotFound)?;
    let epci = communes::epci_of_commune(&st.db, code.as_str()).await?;
    Ok(Json(CommuneOut { commune, epci }))
}

#[utoipa::path(get, path = "/api/v1/epcis", tag = "geography", params(SearchQuery),
    responses((status = 200, body = [Epci]), (status = 400, body = ApiErrorBody)))]
pub async fn search_epcis(
    State(st): State<AppState>,
    Query(q): Query<SearchQuery>,
) -> Result<Json<Vec<Epci>>, ApiError> {
    check_search(&q)?;
    let limit = q.limit.unwrap_or(20).clamp(1, 100);
    Ok(Json(communes::search_epcis(&st.db, &q.q, limit).await?))
}

/// An EPCI with its member communes.
#[derive(Serialize, ToSchema)]
pub struct EpciOut {
    #[serde(flatten)]
    pub epci: Epci,
    pub communes: Vec<Commune>,
}

#[utoipa::path(get, path = "/api/v1/epcis/{siren}", tag = "geography",
    params(("siren" = String, Path, description = "SIREN de l'EPCI (9 chiffres) ; un numéro mal formé est introuvable (404)")),
    responses((status = 200, body = EpciOut), (status = 404, body = ApiErrorBody)))]
pub async fn get_epci(
    State(st): State<AppState>,
    Path(siren): Path<String>,
) -> Result<Json<EpciOut>, ApiError> {
    let siren = Siren::parse(&siren).map_err(|_| AppError::NotFound)?;
    let epci = communes::get_epci(&st.db, siren.as_str())
        .await?
        .ok_or(AppError::NotFound)?;
    let communes = communes::epci_communes(&st.db, siren.as_str()).await?;
    Ok(Json(EpciOut { epci, communes }))
}
