//! Attendance at drop-ins (« fréquentation »), recorded by the mediators on
//! a phone: the held sessions of a series (the last eight weeks, or a month
//! asked for) with their counts, and one short form per session. Counts
//! only: nobody is named.

use std::collections::HashMap;

use axum::extract::Query;

use super::*;
use crate::domain::agenda::attendance::{held_occurrence, AttendanceRaw};
use crate::storage::agenda::Attendance;

/// How far back the list goes by default.
const DEFAULT_WEEKS: i64 = 8;
/// How many earlier months the list offers.
const EARLIER_MONTHS: usize = 12;

/// « 1 personne reçue », « 12 personnes reçues ».
pub fn people(n: i64) -> String {
    if n <= 1 {
        format!("{n} personne reçue")
    } else {
        format!("{n} personnes reçues")
    }
}

fn list_path(slug: &str, id: i64) -> String {
    format!("/admin/t/{slug}/permanences/{id}/frequentation")
}

/// Partners and coordinators record; regional staff only read.
fn can_record(tc: &TerritoryCtx) -> bool {
    tc.user.is_admin()
        || tc
            .role
            .is_some_and(|r| r >= crate::domain::roles::Role::Partner)
}

/// The series, its schedule, its exceptions and the territory's places.
struct SeriesCtx {
    series: Series,
    schedule: recurrence::Schedule,
    exceptions: Vec<Exception>,
    places: HashMap<i64, Place>,
}

impl SeriesCtx {
    async fn load(st: &AppState, tc: &TerritoryCtx, id: &str) -> Result<SeriesCtx, AppError> {
        let t = &tc.territory;
        let id = id_of(id)?;
        let series = store::get_series(&st.db, t.id, id)
            .await
            .map_err(not_found)?;
        let schedule = series
            .schedule()
            .map_err(|e| AppError::Unprocessable(e.0))?;
        let exceptions = store::exceptions(&st.db, t.id)
            .await?
            .into_iter()
            .filter(|(sid, _)| *sid == id)
            .map(|(_, e)| e)
            .collect();
        let places = store::list_places(&st.db, t.id)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        Ok(SeriesCtx {
            series,
            schedule,
            exceptions,
            places,
        })
    }

    fn place_of(&self, o: &recurrence::Occurrence) -> Option<&Place> {
        self.places.get(&o.place_id.unwrap_or(self.series.place_id))
    }
}

// ---------------------------------------------------------------- list

pub struct AttendanceLine {
    /// `YYYY-MM-DD` of the day held.
    pub date: String,
    pub label: String,
    /// Where, when it is not the series' usual place.
    pub moved: String,
    pub cancelled: bool,
    pub future: bool,
    /// « 12 personnes reçues », or empty when not recorded.
    pub count: String,
}

#[derive(Template)]
#[template(path = "agenda/attendance.html")]
struct ListPage {
    l: Layout,
    slug: String,
    id: i64,
    title: String,
    place: String,
    period: String,
    lines: Vec<AttendanceLine>,
    can_edit: bool,
    /// Sessions recorded and people received over the period.
    total: String,
    /// Earlier months: (`AAAA-MM`, « mars 2026 »).
    months: Vec<(String, String)>,
    /// The default view (last weeks) is not the one shown.
    other_period: bool,
}

#[derive(Deserialize, Default)]
pub struct AttendanceQuery {
    /// `AAAA-MM`: that month instead of the last eight weeks.
    mois: Option<String>,
}

