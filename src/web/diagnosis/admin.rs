//! The coordinators' back office of the diagnosis: findings per chapter
//! linked to fiches action, thresholds per profession, questionnaires
//! attached as the participatory part.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Form;
use serde::Deserialize;

use crate::domain::diagnosis::access::Bands;
use crate::domain::diagnosis::chapter::{parse_threshold, Chapter, FindingRaw};
use crate::domain::diagnosis::profession::Profession;
use crate::domain::indicator::format_number;
use crate::storage::diagnosis::{self as store, Finding};
use crate::storage::participation as consultations;
use crate::web::access::TerritoryCtx;
use crate::web::error::AppError;
use crate::web::form::{self, Failed};
use crate::web::pages::{render, Ctx, FormErrors, Layout};
use crate::web::{flash, AppState};

const STALE: &str = "Quelqu’un a modifié ce constat entre-temps. Voici la version enregistrée ; votre saisie est affichée à côté : reportez vos changements puis enregistrez.";

/// A finding as typed, with the fiches action ticked.
#[derive(Deserialize, Default, Clone)]
pub struct FindingForm {
    #[serde(flatten)]
    raw: FindingRaw,
    #[serde(default)]
    actions: Vec<String>,
    #[serde(default)]
    version: String,
}

impl FindingForm {
    fn of(f: &Finding, actions: Vec<i64>) -> Self {
        FindingForm {
            raw: FindingRaw {
                chapter: f.chapter.clone(),
                title: f.title.clone(),
                body: f.body.clone(),
            },
            actions: actions.iter().map(i64::to_string).collect(),
            version: f.version.to_string(),
        }
    }

    fn action_ids(&self) -> Vec<i64> {
        self.actions
            .iter()
            .filter_map(|a| a.trim().parse().ok())
            .collect()
    }

    fn ticks(&self, id: &i64) -> bool {
        self.actions.iter().any(|a| a.trim() == id.to_string())
    }
}

pub struct FindingRow {
    pub f: Finding,
    pub actions: Vec<String>,
}

pub struct ThresholdRow {
    pub slug: &'static str,
    pub label: &'static str,
    pub value: String,
    pub median: String,
}

pub struct ConsultationChoice {
    pub id: i64,
    pub title: String,
    pub responses: i64,
    pub attached: bool,
}

#[derive(Template)]
#[template(path = "diagnosis/admin.html")]
struct HomePage {
    l: Layout,
    slug: String,
    csrf: String,
    computed_at: String,
    standardised: bool,
    chapters: Vec<(&'static str, &'static str, Vec<FindingRow>)>,
    actions: Vec<(i64, String, String)>,
    form: FindingForm,
    thresholds: Vec<ThresholdRow>,
    consultations: Vec<ConsultationChoice>,
    /// The headline figures kept per year: the last years, and per figure
    /// its label and values (empty when not kept that year).
    history_years: Vec<i32>,
    history: Vec<(String, Vec<String>)>,
    errors: FormErrors,
}

/// The last four years of kept figures, in the latest year's order.
fn history(
    by_year: &std::collections::BTreeMap<i32, Vec<crate::domain::diagnosis::figures::Figure>>,
) -> (Vec<i32>, Vec<(String, Vec<String>)>) {
    let years: Vec<i32> = by_year.keys().rev().take(4).rev().copied().collect();
    let mut keys: Vec<(&str, &str)> = Vec::new();
    for y in years.iter().rev() {
        for f in &by_year[y] {
            if !keys.iter().any(|(k, _)| *k == f.key) {
                keys.push((&f.key, &f.label));
            }
        }
    }
    let rows = keys
        .into_iter()
        .map(|(key, label)| {
            let values = years
                .iter()
                .map(|y| {
                    by_year[y]
                        .iter()
                        .find(|f| f.key == key)
                        .map(|f| f.display())
                        .unwrap_or_default()
                })
                .collect();
            (label.to_owned(), values)
        })
        .collect();
    (years, rows)
}

#[derive(Template)]
#[template(path = "diagnosis/finding_edit.html")]
struct EditPage {
    l: Layout,
    slug: String,
    csrf: String,
    id: i64,
    actions: Vec<(i64, String, String)>,
    chapters: Vec<(&'static str, &'static str)>,
    form: FindingForm,
    conflict: Option<FindingForm>,
    errors: FormErrors,
}

