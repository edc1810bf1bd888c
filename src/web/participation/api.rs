//! Participation API: bodies (without members' personal data), their public
//! meetings, consultations with their questions, published results, and
//! published ideas.

use axum::extract::{Path, State};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::{commune_choices, path_id};
use crate::domain::participation::{self as dom, Question, QuestionResult};
use crate::storage::participation::{self as store, Body, Consultation, Idea, Meeting};
use crate::storage::territories::Territory;
use crate::web::access::{Access, Routes};
use crate::web::error::{ApiError, ApiErrorBody, AppError};
use crate::web::AppState;

pub fn routes(r: Routes) -> Routes {
    r.api(Access::Public, routes!(list_bodies))
        .api(Access::Public, routes!(body_meetings))
        .api(Access::Public, routes!(list_consultations))
        .api(Access::Public, routes!(consultation_results))
        .api(Access::Public, routes!(list_ideas))
}

async fn territory(st: &AppState, slug: &str) -> Result<Territory, ApiError> {
    Ok(crate::storage::territories::get_by_slug(&st.db, slug)
        .await?
        .ok_or(AppError::NotFound)?)
}

#[utoipa::path(get, path = "/api/v1/participation/{territory}/bodies", tag = "participation",
    params(("territory" = String, Path, description = "Identifiant d'adresse du territoire")),
    responses((status = 200, body = [Body]), (status = 404, body = ApiErrorBody)))]
pub async fn list_bodies(
    State(st): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Json<Vec<Body>>, ApiError> {
    let t = territory(&st, &slug).await?;
    Ok(Json(store::list_bodies(&st.db, t.id).await?))
}

#[utoipa::path(get, path = "/api/v1/participation/{territory}/bodies/{body}/meetings", tag = "participation",
    params(("territory" = String, Path, description = "Identifiant d'adresse du territoire"),
           ("body" = i64, Path, description = "Instance")),
    responses((status = 200, body = [Meeting], description = "Réunions publiques de l'instance (sans compte rendu)"), (status = 404, body = ApiErrorBody)))]
pub async fn body_meetings(
    State(st): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Json<Vec<Meeting>>, ApiError> {
    let t = territory(&st, &slug).await?;
    let b = store::get_body(&st.db, t.id, path_id(&id)?).await?;
    Ok(Json(
        store::meetings(&st.db, b.id)
            .await?
            .into_iter()
            .filter(|m| m.public)
            .map(|m| Meeting {
                minutes: String::new(),
                ..m
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct ConsultationOut {
    #[serde(flatten)]
    pub consultation: Consultation,
    pub open: bool,
    pub questions: Vec<Question>,
}

#[utoipa::path(get, path = "/api/v1/participation/{territory}/consultations", tag = "participation",
    params(("territory" = String, Path, description = "Identifiant d'adresse du territoire")),
    responses((status = 200, body = [ConsultationOut]), (status = 404, body = ApiErrorBody)))]
pub async fn list_consultations(
    State(st): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Json<Vec<ConsultationOut>>, ApiError> {
    let t = territory(&st, &slug).await?;
    let today = store::today();
    let mut out = Vec::new();
    for c in store::list_consultations(&st.db, t.id).await? {
        out.push(ConsultationOut {
            open: c.is_open(&today),
            questions: store::questions(&st.db, c.id).await?,
            consultation: c,
        });
    }
    Ok(Json(out))
}

#[derive(Serialize, ToSchema)]
pub struct ResultsOut {
    pub consultation_id: i64,
    pub responses: i64,
    pub questions: Vec<QuestionResult>,
}

#[utoipa::path(get, path = "/api/v1/participation/{territory}/consultations/{consultation}/results", tag = "participation",
    params(("territory" = String, Path, description = "Identifiant d'adresse du territoire"),
           ("consultation" = i64, Path, description = "Consultation")),
    responses((status = 200, body = ResultsOut, description = "Résultats publiés (comptes et pourcentages ; pas les réponses libres)"), (status = 404, body = ApiErrorBody)))]
pub async fn consultation_results(
    State(st): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Json<ResultsOut>, ApiError> {
    let t = territory(&st, &slug).await?;
    let c = store::get_consultation(&st.db, t.id, path_id(&id)?).await?;
    if !c.results_published {
        return Err(AppError::NotFound.into());
    }
    let questions = store::questions(&st.db, c.id).await?;
    let communes = commune_choices(&st, &t).await?;
    let raw = store::raw_results(&st.db, c.id).await?;
    Ok(Json(ResultsOut {
        consultation_id: c.id,
        responses: raw.responses,
        questions: dom::compute_results(&questions, &raw.counts, &raw.respondents, &communes),
    }))
}

#[utoipa::path(get, path = "/api/v1/participation/{territory}/ideas", tag = "participation",
    params(("territory" = String, Path, description = "Identifiant d'adresse du territoire")),
    responses((status = 200, body = [Idea], description = "Idées publiées, avec la réponse de la coordination"), (status = 404, body = ApiErrorBody)))]
pub async fn list_ideas(
    State(st): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Json<Vec<Idea>>, ApiError> {
    let t = territory(&st, &slug).await?;
    Ok(Json(store::list_ideas(&st.db, t.id, true).await?))
}
