//! The diagnosis in the JSON API: accessibility per commune and densities.

use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::routes;

use crate::diagnosis;
use crate::domain::diagnosis::profession::Profession;
use crate::storage::territories::{self, Territory};
use crate::web::access::{Access, Routes};
use crate::web::error::{ApiError, ApiErrorBody, AppError};
use crate::web::AppState;

pub fn routes(r: Routes) -> Routes {
    r.api(Access::Public, routes!(accessibility))
        .api(Access::Public, routes!(densities))
}

async fn territory(st: &AppState, slug: &str) -> Result<Territory, ApiError> {
    Ok(territories::get_by_slug(&st.db, slug)
        .await?
        .ok_or(AppError::NotFound)?)
}

/// A profession of the diagnosis.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ProfessionParam {
    #[default]
    Generalistes,
    Infirmiers,
    Kinesitherapeutes,
    Dentistes,
    SagesFemmes,
    Pharmacies,
}

impl From<ProfessionParam> for Profession {
    fn from(p: ProfessionParam) -> Self {
        match p {
            ProfessionParam::Generalistes => Profession::Generalistes,
            ProfessionParam::Infirmiers => Profession::Infirmiers,
            ProfessionParam::Kinesitherapeutes => Profession::Kinesitherapeutes,
            ProfessionParam::Dentistes => Profession::Dentistes,
            ProfessionParam::SagesFemmes => Profession::SagesFemmes,
            ProfessionParam::Pharmacies => Profession::Pharmacies,
        }
    }
}

#[derive(Deserialize, IntoParams)]
pub struct AccessQuery {
    /// The profession (médecins généralistes by default).
    #[serde(default)]
    profession: ProfessionParam,
}

/// One commune of the territory.
#[derive(Serialize, ToSchema)]
pub struct CommuneAccess {
    pub insee: String,
    pub name: String,
    /// Municipal population.
    pub population: Option<i64>,
    /// S_j: professionals practising in the commune (1/n for each of n places).
    pub supply: f64,
    /// A_i × 10 000: accessibility per 10 000 inhabitants; null without a score.
    pub accessibility: Option<f64>,
    /// Why there is no score (French), absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_score: Option<String>,
    /// Below the threshold (the coordination's, else the national median).
    pub below_threshold: Option<bool>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

/// The E2SFCA accessibility of a territory's communes for one profession.
#[derive(Serialize, ToSchema)]
pub struct AccessibilityOut {
    pub profession: ProfessionParam,
    pub unit: &'static str,
    /// Distance-decay steps: [minutes up to, weight].
    #[schema(value_type = Vec<Vec<f64>>)]
    pub bands: Vec<[f64; 2]>,
    pub minutes_per_km: f64,
    /// Population standardised by age-specific care use (else raw).
    pub standardised: bool,
    pub threshold: Option<f64>,
    /// The threshold is the national median of the same score.
    pub threshold_is_national_median: bool,
    /// When the scores were computed (after the last import).
    pub computed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub communes: Vec<CommuneAccess>,
}

#[utoipa::path(get, path = "/api/v1/diagnostic/{territory}/accessibility", tag = "diagnosis",
    params(("territory" = String, Path, description = "Identifiant d'adresse du territoire"), AccessQuery),
    responses((status = 200, body = AccessibilityOut), (status = 404, body = ApiErrorBody)))]
pub async fn accessibility(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<AccessQuery>,
) -> Result<Json<AccessibilityOut>, ApiError> {
    let t = territory(&st, &slug).await?;
    let d = diagnosis::load(&st.db, t.id, false).await?;
    let profession: Profession = q.profession.into();
    let p = d.profession(profession).ok_or(AppError::NotFound)?;
    let communes = d
        .communes
        .iter()
        .map(|c| {
            let r = p.row(&c.code);
            let score = r.and_then(|r| r.score);
            CommuneAccess {
                insee: c.code.clone(),
                name: c.name.clone(),
                population: c.population,
                supply: r.map(|r| r.supply).unwrap_or(0.0),
                accessibility: score,
                no_score: r.filter(|r| r.score.is_none()).map(|r| r.no_score.clone()),
                below_threshold: score.zip(p.threshold).map(|(s, t)| s < t),
                latitude: c.point.map(|p| p.0),
                longitude: c.point.map(|p| p.1),
            }
        })
        .collect();
    Ok(Json(AccessibilityOut {
        profession: q.profession,
        unit: "pour 10 000 habitants",
        bands: p.bands.pairs().into_iter().map(|(m, w)| [m, w]).collect(),
        minutes_per_km: d
            .run
            .as_ref()
            .map(|r| r.minutes_per_km)
            .unwrap_or(diagnosis::MINUTES_PER_KM),
        standardised: d.standardised(),
        threshold: p.threshold,
        threshold_is_national_median: p.threshold_is_median,
        computed_at: d.run.as_ref().map(|r| r.computed_at),
        communes,
    }))
}

/// An area compared with the territory.
#[derive(Serialize, ToSchema)]
pub struct AreaOut {
    pub code: String,
    pub name: String,
}

/// One profession's densities per 10 000 inhabitants.
#[derive(Serialize, ToSchema)]
pub struct DensityOut {
    pub profession: ProfessionParam,
    pub label: &'static str,
    /// Professionals (1/n per practice place) or pharmacies on the territory.
    pub supply: f64,
    pub territory: Option<f64>,
    pub departement: Option<f64>,
    pub region: Option<f64>,
    pub france: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct DensitiesOut {
    pub unit: &'static str,
    pub population: i64,
    pub departement: Option<AreaOut>,
    pub region: Option<AreaOut>,
    pub professions: Vec<DensityOut>,
}

fn param(p: Profession) -> ProfessionParam {
    match p {
        Profession::Generalistes => ProfessionParam::Generalistes,
        Profession::Infirmiers => ProfessionParam::Infirmiers,
        Profession::Kinesitherapeutes => ProfessionParam::Kinesitherapeutes,
        Profession::Dentistes => ProfessionParam::Dentistes,
        Profession::SagesFemmes => ProfessionParam::SagesFemmes,
        Profession::Pharmacies => ProfessionParam::Pharmacies,
    }
}

#[utoipa::path(get, path = "/api/v1/diagnostic/{territory}/densities", tag = "diagnosis",
    params(("territory" = String, Path, description = "Identifiant d'adresse du territoire")),
    responses((status = 200, body = DensitiesOut), (status = 404, body = ApiErrorBody)))]
pub async fn densities(
    State(st): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Json<DensitiesOut>, ApiError> {
    let t = territory(&st, &slug).await?;
    let d = diagnosis::load(&st.db, t.id, false).await?;
    let area = |a: &Option<(String, String)>| {
        a.as_ref().map(|(code, name)| AreaOut {
            code: code.clone(),
            name: name.clone(),
        })
    };
    Ok(Json(DensitiesOut {
        unit: "pour 10 000 habitants",
        population: d.population(),
        departement: area(&d.departement),
        region: area(&d.region),
        professions: d
            .professions
            .iter()
            .map(|p| DensityOut {
                profession: param(p.profession),
                label: p.profession.label(),
                supply: p.densities.supply,
                territory: p.densities.territory,
                departement: p.densities.departement,
                region: p.densities.region,
                france: p.densities.france,
            })
            .collect(),
    }))
}
