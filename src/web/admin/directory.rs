//! The coordination's side of the directory: local services, and marks on
//! any entry (MSP/CPTS flags, accessibility, hidden with a reason).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use crate::domain::service::{kind_label, ServiceInput, KINDS};
use crate::domain::text::bounded;
use crate::storage::services::{self, Mark, ServiceRow};
use crate::storage::{territories, DbError};
use crate::web::access::TerritoryCtx;
use crate::web::directory::sources_note;
use crate::web::error::AppError;
use crate::web::pages::{render, Ctx, FormErrors, Layout};
use crate::web::AppState;

pub struct ServiceItem {
    pub id: i64,
    pub name: String,
    pub kind: &'static str,
    pub city: String,
}

#[derive(Deserialize, Default)]
pub struct MarkForm {
    #[serde(default)]
    entry_kind: String,
    #[serde(default)]
    entry_id: String,
    msp: Option<String>,
    cpts: Option<String>,
    hidden: Option<String>,
    #[serde(default)]
    hidden_reason: String,
    #[serde(default)]
    accessibility: String,
}

#[derive(Template)]
#[template(path = "admin/directory.html")]
struct DirectoryPage {
    l: Layout,
    slug: String,
    csrf: String,
    notice: Option<String>,
    sources: String,
    services: Vec<ServiceItem>,
    marks: Vec<Mark>,
    mark: Mark,
    errors: FormErrors,
    // The new-service form (admin/service_form.html).
    action: String,
    version: Option<i64>,
    form: ServiceInput,
    kinds: Vec<(&'static str, &'static str)>,
}

#[derive(Deserialize)]
pub struct Notice {
    fait: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    status: StatusCode,
    notice: Option<String>,
    mark: Mark,
    form: ServiceInput,
    errors: FormErrors,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let services = services::list(&st.db, t.id)
        .await?
        .into_iter()
        .map(|s| ServiceItem {
            id: s.id,
            kind: kind_label(&s.kind),
            name: s.name,
            city: s.city,
        })
        .collect();
    let p = DirectoryPage {
        l: ctx.admin_layout("Annuaire du territoire"),
        slug: t.slug.clone(),
        csrf: ctx.csrf(),
        notice,
        sources: sources_note(st).await?,
        services,
        marks: services::marks(&st.db, t.id).await?,
        mark,
        errors,
        action: format!("/admin/t/{}/annuaire/services", t.slug),
        version: None,
        form,
        kinds: KINDS.to_vec(),
    };
    Ok((status, render(&p)).into_response())
}

pub async fn index(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Query(n): Query<Notice>,
) -> Result<Response, AppError> {
    let notice = n.fait.map(|f| {
        if f == "repere" {
            "Repères enregistrés."
        } else {
            "Service ajouté."
        }
        .to_owned()
    });
    let mark = Mark {
        entry_kind: "establishment".into(),
        ..Default::default()
    };
    let form = ServiceInput {
        kind: "association".into(),
        ..Default::default()
    };
    page(
        &st,
        &ctx,
        &tc,
        StatusCode::OK,
        notice,
        mark,
        form,
        FormErrors::default(),
    )
    .await
}

async fn commune_codes(st: &AppState, territory_id: i64) -> Result<Vec<String>, AppError> {
    Ok(territories::communes(&st.db, territory_id)
        .await?
        .into_iter()
        .map(|c| c.insee_code)
        .collect())
}

fn errors_of(list: Vec<(&'static str, String)>) -> FormErrors {
    let mut e = FormErrors::default();
    for (f, m) in list {
        e.push(f, m);
    }
    e
}

pub async fn create(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Form(form): Form<ServiceInput>,
) -> Result<Response, AppError> {
    let codes = commune_codes(&st, tc.territory.id).await?;
    match form.parse(&codes) {
        Ok(s) => {
            services::create(&st.db, &tc.user.actor(), tc.territory.id, &s).await?;
            Ok(Redirect::to(&format!(
                "/admin/t/{}/annuaire?fait=service",
                tc.territory.slug
            ))
            .into_response())
        }
        Err(list) => {
            let mark = Mark {
                entry_kind: "establishment".into(),
                ..Default::default()
            };
            page(
                &st,
                &ctx,
                &tc,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                mark,
                form,
                errors_of(list),
            )
            .await
        }
    }
}

pub async fn set_mark(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Form(f): Form<MarkForm>,
) -> Result<Response, AppError> {
    let mut errors = FormErrors::default();
    let kind = match f.entry_kind.as_str() {
        k @ ("establishment" | "professional" | "service") => k.to_owned(),
        _ => return Err(AppError::BadRequest("Type de fiche inconnu.".into())),
    };
    let id = f.entry_id.trim().to_owned();
    if id.is_empty() || id.len() > 20 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        errors.push(
            "entry_id",
            "Saisissez le numéro de la fiche (FINESS, RPPS ou numéro du service).",
        );
    }
    let reason = bounded(&f.hidden_reason, "Motif", false, 300)
        .map_err(|e| errors.push("hidden_reason", e.0))
        .unwrap_or_default();
    if f.hidden.is_some() && reason.is_empty() {
        errors.push(
            "hidden_reason",
            "Indiquez le motif du masquage (il reste visible de la coordination).",
        );
    }
    let accessibility = bounded(&f.accessibility, "Accessibilité", false, 500).unwrap_or_default();
    let mark = Mark {
        entry_kind: kind,
        entry_id: id,
        msp: f.msp.is_some(),
        cpts: f.cpts.is_some(),
        hidden: f.hidden.is_some(),
        hidden_reason: reason,
        accessibility,
    };
    if !errors.is_empty() {
        let form = ServiceInput {
            kind: "association".into(),
            ..Default::default()
        };
        return page(
            &st,
            &ctx,
            &tc,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            mark,
            form,
            errors,
        )
        .await;
    }
    services::set_mark(&st.db, &tc.user.actor(), tc.territory.id, &mark).await?;
    Ok(Redirect::to(&format!(
        "/admin/t/{}/annuaire?fait=repere",
        tc.territory.slug
    ))
    .into_response())
}