pub async fn attendance_list(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<AttendanceQuery>,
    ctx: Ctx,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let sc = SeriesCtx::load(&st, &tc, &id).await?;
    let s = &sc.series;
    let today = today_paris();
    let month = q
        .mois
        .as_deref()
        .and_then(dates::parse_month)
        .and_then(|(y, m)| recurrence::month_bounds(y, m));
    let (from, to) = month.unwrap_or((today - chrono::Duration::weeks(DEFAULT_WEEKS), today));
    let recorded: HashMap<String, Attendance> =
        store::series_attendance(&st.db, t.id, s.id, from, to)
            .await?
            .into_iter()
            .map(|a| (a.held_on.clone(), a))
            .collect();
    let mut occurrences = recurrence::expand(&sc.schedule, &sc.exceptions, from, to);
    occurrences.reverse();
    let lines: Vec<AttendanceLine> = occurrences
        .iter()
        .map(|o| {
            let date = o.date.to_string();
            let moved = match (o.place_id.filter(|p| *p != s.place_id), sc.place_of(o)) {
                (Some(_), Some(p)) => format!("{}, {}", p.name, p.commune_name),
                _ => String::new(),
            };
            AttendanceLine {
                count: recorded
                    .get(&date)
                    .map(|a| people(a.received))
                    .unwrap_or_default(),
                label: format!(
                    "{}, {}",
                    dates::long_date_with_weekday(o.date),
                    recurrence::short_time(o.start.time())
                ),
                moved,
                cancelled: o.status == OccurrenceStatus::Cancelled,
                future: o.date > today,
                date,
            }
        })
        .collect();
    let (sessions, received) = recorded
        .values()
        .fold((0, 0), |(n, r), a| (n + 1, r + a.received));
    let total = match sessions {
        0 => String::new(),
        1 => format!("1 permanence saisie, {}", people(received)),
        n => format!("{n} permanences saisies, {}", people(received)),
    };
    // Earlier months, from the last one before the default window back to
    // the series' first date.
    let first = sc.schedule.first_date();
    let mut months = Vec::new();
    let (mut y, mut m) = (today.year(), today.month());
    for _ in 0..=EARLIER_MONTHS {
        let Some((start, _)) = recurrence::month_bounds(y, m) else {
            break;
        };
        if (start.year(), start.month()) < (first.year(), first.month()) {
            break;
        }
        months.push((
            format!("{y}-{m:02}"),
            format!("{} {y}", dates::month_name(m)),
        ));
        (y, m) = if m == 1 { (y - 1, 12) } else { (y, m - 1) };
    }
    let period = match month {
        Some((f, _)) => format!("{} {}", dates::month_name(f.month()), f.year()),
        None => format!("les {DEFAULT_WEEKS} dernières semaines"),
    };
    Ok(render(&ListPage {
        l: ctx.admin_layout(format!("Fréquentation — {}", s.title)),
        slug: t.slug.clone(),
        id: s.id,
        title: s.title.clone(),
        place: sc
            .places
            .get(&s.place_id)
            .map(|p| format!("{}, {}", p.name, p.commune_name))
            .unwrap_or_default(),
        period,
        lines,
        can_edit: can_record(&tc),
        total,
        months,
        other_period: month.is_some(),
    }))
}

// ---------------------------------------------------------------- one session

#[derive(Deserialize, Default, Clone)]
pub struct AttendanceForm {
    #[serde(default)]
    version: String,
    #[serde(flatten)]
    raw: AttendanceRaw,
}

#[derive(Template)]
#[template(path = "agenda/attendance_form.html")]
struct FormPage {
    l: Layout,
    slug: String,
    id: i64,
    title: String,
    /// `YYYY-MM-DD`.
    date: String,
    /// « lundi 2 mars 2026, 14 h — Centre social Dumas, Lens ».
    heading: String,
    /// Why this date cannot be recorded (no form then).
    refused: String,
    form: AttendanceRaw,
    version: String,
    errors: FormErrors,
    can_edit: bool,
    /// Already recorded (the delete button is offered).
    recorded: Option<String>,
    /// After a stale save: what is stored now.
    stored: Option<Attendance>,
    /// The optional counts: (field, label, value typed).
    details: Vec<(&'static str, &'static str, String)>,
    /// Some breakdown typed: the « Détail » part starts open.
    details_open: bool,
    /// The form is offered: to those who record, for a date that may be
    /// recorded (or again after a refused submission, with what was typed).
    show_form: bool,
}

/// The date of the path, if it reads as one.
fn path_date(raw: &str) -> Result<NaiveDate, AppError> {
    parse_date(raw).ok_or(AppError::NotFound)
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    sc: &SeriesCtx,
    date: NaiveDate,
    form: AttendanceRaw,
    version: String,
    errors: FormErrors,
) -> Result<FormPage, AppError> {
    let s = &sc.series;
    let today = today_paris();
    let (heading, refused) = match held_occurrence(&sc.schedule, &sc.exceptions, date, today) {
        Ok(o) => {
            let place = sc
                .place_of(&o)
                .map(|p| format!(" — {}, {}", p.name, p.commune_name))
                .unwrap_or_default();
            (
                format!(
                    "{}, {}{place}",
                    dates::long_date_with_weekday(date),
                    recurrence::short_time(o.start.time())
                ),
                String::new(),
            )
        }
        Err(why) => (dates::long_date_with_weekday(date), why.message(date)),
    };
    let recorded = store::get_attendance(&st.db, tc.territory.id, s.id, date)
        .await?
        .map(|a| people(a.received));
    let details_open = [
        &form.women,
        &form.men,
        &form.age_under_26,
        &form.age_26_59,
        &form.age_60_plus,
        &form.qpv_residents,
        &form.first_visits,
        &form.note,
    ]
    .iter()
    .any(|v| !v.trim().is_empty())
        || errors.all().iter().any(|(f, _)| *f != "received");
    let show_form = can_record(tc) && (refused.is_empty() || !errors.is_empty());
    let details = [
        ("women", "Femmes", &form.women),
        ("men", "Hommes", &form.men),
        ("age_under_26", "Moins de 26 ans", &form.age_under_26),
        ("age_26_59", "26 à 59 ans", &form.age_26_59),
        ("age_60_plus", "60 ans et plus", &form.age_60_plus),
        (
            "qpv_residents",
            "Habitant un quartier prioritaire (QPV)",
            &form.qpv_residents,
        ),
        ("first_visits", "Première venue", &form.first_visits),
    ]
    .into_iter()
    .map(|(f, l, v)| (f, l, v.clone()))
    .collect();
    Ok(FormPage {
        show_form,
        details,
        l: ctx.admin_layout(format!("Fréquentation du {}", dates::short_date(date))),
        slug: tc.territory.slug.clone(),
        id: s.id,
        title: s.title.clone(),
        date: date.to_string(),
        heading,
        refused,
        form,
        version,
        errors,
        can_edit: can_record(tc),
        recorded,
        stored: None,
        details_open,
    })
}