fn chapter_choices() -> Vec<(&'static str, &'static str)> {
    Chapter::ALL
        .into_iter()
        .map(|c| (c.as_str(), c.label()))
        .collect()
}

#[derive(Default)]
struct Typed {
    finding: Option<FindingForm>,
    thresholds: Option<ThresholdForm>,
}

async fn home_page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    typed: Typed,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let findings = store::findings(&st.db, t.id).await?;
    let links = store::finding_actions(&st.db, t.id).await?;
    let chapters = Chapter::ALL
        .into_iter()
        .map(|c| {
            let rows = findings
                .iter()
                .filter(|f| f.chapter == c.as_str())
                .map(|f| FindingRow {
                    actions: links
                        .iter()
                        .filter(|l| l.finding_id == f.id)
                        .map(|l| format!("{} {}", l.code, l.title))
                        .collect(),
                    f: f.clone(),
                })
                .collect();
            (c.as_str(), c.label(), rows)
        })
        .collect();
    let stored = store::thresholds(&st.db, t.id).await?;
    let medians = store::medians(&st.db).await?;
    let typed_thresholds = typed.thresholds;
    let thresholds = Profession::ALL
        .into_iter()
        .map(|p| ThresholdRow {
            slug: p.slug(),
            label: p.label(),
            value: match &typed_thresholds {
                Some(f) => f.value(p.slug()).to_owned(),
                None => stored
                    .get(p.slug())
                    .map(|v| format_number(*v))
                    .unwrap_or_default(),
            },
            median: medians
                .get(p.slug())
                .map(|v| super::tables::format_sig(*v))
                .unwrap_or_else(|| "pas encore calculée".into()),
        })
        .collect();
    let attached = store::consultations(&st.db, t.id).await?;
    let consultations = consultations::list_consultations(&st.db, t.id)
        .await?
        .into_iter()
        .map(|c| ConsultationChoice {
            attached: attached.contains(&c.id),
            id: c.id,
            title: c.title,
            responses: c.response_count,
        })
        .collect();
    let run = store::latest_run(&st.db).await?;
    let (history_years, history) = history(&store::figures_by_year(&st.db, t.id).await?);
    let page = HomePage {
        l: ctx.admin_layout("Diagnostic local de santé"),
        slug: t.slug.clone(),
        csrf: ctx.csrf(),
        computed_at: run
            .as_ref()
            .map(|r| crate::domain::dates::paris_datetime(r.computed_at))
            .unwrap_or_default(),
        standardised: run.as_ref().is_some_and(|r| r.standardised),
        chapters,
        actions: store::territory_actions(&st.db, t.id).await?,
        form: typed.finding.unwrap_or_default(),
        thresholds,
        consultations,
        history_years,
        history,
        errors,
    };
    Ok((status, render(&page)).into_response())
}

