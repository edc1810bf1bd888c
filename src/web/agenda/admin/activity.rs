//! The mediators' anonymised activity records (issue 16): on the day, the
//! series' mediators (or the coordination) note for each person helped what
//! was done, age band, sex, home commune, QPV, first visit and referral,
//! from a phone-sized page; the coordination (and regional staff, reading)
//! see the counts per year, the funders' and the yearly review's figures.

use std::collections::HashMap;

use super::*;
use crate::domain::agenda::activity::{self as rules, ActivityInput, Theme};
use crate::storage::activity as records;

#[derive(Deserialize, Default)]
pub struct ActivityForm {
    #[serde(default)]
    themes: Vec<String>,
    #[serde(default)]
    age_band: String,
    #[serde(default)]
    sex: String,
    #[serde(default)]
    home_commune: String,
    #[serde(default)]
    qpv: String,
    #[serde(default)]
    first_visit: Option<String>,
    #[serde(default)]
    referral: Option<String>,
    #[serde(default)]
    follow_up: Option<String>,
    #[serde(default)]
    follow_up_name: String,
    #[serde(default)]
    follow_up_phone: String,
}

pub struct RecordLine {
    pub id: i64,
    pub text: String,
    pub follow_up: String,
}

#[derive(Template)]
#[template(path = "agenda/activity_day.html")]
struct DayPage {
    l: Layout,
    slug: String,
    csrf: String,
    id: i64,
    date: String,
    title: String,
    when: String,
    lines: Vec<RecordLine>,
    themes: Vec<(&'static str, &'static str, bool)>,
    age_bands: Vec<(&'static str, &'static str, bool)>,
    sexes: Vec<(&'static str, &'static str, bool)>,
    qpvs: Vec<(&'static str, &'static str, bool)>,
    communes: Vec<(String, String, bool)>,
    first_visit: bool,
    referral: bool,
    follow_up: bool,
    follow_up_name: String,
    follow_up_phone: String,
    errors: FormErrors,
}

fn choices(
    table: &[(&'static str, &'static str)],
    chosen: &str,
) -> Vec<(&'static str, &'static str, bool)> {
    table.iter().map(|(c, l)| (*c, *l, *c == chosen)).collect()
}

fn path_of(slug: &str, id: i64, date: NaiveDate) -> String {
    format!("/admin/t/{slug}/permanences/{id}/activite/{date}")
}

/// The date must be one the series was held (or is held today), not a
/// coming one.
async fn held_date(
    st: &AppState,
    tc: &TerritoryCtx,
    id: &str,
    date: &str,
) -> Result<(super::super::slots::Bookable, NaiveDate), AppError> {
    let (b, _) = super::slots::load_for_bookings(st, tc, id).await?;
    let date = super::slots::date_of(date)?;
    let occ = crate::domain::agenda::slots::occurrence_of(&b.schedule, &b.exceptions, date)
        .ok_or(AppError::NotFound)?;
    if occ.date > today_paris() {
        return Err(AppError::Unprocessable(
            "Les fiches d’activité se remplissent le jour de la permanence ou après.".into(),
        ));
    }
    Ok((b, date))
}

async fn day_page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    b: &super::super::slots::Bookable,
    date: NaiveDate,
    f: &ActivityForm,
    errors: FormErrors,
) -> Result<DayPage, AppError> {
    let t = &tc.territory;
    let communes = territories::communes(&st.db, t.id).await?;
    let names: HashMap<&str, &str> = communes
        .iter()
        .map(|c| (c.insee_code.as_str(), c.name.as_str()))
        .collect();
    let lines = records::for_day(&st.db, b.series.id, date)
        .await?
        .into_iter()
        .map(|r| {
            let themes: Vec<&str> = r
                .themes
                .split_whitespace()
                .filter_map(Theme::parse)
                .map(Theme::label)
                .collect();
            let commune = names
                .get(r.home_commune.as_str())
                .copied()
                .unwrap_or("hors territoire ou non précisé");
            let mut text = format!(
                "{} — {}, {}, {} ; QPV : {}",
                themes.join(", "),
                rules::age_label(&r.age_band),
                rules::sex_label(&r.sex),
                commune,
                rules::qpv_label(&r.qpv)
            );
            if r.first_visit {
                text.push_str(" ; première venue");
            }
            if r.referral {
                text.push_str(" ; orientée vers un service");
            }
            RecordLine {
                id: r.id,
                text,
                follow_up: match (&r.follow_up_name, &r.follow_up_phone) {
                    (Some(n), Some(p)) => {
                        format!("à rappeler : {n}, {}", crate::domain::phone::display(p))
                    }
                    _ => String::new(),
                },
            }
        })
        .collect();
    Ok(DayPage {
        l: ctx.admin_layout(format!("Fiches d’activité : {}", b.series.title)),
        slug: t.slug.clone(),
        csrf: ctx.csrf(),
        id: b.series.id,
        date: date.to_string(),
        title: b.series.title.clone(),
        when: dates::long_date_with_weekday(date),
        lines,
        themes: Theme::ALL
            .iter()
            .map(|th| {
                (
                    th.code(),
                    th.label(),
                    f.themes.iter().any(|c| c == th.code()),
                )
            })
            .collect(),
        age_bands: choices(&rules::AGE_BANDS, &f.age_band),
        sexes: choices(&rules::SEXES, &f.sex),
        qpvs: choices(&rules::QPV, &f.qpv),
        communes: communes
            .iter()
            .map(|c| {
                (
                    c.insee_code.clone(),
                    c.name.clone(),
                    c.insee_code == f.home_commune,
                )
            })
            .collect(),
        first_visit: f.first_visit.is_some(),
        referral: f.referral.is_some(),
        follow_up: f.follow_up.is_some(),
        follow_up_name: f.follow_up_name.clone(),
        follow_up_phone: f.follow_up_phone.clone(),
        errors,
    })
}

