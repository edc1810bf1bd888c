//! The directory of the health-care offer, as JSON.

use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::directory::{self, Hit};
use crate::storage::directory::{
    self as store, EstablishmentRow, PracticePlaceRow, ProfessionalRow,
};
use crate::storage::territories;
use crate::web::directory::SearchForm;
use crate::web::error::{ApiError, ApiErrorBody, AppError};
use crate::web::AppState;

#[derive(Deserialize, IntoParams)]
pub struct DirectoryQuery {
    /// Nom ou mot-clé (sans tenir compte des accents ni des petites fautes de frappe).
    q: Option<String>,
    /// Code profession RPPS (10 médecin, 60 infirmier…).
    profession: Option<String>,
    /// Code catégorie FINESS (620 pharmacie…).
    category: Option<String>,
    /// Code INSEE d'une commune du territoire (404 si elle n'en est pas).
    commune: Option<String>,
    /// Rayon de recherche autour, en km (0 à 100).
    #[param(value_type = Option<f64>, minimum = 0, maximum = 100)]
    radius_km: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/territories/{slug}/directory", tag = "directory",
    params(("slug" = String, Path, description = "Identifiant d'adresse du territoire"), DirectoryQuery),
    responses((status = 200, body = [Hit]), (status = 400, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
pub async fn search(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<DirectoryQuery>,
) -> Result<Json<Vec<Hit>>, ApiError> {
    let t = territories::get_by_slug(&st.db, &slug)
        .await?
        .ok_or(AppError::NotFound)?;
    // Documented as a number: blanks around it, or nothing, are not one
    // (the search form of the public site is more forgiving).
    if q.radius_km
        .as_deref()
        .is_some_and(|r| r.parse::<f64>().is_err())
    {
        return Err(AppError::BadRequest(
            "radius_km : nombre de kilomètres entre 0 et 100 attendu".into(),
        )
        .into());
    }
    let codes: Vec<String> = territories::communes(&st.db, t.id)
        .await?
        .into_iter()
        .map(|c| c.insee_code)
        .collect();
    let form = SearchForm {
        q: q.q.unwrap_or_default(),
        profession: q.profession.unwrap_or_default(),
        categorie: q.category.unwrap_or_default(),
        commune: q.commune.unwrap_or_default(),
        rayon: q.radius_km.unwrap_or_default(),
        // The API answers every result at once.
        page: String::new(),
    };
    let query = form.to_query(&codes).map_err(|(field, msg)| match field {
        // A commune that is not one of the territory's is not found there.
        "commune" => AppError::NotFound,
        _ => AppError::BadRequest(format!("{field} : {msg}")),
    })?;
    let setting = directory::Setting::load(&st.db, t.id, &codes, &query.commune).await?;
    Ok(Json(directory::search(&st.db, &setting, &query).await?))
}

#[utoipa::path(get, path = "/api/v1/establishments/{finess}", tag = "directory",
    params(("finess" = String, Path, description = "Numéro FINESS de l'établissement")),
    responses((status = 200, body = EstablishmentRow), (status = 404, body = ApiErrorBody)))]
pub async fn establishment(
    State(st): State<AppState>,
    Path(finess): Path<String>,
) -> Result<Json<EstablishmentRow>, ApiError> {
    Ok(Json(
        store::get_establishment(&st.db, &finess)
            .await?
            .ok_or(AppError::NotFound)?,
    ))
}

#[derive(Serialize, ToSchema)]
pub struct ProfessionalOut {
    #[serde(flatten)]
    pub professional: ProfessionalRow,
    pub places: Vec<PracticePlaceRow>,
}

#[utoipa::path(get, path = "/api/v1/professionals/{rpps}", tag = "directory",
    params(("rpps" = String, Path, description = "Identification nationale PP")),
    responses((status = 200, body = ProfessionalOut), (status = 404, body = ApiErrorBody)))]
pub async fn professional(
    State(st): State<AppState>,
    Path(rpps): Path<String>,
) -> Result<Json<ProfessionalOut>, ApiError> {
    let (professional, places) = store::get_professional(&st.db, &rpps)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(ProfessionalOut {
        professional,
        places,
    }))
}