pub async fn home(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    ctx: Ctx,
) -> Result<Response, AppError> {
    home_page(
        &st,
        &ctx,
        &tc,
        Typed::default(),
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn create_finding(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    ctx: Ctx,
    Form(f): Form<FindingForm>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let ids = f.action_ids();
    form::submit(
        f,
        |f| f.raw.parse().map_err(FormErrors),
        async |input| {
            Ok(store::create_finding(&st.db, &tc.user.actor(), t.id, &input, &ids).await?)
        },
        form::UNVERSIONED,
        |_| {
            st.cache.clear();
            flash::see_other(
                &format!("/admin/t/{}/diagnostic#constats", t.slug),
                "Constat ajouté.",
            )
        },
        async |again| {
            let typed = Typed {
                finding: Some(again.typed),
                ..Default::default()
            };
            home_page(&st, &ctx, &tc, typed, again.errors, again.status).await
        },
    )
    .await
}

fn finding_id(s: &str) -> Result<i64, AppError> {
    s.parse().map_err(|_| AppError::NotFound)
}

#[allow(clippy::too_many_arguments)]
async fn edit_page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    id: i64,
    form: FindingForm,
    conflict: Option<FindingForm>,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let page = EditPage {
        l: ctx.admin_layout("Modifier un constat"),
        slug: t.slug.clone(),
        csrf: ctx.csrf(),
        id,
        actions: store::territory_actions(&st.db, t.id).await?,
        chapters: chapter_choices(),
        form,
        conflict,
        errors,
    };
    Ok((status, render(&page)).into_response())
}

async fn stored_form(st: &AppState, territory_id: i64, id: i64) -> Result<FindingForm, AppError> {
    let f = store::finding(&st.db, territory_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let actions = store::finding_actions(&st.db, territory_id)
        .await?
        .into_iter()
        .filter(|l| l.finding_id == id)
        .map(|l| l.action_id)
        .collect();
    Ok(FindingForm::of(&f, actions))
}

pub async fn edit_finding(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let id = finding_id(&id)?;
    let form = stored_form(&st, tc.territory.id, id).await?;
    edit_page(
        &st,
        &ctx,
        &tc,
        id,
        form,
        None,
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn update_finding(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
    ctx: Ctx,
    Form(f): Form<FindingForm>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let id = finding_id(&id)?;
    // A finding of another territory is not found, before anything is parsed.
    store::finding(&st.db, t.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (version, ids) = (form::version(&f.version), f.action_ids());
    form::submit(
        f,
        |f| f.raw.parse().map_err(FormErrors),
        async |input| {
            store::update_finding(&st.db, &tc.user.actor(), t.id, id, version, &input, &ids)
                .await
                .map_err(Failed::from)
        },
        ("title", STALE),
        |_| {
            st.cache.clear();
            flash::see_other(
                &format!("/admin/t/{}/diagnostic#constats", t.slug),
                "Constat enregistré.",
            )
        },
        async |again| {
            if again.stale {
                let stored = stored_form(&st, t.id, id).await?;
                edit_page(
                    &st,
                    &ctx,
                    &tc,
                    id,
                    stored,
                    Some(again.typed),
                    again.errors,
                    again.status,
                )
                .await
            } else {
                edit_page(
                    &st,
                    &ctx,
                    &tc,
                    id,
                    again.typed,
                    None,
                    again.errors,
                    again.status,
                )
                .await
            }
        },
    )
    .await
}

pub async fn delete_finding(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    store::delete_finding(&st.db, &tc.user.actor(), t.id, finding_id(&id)?).await?;
    st.cache.clear();
    Ok(flash::see_other(
        &format!("/admin/t/{}/diagnostic#constats", t.slug),
        "Constat supprimé.",
    ))
}

/// One field per profession slug, as typed.
#[derive(Deserialize, Default, Clone)]
pub struct ThresholdForm {
    #[serde(flatten)]
    values: std::collections::HashMap<String, String>,
}

impl ThresholdForm {
    fn value(&self, slug: &str) -> &str {
        self.values.get(slug).map(String::as_str).unwrap_or("")
    }
}

pub async fn save_thresholds(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    ctx: Ctx,
    Form(f): Form<ThresholdForm>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    form::submit(
        f,
        |f| {
            let mut errors = FormErrors::default();
            let mut values = Vec::new();
            for p in Profession::ALL {
                match parse_threshold(f.value(p.slug())) {
                    Ok(v) => values.push((p.slug().to_owned(), v)),
                    Err(e) => errors.push(p.slug(), format!("{} : {e}", p.label())),
                }
            }
            if errors.is_empty() {
                Ok(values)
            } else {
                Err(errors)
            }
        },
        async |values: Vec<(String, Option<f64>)>| {
            Ok(store::set_thresholds(&st.db, &tc.user.actor(), t.id, &values).await?)
        },
        form::UNVERSIONED,
        |_| {
            st.cache.clear();
            flash::see_other(
                &format!("/admin/t/{}/diagnostic#seuils", t.slug),
                "Seuils enregistrés.",
            )
        },
        async |again| {
            let typed = Typed {
                thresholds: Some(again.typed),
                ..Default::default()
            };
            home_page(&st, &ctx, &tc, typed, again.errors, again.status).await
        },
    )
    .await
}

#[derive(Deserialize, Default)]
pub struct ConsultationsForm {
    #[serde(default)]
    consultations: Vec<String>,
}

pub async fn save_consultations(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    Form(f): Form<ConsultationsForm>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let ids: Vec<i64> = f
        .consultations
        .iter()
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    store::set_consultations(&st.db, &tc.user.actor(), t.id, &ids).await?;
    st.cache.clear();
    Ok(flash::see_other(
        &format!("/admin/t/{}/diagnostic#questionnaires", t.slug),
        "Questionnaires du diagnostic enregistrés.",
    ))
}

// ------------------------------------------------- instance: the bands

/// Bands per profession slug, as typed.
#[derive(Deserialize, Default, Clone)]
pub struct BandsForm {
    #[serde(flatten)]
    values: std::collections::HashMap<String, String>,
}

/// The form field of a profession's age weights.
fn weights_field(p: Profession) -> &'static str {
    match p {
        Profession::Generalistes => "poids-generalistes",
        Profession::Infirmiers => "poids-infirmiers",
        Profession::Kinesitherapeutes => "poids-kinesitherapeutes",
        Profession::Dentistes => "poids-dentistes",
        Profession::SagesFemmes => "poids-sages-femmes",
        Profession::Pharmacies => "poids-pharmacies",
    }
}

pub struct BandsRow {
    pub slug: &'static str,
    pub label: &'static str,
    pub value: String,
    /// The age weights as typed (field `poids-{slug}`).
    pub weights: String,
    pub weights_field: &'static str,
}

#[derive(Template)]
#[template(path = "diagnosis/bands.html")]
struct BandsPage {
    l: Layout,
    csrf: String,
    default: String,
    default_weights: String,
    rows: Vec<BandsRow>,
    errors: FormErrors,
}

async fn bands_page(
    st: &AppState,
    ctx: &Ctx,
    typed: Option<BandsForm>,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let stored = store::bands(&st.db).await?;
    let stored_weights = store::weights(&st.db).await?;
    let rows = Profession::ALL
        .into_iter()
        .map(|p| {
            let key = weights_field(p);
            BandsRow {
                weights_field: key,
                slug: p.slug(),
                label: p.label(),
                value: match &typed {
                    Some(f) => f.values.get(p.slug()).cloned().unwrap_or_default(),
                    None => stored.get(p.slug()).cloned().unwrap_or_default(),
                },
                weights: match &typed {
                    Some(f) => f.values.get(key).cloned().unwrap_or_default(),
                    None => stored_weights.get(p.slug()).cloned().unwrap_or_default(),
                },
            }
        })
        .collect();
    let page = BandsPage {
        l: ctx.admin_layout("Accessibilité : temps de trajet et pondérations"),
        csrf: ctx.csrf(),
        default: Bands::default().to_string(),
        default_weights: crate::diagnosis::weights_text(
            &crate::domain::diagnosis::population::AgeWeights::default(),
        ),
        rows,
        errors,
    };
    Ok((status, render(&page)).into_response())
}

pub async fn bands(State(st): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    bands_page(&st, &ctx, None, FormErrors::default(), StatusCode::OK).await
}

pub async fn save_bands(
    State(st): State<AppState>,
    ctx: Ctx,
    user: crate::web::session::SignedIn,
    Form(f): Form<BandsForm>,
) -> Result<Response, AppError> {
    form::submit(
        f,
        |f| {
            let mut errors = FormErrors::default();
            let mut values = Vec::new();
            for p in Profession::ALL {
                let typed = f.values.get(p.slug()).map(|s| s.trim()).unwrap_or("");
                let bands = if typed.is_empty() {
                    None
                } else {
                    match Bands::parse(typed) {
                        Ok(b) => Some(b.to_string()),
                        Err(e) => {
                            errors.push(p.slug(), format!("{} : {e}", p.label()));
                            None
                        }
                    }
                };
                let typed = f
                    .values
                    .get(weights_field(p))
                    .map(|s| s.trim())
                    .unwrap_or("");
                let weights = if typed.is_empty() {
                    None
                } else {
                    match crate::diagnosis::parse_weights(typed) {
                        Ok(w) => Some(crate::diagnosis::weights_text(&w)),
                        Err(e) => {
                            errors.push(weights_field(p), format!("{} : {e}", p.label()));
                            None
                        }
                    }
                };
                values.push((p.slug().to_owned(), bands, weights));
            }
            if errors.is_empty() {
                Ok(values)
            } else {
                Err(errors)
            }
        },
        async |values: Vec<(String, Option<String>, Option<String>)>| {
            let actor = user.0.actor();
            for (slug, bands, weights) in &values {
                store::set_bands(&st.db, &actor, slug, bands.as_deref()).await?;
                store::set_weights(&st.db, &actor, slug, weights.as_deref()).await?;
            }
            let report = crate::diagnosis::refresh(&st.db)
                .await
                .map_err(|e| Failed::Error(AppError::Internal(e)))?;
            Ok(report)
        },
        form::UNVERSIONED,
        |report| {
            st.cache.clear();
            flash::see_other("/admin/diagnostic", &report.line())
        },
        async |again| bands_page(&st, &ctx, Some(again.typed), again.errors, again.status).await,
    )
    .await
}