#[derive(Template)]
#[template(path = "admin/service.html")]
struct ServicePage {
    l: Layout,
    slug: String,
    title: String,
    csrf: String,
    saved: bool,
    conflict: bool,
    errors: FormErrors,
    action: String,
    version: Option<i64>,
    form: ServiceInput,
    kinds: Vec<(&'static str, &'static str)>,
}

fn input_of(s: &ServiceRow) -> ServiceInput {
    ServiceInput {
        name: s.name.clone(),
        kind: s.kind.clone(),
        description: s.description.clone(),
        publics: s.publics.clone(),
        fees: s.fees.clone(),
        opening_hours: s.opening_hours.clone(),
        address: s.address.clone(),
        postal_code: s.postal_code.clone(),
        commune: s.insee_code.clone().unwrap_or_default(),
        phone: s.phone.clone(),
        email: s.email.clone(),
        website: s.website.clone(),
        area: s.area.clone(),
        accessibility: s.accessibility.clone(),
        msp: s.msp.then(|| "on".to_owned()),
        cpts: s.cpts.then(|| "on".to_owned()),
    }
}

#[derive(Deserialize)]
pub struct Saved {
    enregistre: Option<String>,
}

pub async fn edit_form(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Path((_, id)): Path<(String, i64)>,
    Query(q): Query<Saved>,
) -> Result<Response, AppError> {
    let s = services::get(&st.db, tc.territory.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(render(&ServicePage {
        l: ctx.admin_layout(s.name.clone()),
        slug: tc.territory.slug.clone(),
        title: s.name.clone(),
        csrf: ctx.csrf(),
        saved: q.enregistre.is_some(),
        conflict: false,
        errors: FormErrors::default(),
        action: format!("/admin/t/{}/annuaire/services/{id}", tc.territory.slug),
        version: Some(s.version),
        form: input_of(&s),
        kinds: KINDS.to_vec(),
    }))
}

#[derive(Deserialize)]
pub struct EditForm {
    #[serde(default)]
    version: String,
    #[serde(flatten)]
    service: ServiceInput,
}

pub async fn update(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Path((_, id)): Path<(String, i64)>,
    Form(f): Form<EditForm>,
) -> Result<Response, AppError> {
    let current = services::get(&st.db, tc.territory.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let version: i64 = f
        .version
        .trim()
        .parse()
        .map_err(|_| AppError::BadRequest("version manquante".into()))?;
    let codes = commune_codes(&st, tc.territory.id).await?;
    let (status, errors, conflict, shown_version) = match f.service.parse(&codes) {
        Ok(s) => match services::update(&st.db, &tc.user.actor(), tc.territory.id, id, version, &s)
            .await
        {
            Ok(()) => {
                return Ok(Redirect::to(&format!(
                    "/admin/t/{}/annuaire/services/{id}?enregistre=1",
                    tc.territory.slug
                ))
                .into_response())
            }
            Err(DbError::Stale) => (
                StatusCode::CONFLICT,
                FormErrors::default(),
                true,
                current.version,
            ),
            Err(e) => return Err(e.into()),
        },
        Err(list) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            errors_of(list),
            false,
            version,
        ),
    };
    let p = ServicePage {
        l: ctx.admin_layout(current.name.clone()),
        slug: tc.territory.slug.clone(),
        title: current.name.clone(),
        csrf: ctx.csrf(),
        saved: false,
        conflict,
        errors,
        action: format!("/admin/t/{}/annuaire/services/{id}", tc.territory.slug),
        version: Some(shown_version),
        form: f.service,
        kinds: KINDS.to_vec(),
    };
    Ok((status, render(&p)).into_response())
}
