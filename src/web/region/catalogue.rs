//! The shared catalogue of indicators (`/region/indicateurs`): regional
//! staff write the definitions; anyone reads them and the comparison of
//! territories on one of them (measurements are public on the territories'
//! action pages already).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Form;
use chrono::Datelike;
use serde::Deserialize;

use crate::domain::indicator::{format_number, IndicatorKind, SharedIndicatorRaw};
use crate::plan::fr_date;
use crate::storage::shared_indicators::{self, SharedIndicator};
use crate::web::access::{Access, Routes};
use crate::web::contract::charts::Bars;
use crate::web::error::AppError;
use crate::web::form::{self, Redisplay};
use crate::web::pages::{render, Ctx, FormErrors, Layout};
use crate::web::session::SignedIn;
use crate::web::{flash, AppState};

pub fn routes(r: Routes) -> Routes {
    use Access::*;
    r.get("/region/indicateurs", Public, list)
        .get("/region/indicateurs/nouveau", Regional, new_form)
        .post("/region/indicateurs", Regional, create)
        .get("/region/indicateurs/{id}", Public, compare)
        .get("/region/indicateurs/{id}/modifier", Regional, edit_form)
        .post("/region/indicateurs/{id}", Regional, update)
        .post("/region/indicateurs/{id}/supprimer", Regional, delete)
}

pub struct EntryView {
    pub id: i64,
    pub label: String,
    pub unit: String,
    pub kind: String,
    pub definition: String,
    pub followers: i64,
}

#[derive(Template)]
#[template(path = "region/indicators.html")]
struct ListPage {
    l: Layout,
    entries: Vec<EntryView>,
    regional: bool,
}

async fn list(State(st): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let entries = shared_indicators::list(&st.db)
        .await?
        .into_iter()
        .map(|(s, n)| EntryView {
            id: s.id,
            kind: IndicatorKind::label_of(&s.kind).to_owned(),
            label: s.label,
            unit: s.unit,
            definition: s.definition,
            followers: n,
        })
        .collect();
    Ok(render(&ListPage {
        l: ctx.layout("Indicateurs partagés"),
        entries,
        regional: ctx.user.as_ref().is_some_and(|u| u.reads_everything()),
    }))
}

#[derive(Template)]
#[template(path = "region/indicator_form.html")]
struct FormPage {
    l: Layout,
    csrf: String,
    /// `None`: a new entry.
    id: Option<i64>,
    version: i64,
    form: SharedIndicatorRaw,
    /// The stored entry after a conflict, beside what was typed.
    stored: Option<SharedIndicatorRaw>,
    errors: FormErrors,
    kinds: Vec<(&'static str, &'static str)>,
}

fn kinds() -> Vec<(&'static str, &'static str)> {
    IndicatorKind::ALL
        .iter()
        .map(|k| (k.as_str(), k.label()))
        .collect()
}

fn raw_of(s: &SharedIndicator) -> SharedIndicatorRaw {
    SharedIndicatorRaw {
        kind: s.kind.clone(),
        label: s.label.clone(),
        unit: s.unit.clone(),
        definition: s.definition.clone(),
    }
}

fn form_page(
    ctx: &Ctx,
    id: Option<i64>,
    version: i64,
    again: Redisplay<SharedIndicatorRaw>,
    stored: Option<SharedIndicatorRaw>,
) -> Response {
    let title = if id.is_some() {
        "Modifier un indicateur partagé"
    } else {
        "Nouvel indicateur partagé"
    };
    let page = render(&FormPage {
        l: ctx.layout(title),
        csrf: ctx.csrf(),
        id,
        version,
        form: again.typed,
        stored,
        errors: again.errors,
        kinds: kinds(),
    });
    (again.status, page).into_response()
}

async fn new_form(ctx: Ctx) -> Result<Response, AppError> {
    let again = Redisplay {
        typed: SharedIndicatorRaw::default(),
        errors: FormErrors::default(),
        status: StatusCode::OK,
        stale: false,
    };
    Ok(form_page(&ctx, None, 0, again, None))
}

fn parse(
    raw: &SharedIndicatorRaw,
) -> Result<crate::domain::indicator::SharedIndicatorInput, FormErrors> {
    raw.parse().map_err(FormErrors)
}

async fn create(
    State(st): State<AppState>,
    ctx: Ctx,
    SignedIn(user): SignedIn,
    Form(raw): Form<SharedIndicatorRaw>,
) -> Result<Response, AppError> {
    form::submit(
        raw,
        parse,
        async |i| Ok(shared_indicators::create(&st.db, &user.actor(), &i).await?),
        form::UNVERSIONED,
        |s| {
            flash::see_other(
                &format!("/region/indicateurs/{}", s.id),
                "Indicateur partagé créé.",
            )
        },
        async |again| Ok(form_page(&ctx, None, 0, again, None)),
    )
    .await
}

