//! `/region/mediation`: the health mediators' work in every territory of
//! the instance, for regional staff (issue 16): slot bookings and no-show
//! rates, walk-ins, people helped, referrals by outcome. Counts only; the
//! lists with names stay with each territory's mediators and coordination.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::NaiveDate;
use serde::Deserialize;

use super::attachment;
use crate::domain::referrals::Status;
use crate::storage::mediation::{self, TerritoryMediation};
use crate::web::access::{Access, Routes};
use crate::web::error::AppError;
use crate::web::pages::{render, Ctx, Layout};
use crate::web::AppState;

pub fn routes(r: Routes) -> Routes {
    r.get("/region/mediation", Access::Regional, page).get(
        "/region/mediation.csv",
        Access::Regional,
        csv,
    )
}

#[derive(Deserialize, Default)]
pub struct YearQuery {
    #[serde(default)]
    annee: Option<String>,
}

fn year_of(q: &YearQuery) -> i32 {
    crate::domain::dates::chosen_year(q.annee.as_deref())
}

async fn load(st: &AppState, year: i32) -> Result<Vec<TerritoryMediation>, AppError> {
    let day = |y: i32| NaiveDate::from_ymd_opt(y, 1, 1).ok_or(AppError::NotFound);
    let at = |y: i32| crate::domain::dates::paris_year_start(y).ok_or(AppError::NotFound);
    Ok(mediation::regional(&st.db, day(year)?, day(year + 1)?, at(year)?, at(year + 1)?).await?)
}

/// « 12 % » or « — » before any check.
fn rate(t: &TerritoryMediation) -> String {
    t.checked
        .rate()
        .map(|r| format!("{} %", (r * 100.0).round()))
        .unwrap_or_else(|| "—".into())
}

pub struct Row {
    pub name: String,
    pub slug: String,
    pub bookings: i64,
    pub no_show: String,
    pub walk_ins: i64,
    pub helped: i64,
    pub referrals: i64,
    pub by_status: Vec<i64>,
    pub accepted_share: String,
}

#[derive(Template)]
#[template(path = "region/mediation.html")]
struct Page {
    l: Layout,
    year: i32,
    years: Vec<i32>,
    statuses: Vec<&'static str>,
    rows: Vec<Row>,
    quiet: Vec<String>,
    totals: Row,
}

async fn page(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<YearQuery>,
) -> Result<Response, AppError> {
    let year = year_of(&q);
    let all = load(&st, year).await?;
    let mut total = TerritoryMediation::default();
    for t in &all {
        total.bookings += t.bookings;
        total.cancelled += t.cancelled;
        total.checked.present += t.checked.present;
        total.checked.absent += t.checked.absent;
        total.checked.excused += t.checked.excused;
        total.walk_ins += t.walk_ins;
        total.helped += t.helped;
        for (a, b) in total.referrals.iter_mut().zip(t.referrals) {
            *a += b;
        }
    }
    let row = |t: &TerritoryMediation| Row {
        name: t.name.clone(),
        slug: t.slug.clone(),
        bookings: t.bookings,
        no_show: rate(t),
        walk_ins: t.walk_ins,
        helped: t.helped,
        referrals: t.referrals_total(),
        by_status: t.referrals.to_vec(),
        accepted_share: crate::domain::referrals::accepted_share(&t.referrals),
    };
    let (active, quiet): (Vec<_>, Vec<_>) = all.iter().partition(|t| !t.is_empty());
    Ok(render(&Page {
        l: ctx.layout("Médiation en santé dans les territoires"),
        year,
        years: {
            let now = crate::domain::dates::paris_year();
            (now - 4..=now).rev().collect()
        },
        statuses: Status::ALL.iter().map(|s| s.label()).collect(),
        rows: active.into_iter().map(row).collect(),
        quiet: quiet.into_iter().map(|t| t.name.clone()).collect(),
        totals: row(&total),
    }))
}

async fn csv(State(st): State<AppState>, Query(q): Query<YearQuery>) -> Result<Response, AppError> {
    let year = year_of(&q);
    let rows = load(&st, year).await?;
    let mut w = crate::csv_export::CsvExport::new(b';');
    let io = |e: csv::Error| AppError::Internal(anyhow::anyhow!(e));
    let mut header: Vec<String> = [
        "territoire",
        "rendez-vous",
        "présents",
        "absents",
        "excusés",
        "annulés",
        "taux d'absence",
        "sans rendez-vous",
        "personnes aidées (fiches)",
        "dont orientées",
        "orientations",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    header.extend(
        Status::ALL
            .iter()
            .map(|s| format!("orientations {}", s.label())),
    );
    w.row(&header).map_err(io)?;
    for t in &rows {
        let mut cells = vec![
            t.name.clone(),
            t.bookings.to_string(),
            t.checked.present.to_string(),
            t.checked.absent.to_string(),
            t.checked.excused.to_string(),
            t.cancelled.to_string(),
            rate(t),
            t.walk_ins.to_string(),
            t.helped.to_string(),
            t.helped_referred.to_string(),
            t.referrals_total().to_string(),
        ];
        cells.extend(t.referrals.iter().map(i64::to_string));
        w.row(&cells).map_err(io)?;
    }
    let body = w.finish().map_err(io)?;
    Ok(attachment(
        "text/csv; charset=utf-8",
        &format!("mediation-{year}.csv"),
        body,
    ))
}