pub async fn activity_day(
    State(st): State<AppState>,
    Path((_, id, date)): Path<(String, String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let (b, date) = held_date(&st, &tc, &id, &date).await?;
    let form = ActivityForm {
        first_visit: None,
        ..Default::default()
    };
    Ok(render(
        &day_page(&st, &ctx, &tc, &b, date, &form, FormErrors::default()).await?,
    ))
}

pub async fn activity_add(
    State(st): State<AppState>,
    Path((_, id, date)): Path<(String, String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
    axum_extra::extract::Form(f): axum_extra::extract::Form<ActivityForm>,
) -> Result<Response, AppError> {
    let (b, date) = held_date(&st, &tc, &id, &date).await?;
    let t = &tc.territory;
    let communes: Vec<String> = territories::communes(&st.db, t.id)
        .await?
        .into_iter()
        .map(|c| c.insee_code)
        .collect();
    match ActivityInput::parse(
        &f.themes,
        &f.age_band,
        &f.sex,
        &f.home_commune,
        &f.qpv,
        f.first_visit.is_some(),
        f.referral.is_some(),
        f.follow_up.is_some(),
        &f.follow_up_name,
        &f.follow_up_phone,
        &communes,
    ) {
        Ok(input) => {
            records::add(
                &st.db,
                t.id,
                b.series.id,
                date,
                &input,
                Some(tc.user.user.id),
            )
            .await?;
            Ok(flash::see_other(
                &path_of(&t.slug, b.series.id, date),
                "Fiche enregistrée. La suivante ?",
            ))
        }
        Err(errors) => {
            let page = day_page(&st, &ctx, &tc, &b, date, &f, FormErrors(errors)).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
    }
}

#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    record: String,
}

pub async fn activity_delete(
    State(st): State<AppState>,
    Path((_, id, date)): Path<(String, String, String)>,
    tc: TerritoryCtx,
    Form(f): Form<DeleteForm>,
) -> Result<Response, AppError> {
    let (b, date) = held_date(&st, &tc, &id, &date).await?;
    let record: i64 = f.record.trim().parse().map_err(|_| AppError::NotFound)?;
    if !records::delete(&st.db, b.series.id, record).await? {
        return Err(AppError::NotFound);
    }
    Ok(flash::see_other(
        &path_of(&tc.territory.slug, b.series.id, date),
        "Fiche supprimée.",
    ))
}

// ---------------------------------------------------------------- summary

#[derive(Template)]
#[template(path = "agenda/activity_summary.html")]
struct SummaryPage {
    l: Layout,
    slug: String,
    year: i32,
    years: Vec<i32>,
    s: rules::Summary,
    themes: Vec<(&'static str, usize)>,
    communes: Vec<(String, usize)>,
}

#[derive(Deserialize, Default)]
pub struct SummaryQuery {
    #[serde(default)]
    annee: String,
}

pub async fn activity_summary(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    axum::extract::Query(q): axum::extract::Query<SummaryQuery>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let this_year = today_paris().year();
    let year = match q.annee.trim() {
        "" => this_year,
        y => y
            .parse::<i32>()
            .ok()
            .filter(|y| (2000..=this_year + 1).contains(y))
            .ok_or_else(|| AppError::Unprocessable("Année inconnue.".into()))?,
    };
    let from = NaiveDate::from_ymd_opt(year, 1, 1).ok_or(AppError::NotFound)?;
    let to = NaiveDate::from_ymd_opt(year, 12, 31).ok_or(AppError::NotFound)?;
    let rows = records::for_territory(&st.db, t.id, from, to, None).await?;
    let s = rules::summarise(&rows.iter().map(|r| r.record()).collect::<Vec<_>>());
    let names: HashMap<String, String> = territories::communes(&st.db, t.id)
        .await?
        .into_iter()
        .map(|c| (c.insee_code, c.name))
        .collect();
    let mut communes: Vec<(String, usize)> = s
        .communes
        .iter()
        .map(|(code, n)| {
            (
                names
                    .get(code)
                    .cloned()
                    .unwrap_or_else(|| "hors territoire ou non précisé".into()),
                *n,
            )
        })
        .collect();
    communes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(render(&SummaryPage {
        l: ctx.admin_layout(format!("Activité des médiateurs en {year}")),
        slug: t.slug.clone(),
        year,
        years: (this_year - 4..=this_year).rev().collect(),
        themes: s.themes.iter().map(|(th, n)| (th.label(), *n)).collect(),
        communes,
        s,
    }))
}