async fn edit_form(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let s = shared_indicators::get(&st.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let again = Redisplay {
        typed: raw_of(&s),
        errors: FormErrors::default(),
        status: StatusCode::OK,
        stale: false,
    };
    Ok(form_page(&ctx, Some(id), s.version, again, None))
}

#[derive(Deserialize)]
struct Versioned {
    #[serde(default)]
    version: String,
    #[serde(flatten)]
    raw: SharedIndicatorRaw,
}

async fn update(
    State(st): State<AppState>,
    ctx: Ctx,
    SignedIn(user): SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<Versioned>,
) -> Result<Response, AppError> {
    let version: i64 = f.version.trim().parse().unwrap_or(0);
    form::submit(
        f.raw,
        parse,
        async |i| Ok(shared_indicators::update(&st.db, &user.actor(), id, version, &i).await?),
        (
            "label",
            "Quelqu'un a modifié cet indicateur pendant que vous écriviez : voici sa version enregistrée ; la vôtre est dans le formulaire.",
        ),
        |s| flash::see_other(&format!("/region/indicateurs/{}", s.id), "Indicateur partagé enregistré."),
        async |again| {
            let s = shared_indicators::get(&st.db, id)
                .await?
                .ok_or(AppError::NotFound)?;
            let stored = again.stale.then(|| raw_of(&s));
            let version = if again.stale { s.version } else { version };
            Ok(form_page(&ctx, Some(id), version, again, stored))
        },
    )
    .await
}

async fn delete(
    State(st): State<AppState>,
    SignedIn(user): SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    shared_indicators::delete(&st.db, &user.actor(), id).await?;
    Ok(flash::see_other(
        "/region/indicateurs",
        "Indicateur partagé supprimé.",
    ))
}

#[derive(Deserialize, Default)]
struct YearQuery {
    #[serde(default)]
    annee: String,
}

pub struct CompareRow {
    pub slug: String,
    pub name: String,
    pub value: Option<String>,
    pub date: String,
    pub label: String,
    pub indicators: i64,
}

#[derive(Template)]
#[template(path = "region/compare.html")]
struct ComparePage {
    l: Layout,
    s: SharedIndicator,
    kind: String,
    year: i32,
    years: Vec<i32>,
    rows: Vec<CompareRow>,
    chart: String,
    regional: bool,
}

async fn compare(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(q): Query<YearQuery>,
) -> Result<Response, AppError> {
    let s = shared_indicators::get(&st.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let this_year = crate::web::contract::list::today().year();
    let year = match q.annee.trim().parse::<i32>() {
        Ok(y) if (2000..=2100).contains(&y) => y,
        Ok(_) | Err(_) if !q.annee.trim().is_empty() => {
            return Err(AppError::Unprocessable(
                "Année : choisissez une année entre 2000 et 2100".into(),
            ))
        }
        // By default the latest year anyone measured.
        _ => shared_indicators::latest_year(&st.db, id)
            .await?
            .unwrap_or(this_year),
    };
    let values = shared_indicators::compare(
        &st.db,
        id,
        &format!("{year:04}-01-01"),
        &format!("{year:04}-12-31"),
    )
    .await?;
    let bars: Vec<(String, f64)> = values
        .iter()
        .filter_map(|v| v.last.as_ref().map(|l| (v.territory_name.clone(), l.1)))
        .collect();
    let chart = Bars {
        id: "comparaison",
        label: &format!("{} en {year}", s.label),
        unit: &s.unit,
        bars: &bars,
    }
    .svg();
    let rows = values
        .into_iter()
        .map(|v| CompareRow {
            slug: v.territory_slug,
            name: v.territory_name,
            value: v.last.as_ref().map(|l| format_number(l.1)),
            date: v.last.as_ref().map(|l| fr_date(&l.0)).unwrap_or_default(),
            label: v.last.map(|l| l.2).unwrap_or_default(),
            indicators: v.indicators,
        })
        .collect();
    Ok(render(&ComparePage {
        l: ctx.layout(format!("Indicateur partagé : {}", s.label)),
        kind: IndicatorKind::label_of(&s.kind).to_owned(),
        s,
        year,
        years: (this_year.min(year) - 5..=this_year.max(year))
            .rev()
            .collect(),
        rows,
        chart,
        regional: ctx.user.as_ref().is_some_and(|u| u.reads_everything()),
    }))
}