pub async fn attendance_edit(
    State(st): State<AppState>,
    Path((_, id, date)): Path<(String, String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let sc = SeriesCtx::load(&st, &tc, &id).await?;
    let date = path_date(&date)?;
    let current = store::get_attendance(&st.db, tc.territory.id, sc.series.id, date).await?;
    let (form, version) = match &current {
        Some(a) => (AttendanceRaw::of(&a.input()), a.version.to_string()),
        None => (AttendanceRaw::default(), "0".to_owned()),
    };
    let page = form_page(
        &st,
        &ctx,
        &tc,
        &sc,
        date,
        form,
        version,
        FormErrors::default(),
    )
    .await?;
    // A date that cannot be recorded is said plainly, with no form.
    let status = if page.refused.is_empty() || current.is_some() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, render(&page)).into_response())
}

pub async fn attendance_save(
    State(st): State<AppState>,
    Path((_, id, date)): Path<(String, String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Form(f): Form<AttendanceForm>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let sc = SeriesCtx::load(&st, &tc, &id).await?;
    let date = path_date(&date)?;
    let series_id = sc.series.id;
    let version = form::version(&f.version);
    let held = held_occurrence(&sc.schedule, &sc.exceptions, date, today_paris());
    let insee = held
        .as_ref()
        .ok()
        .and_then(|o| sc.place_of(o))
        .map(|p| p.insee_code.clone())
        .unwrap_or_default();
    form::submit(
        f,
        |f| {
            let mut errors = FormErrors::default();
            if let Err(why) = held {
                errors.push("held_on", why.message(date));
            }
            match f.raw.parse() {
                Ok(input) if errors.is_empty() => Ok(input),
                Ok(_) => Err(errors),
                Err(e) => {
                    for (field, m) in e {
                        errors.push(field, m);
                    }
                    Err(errors)
                }
            }
        },
        async |input| {
            let actor = tc.user.actor();
            Ok(
                store::save_attendance(&st.db, &actor, t.id, series_id, date, &insee, version, &input)
                    .await?,
            )
        },
        ("received", "Quelqu’un a saisi la fréquentation de cette permanence pendant que vous la saisissiez : la saisie enregistrée est rappelée ci-dessous, la vôtre est conservée dans le formulaire. Enregistrez à nouveau pour garder la vôtre."),
        |a| {
            flash::see_other(
                &list_path(&t.slug, series_id),
                &format!(
                    "Fréquentation du {} enregistrée : {}.",
                    dates::long_date_with_weekday(date),
                    people(a.received)
                ),
            )
        },
        async |again| {
            let stored = if again.stale {
                store::get_attendance(&st.db, t.id, series_id, date).await?
            } else {
                None
            };
            // After a stale save, the next one starts from what is stored.
            let version = match (&stored, again.stale) {
                (Some(a), _) => a.version.to_string(),
                (None, true) => "0".to_owned(),
                (None, false) => again.typed.version.clone(),
            };
            let mut page =
                form_page(&st, &ctx, &tc, &sc, date, again.typed.raw, version, again.errors)
                    .await?;
            page.stored = stored;
            Ok((again.status, render(&page)).into_response())
        },
    )
    .await
}

pub async fn attendance_delete(
    State(st): State<AppState>,
    Path((_, id, date)): Path<(String, String, String)>,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let sc = SeriesCtx::load(&st, &tc, &id).await?;
    let date = path_date(&date)?;
    store::delete_attendance(&st.db, &tc.user.actor(), t.id, sc.series.id, date)
        .await
        .map_err(not_found)?;
    Ok(flash::see_other(
        &list_path(&t.slug, sc.series.id),
        &format!(
            "Saisie de la fréquentation du {} supprimée.",
            dates::long_date_with_weekday(date)
        ),
    ))
}
