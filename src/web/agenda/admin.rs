//! Back office of the agenda: places, drop-in series (with the RRULE they
//! generate and their exceptions), events and sessions, registrations
//! (by phone, attendance, CSV/XLSX export). Partners and coordinators edit;
//! members read the overview.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{Datelike, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Paris;
use serde::Deserialize;

use super::public::{places_map, session_view, SessionView};
use super::today_paris;
use crate::domain::agenda::event::{
    Access as Walk, Audience, EventKind, EventStatus, NewRegistration,
};
use crate::domain::agenda::recurrence::{
    self, describe, weekday_code, weekday_from_code, Exception, OccurrenceStatus, Pattern,
};
use crate::domain::dates;
use crate::domain::text::bounded;
use crate::storage::agenda::{
    self as store, parse_date, parse_time, Event, EventInput, NewPlace, Place, RegisterError,
    Registration, Series, SeriesInput, SessionInput,
};
use crate::storage::territories;
use crate::storage::DbError;
use crate::web::access::TerritoryCtx;
use crate::web::error::AppError;
use crate::web::pages::{render, Ctx, FormErrors, Layout};
use crate::web::AppState;
use crate::web::{flash, form};

pub(super) fn not_found(e: DbError) -> AppError {
    match e {
        DbError::NotFound => AppError::NotFound,
        e => e.into(),
    }
}

pub(super) fn id_of(s: &str) -> Result<i64, AppError> {
    s.parse().map_err(|_| AppError::NotFound)
}

// ---------------------------------------------------------------- home

pub struct SeriesLine {
    pub id: i64,
    pub title: String,
    pub place: String,
    pub description: String,
    pub next: String,
}

pub struct EventLine {
    pub id: i64,
    pub title: String,
    pub status: String,
    pub first: String,
}

#[derive(Template)]
#[template(path = "agenda/admin_home.html")]
struct HomePage {
    l: Layout,
    slug: String,
    csrf: String,
    can_edit: bool,
    places: Vec<Place>,
    series: Vec<SeriesLine>,
    events: Vec<EventLine>,
    communes: Vec<crate::storage::communes::Commune>,
    place_form: PlaceForm,
    errors: FormErrors,
}

#[derive(Deserialize, Default)]
pub struct PlaceForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    insee_code: String,
    #[serde(default)]
    access_notes: String,
}

async fn home_page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    place_form: PlaceForm,
    errors: FormErrors,
) -> Result<HomePage, AppError> {
    let t = &tc.territory;
    let world = super::series_world(&st.db, t.id).await?;
    let today = today_paris();
    let series = world
        .items
        .iter()
        .map(|(s, schedule, exc)| {
            let next =
                recurrence::expand(schedule, exc, today, today + chrono::Duration::days(366))
                    .into_iter()
                    .find(|o| o.status != OccurrenceStatus::Cancelled)
                    .map(|o| dates::long_date_with_weekday(o.date))
                    .unwrap_or_else(|| "aucune à venir".into());
            SeriesLine {
                id: s.id,
                title: s.title.clone(),
                place: world
                    .places
                    .get(&s.place_id)
                    .map(|p| format!("{} ({})", p.name, p.commune_name))
                    .unwrap_or_default(),
                description: format!(
                    "{}, {}",
                    describe(schedule),
                    recurrence::describe_period(schedule)
                ),
                next,
            }
        })
        .collect();
    let sessions = store::territory_sessions(&st.db, t.id).await?;
    let events = store::list_events(&st.db, t.id)
        .await?
        .into_iter()
        .map(|e| EventLine {
            id: e.id,
            first: sessions
                .iter()
                .find(|s| s.event_id == e.id)
                .map(|s| dates::paris_datetime(s.starts_at))
                .unwrap_or_else(|| "pas encore de séance".into()),
            status: EventStatus::parse(&e.status)
                .map(|s| s.label())
                .unwrap_or("")
                .into(),
            title: e.title,
        })
        .collect();
    Ok(HomePage {
        l: ctx.admin_layout("Agenda et permanences"),
        slug: t.slug.clone(),
        csrf: ctx.csrf(),
        can_edit: tc
            .role
            .is_some_and(|r| r >= crate::domain::roles::Role::Partner)
            || tc.user.is_admin(),
        places: store::list_places(&st.db, t.id).await?,
        series,
        events,
        communes: territories::communes(&st.db, t.id).await?,
        place_form,
        errors,
    })
}

pub async fn home(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    Ok(render(
        &home_page(&st, &ctx, &tc, PlaceForm::default(), FormErrors::default()).await?,
    ))
}

pub async fn place_create(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Form(form): Form<PlaceForm>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let communes = territories::communes(&st.db, t.id).await?;
    form::submit(
        form,
        |f| {
            place_input(
                &f.name,
                &f.address,
                &f.insee_code,
                &f.access_notes,
                &communes,
            )
        },
        async |input| Ok(store::create_place(&st.db, &tc.user.actor(), t.id, &input).await?),
        form::UNVERSIONED,
        |p| {
            flash::see_other(
                &format!("/admin/t/{}/agenda", t.slug),
                &format!("Lieu « {} » créé.", p.name),
            )
        },
        async |again| {
            let page = home_page(&st, &ctx, &tc, again.typed, again.errors).await?;
            Ok((again.status, render(&page)).into_response())
        },
    )
    .await
}

/// A place as typed (the « Lieux » form here, its edit page in `manage.rs`).
pub(super) fn place_input(
    name: &str,
    address: &str,
    insee_code: &str,
    access_notes: &str,
    communes: &[crate::storage::communes::Commune],
) -> Result<NewPlace, FormErrors> {
    let mut errors = FormErrors::default();
    if name.trim().is_empty() {
        errors.push("place_name", "Indiquez le nom du lieu.");
    }
    if !communes.iter().any(|c| c.insee_code == insee_code) {
        errors.push("insee_code", "Choisissez une commune du territoire.");
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(NewPlace {
        name: name.trim().to_owned(),
        address: address.trim().to_owned(),
        insee_code: insee_code.to_owned(),
        access_notes: access_notes.trim().to_owned(),
    })
}

// ---------------------------------------------------------------- series

pub const WEEKDAYS: [(&str, &str); 7] = [
    ("MO", "lundi"),
    ("TU", "mardi"),
    ("WE", "mercredi"),
    ("TH", "jeudi"),
    ("FR", "vendredi"),
    ("SA", "samedi"),
    ("SU", "dimanche"),
];
pub const NTHS: [(&str, &str); 5] = [
    ("1", "premier"),
    ("2", "deuxième"),
    ("3", "troisième"),
    ("4", "quatrième"),
    ("-1", "dernier"),
];

#[derive(Deserialize, Default, Clone)]
pub struct SeriesForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    mediators: String,
    #[serde(default)]
    place_id: String,
    #[serde(default)]
    first_date: String,
    #[serde(default)]
    end_date: String,
    #[serde(default)]
    start_time: String,
    #[serde(default)]
    end_time: String,
    /// `weekly`, `biweekly`, `monthly` or `custom`.
    #[serde(default)]
    pattern: String,
    #[serde(default)]
    weekday: String,
    #[serde(default)]
    nth: String,
    #[serde(default)]
    rrule: String,
    #[serde(default)]
    skip_holidays: Option<String>,
    #[serde(default)]
    access: String,
    #[serde(default)]
    services: String,
    #[serde(default)]
    version: String,
    /// A place created from the series form, without leaving it.
    #[serde(default)]
    new_place_name: String,
    #[serde(default)]
    new_place_address: String,
    #[serde(default)]
    new_place_insee: String,
    #[serde(default)]
    new_place_access: String,
    /// `place`: create the place typed and come back to the form (nothing
    /// else is saved); empty: save the series.
    #[serde(default)]
    action: String,
}

impl SeriesForm {
    fn of(s: &Series) -> SeriesForm {
        let (pattern, weekday, nth) = match Pattern::from_rrule(&s.rrule) {
            Some(Pattern::Weekly(w)) => ("weekly", weekday_code(w), "1".to_owned()),
            Some(Pattern::Biweekly(w)) => ("biweekly", weekday_code(w), "1".to_owned()),
            Some(Pattern::MonthlyNth(n, w)) => ("monthly", weekday_code(w), n.to_string()),
            None => ("custom", "MO", "1".to_owned()),
        };
        SeriesForm {
            title: s.title.clone(),
            mediators: s.mediators.clone(),
            place_id: s.place_id.to_string(),
            first_date: s.first_date.clone(),
            end_date: s.end_date.clone().unwrap_or_default(),
            start_time: s.start_time.clone(),
            end_time: s.end_time.clone(),
            pattern: pattern.into(),
            weekday: weekday.into(),
            nth,
            rrule: s.rrule.clone(),
            skip_holidays: s.skip_holidays.then(|| "oui".into()),
            access: s.access.clone(),
            services: s.services.clone(),
            version: s.version.to_string(),
            ..Default::default()
        }
    }

    /// The pattern the form describes (`None`: a typed RRULE). The weekday
    /// left on « jour de la première permanence » is taken from the first
    /// date.
    fn pattern(&self, first: Option<NaiveDate>) -> Result<Option<Pattern>, &'static str> {
        let wd = || match self.weekday.trim() {
            "" => first.map(|d| d.weekday()).ok_or(
                "Indiquez la date de la première permanence : le jour de la semaine en est tiré.",
            ),
            code => weekday_from_code(code).ok_or("Choisissez le jour de la semaine."),
        };
        Ok(Some(match self.pattern.as_str() {
            "weekly" => Pattern::Weekly(wd()?),
            "biweekly" => Pattern::Biweekly(wd()?),
            "monthly" => {
                let n: i8 = self
                    .nth
                    .parse()
                    .map_err(|_| "Choisissez la semaine du mois.")?;
                if !(n == -1 || (1..=4).contains(&n)) {
                    return Err("Choisissez la semaine du mois.");
                }
                Pattern::MonthlyNth(n, wd()?)
            }
            "custom" => return Ok(None),
            _ => return Err("Choisissez une récurrence."),
        }))
    }

    fn parse(&self, places: &[Place]) -> (Option<SeriesInput>, FormErrors, (String, String)) {
        let mut errors = FormErrors::default();
        let title = self.title.trim();
        if title.is_empty() {
            errors.push(
                "title",
                "Indiquez un titre (par exemple : Permanence santé de Lens).",
            );
        }
        for (field, value, label, max) in [
            ("title", &self.title, "Titre", 200),
            ("mediators", &self.mediators, "Médiateurs", 1_000),
            ("services", &self.services, "Services proposés", 2_000),
        ] {
            if let Err(e) = bounded(value, label, false, max) {
                errors.push(field, e.0);
            }
        }
        let place_id = self
            .place_id
            .parse::<i64>()
            .ok()
            .filter(|id| places.iter().any(|p| p.id == *id));
        if place_id.is_none() {
            errors.push(
                "place_id",
                "Choisissez un lieu, ou créez-le ci-dessous (« Nouveau lieu »).",
            );
        }
        let first = dates::parse_input_date(&self.first_date);
        if first.is_none() {
            errors.push(
                "first_date",
                "Date de la première permanence illisible (JJ/MM/AAAA).",
            );
        }
        let end = if self.end_date.trim().is_empty() {
            Ok(None)
        } else {
            dates::parse_input_date(&self.end_date).map(Some).ok_or(())
        };
        if end.is_err() {
            errors.push("end_date", "Date de fin illisible (JJ/MM/AAAA).");
        }
        let st = parse_time(&self.start_time);
        if st.is_none() {
            errors.push("start_time", "Heure de début illisible (HH:MM).");
        }
        let et = parse_time(&self.end_time);
        if et.is_none() {
            errors.push("end_time", "Heure de fin illisible (HH:MM).");
        }
        let rule = match self.pattern(first) {
            Ok(Some(p)) => {
                // The first date must be a day the pattern gives.
                if let Some(f) = first {
                    if let Err(e) = recurrence::check_first_date(p, f) {
                        errors.push("weekday", e.0);
                    }
                }
                p.to_rrule()
            }
            Ok(None) => self.rrule.trim().to_owned(),
            Err(m) => {
                if first.is_some() {
                    errors.push("pattern", m);
                }
                String::new()
            }
        };
        let access = if Walk::parse(&self.access).is_some() {
            self.access.clone()
        } else {
            "walk_in".into()
        };
        let mut shown_rule = (rule.clone(), String::new());
        let input = match (first, end, st, et, place_id, errors.is_empty()) {
            (Some(first), Ok(end), Some(st), Some(et), Some(place_id), true) => {
                let input = SeriesInput {
                    title: title.to_owned(),
                    mediators: self.mediators.trim().to_owned(),
                    place_id,
                    first_date: first,
                    end_date: end,
                    start_time: st,
                    end_time: et,
                    rrule: rule,
                    skip_holidays: self.skip_holidays.is_some(),
                    access,
                    services: self.services.trim().to_owned(),
                };
                match input.schedule() {
                    Ok(s) => {
                        shown_rule = rule_shown(&s);
                        Some(input)
                    }
                    Err(e) => {
                        let field = if e.0.contains("heure") {
                            "end_time"
                        } else {
                            "pattern"
                        };
                        errors.push(field, e.0);
                        None
                    }
                }
            }
            _ => None,
        };
        (input, errors, shown_rule)
    }
}

/// The rule as stored (RFC 5545, for « Avancé ») and in words: « un mardi
/// sur deux, de 14 h à 16 h, du 01/12/2026 au 30/06/2027 ».
fn rule_shown(s: &recurrence::Schedule) -> (String, String) {
    (
        s.effective_rule.clone(),
        format!("{}, {}", describe(s), recurrence::describe_period(s)),
    )
}

pub struct OccLine {
    /// `YYYY-MM-DD` of the date the rule gives (form value).
    pub date: String,
    pub label: String,
    pub status: String,
    pub note: String,
    /// A public holiday the series skips (« férié : pas de permanence »).
    pub holiday: bool,
    /// A public holiday held anyway.
    pub held: bool,
    sort: chrono::NaiveDateTime,
}

/// « 11/11/2026 (mercredi), 14 h ».
fn occ_label(d: NaiveDate, t: NaiveTime) -> String {
    format!(
        "{} ({}), {}",
        dates::short_date(d),
        dates::weekday_name(d),
        recurrence::short_time(t)
    )
}

#[derive(Template)]
#[template(path = "agenda/series_form.html")]
struct SeriesPage {
    l: Layout,
    slug: String,
    csrf: String,
    id: Option<i64>,
    form: SeriesForm,
    errors: FormErrors,
    places: Vec<Place>,
    communes: Vec<crate::storage::communes::Commune>,
    weekdays: Vec<(&'static str, &'static str)>,
    nths: Vec<(&'static str, &'static str)>,
    /// The effective RRULE (shown under « Avancé »).
    rule: String,
    /// The rule in words.
    rule_words: String,
    /// After a stale save: the stored version (and its rule in words).
    stored: Option<(SeriesForm, String)>,
    occurrences: Vec<OccLine>,
    exc_errors: FormErrors,
    /// Said once after an inline place was created.
    notice: String,
}

#[allow(clippy::too_many_arguments)]
async fn series_page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    id: Option<i64>,
    form: SeriesForm,
    errors: FormErrors,
    rule: (String, String),
    exc_errors: FormErrors,
) -> Result<SeriesPage, AppError> {
    let t = &tc.territory;
    let mut occurrences = Vec::new();
    if let Some(id) = id {
        let s = store::get_series(&st.db, t.id, id)
            .await
            .map_err(not_found)?;
        if let Ok(schedule) = s.schedule() {
            let exc: Vec<Exception> = store::exceptions(&st.db, t.id)
                .await?
                .into_iter()
                .filter(|(sid, _)| *sid == id)
                .map(|(_, e)| e)
                .collect();
            // The whole series (at most MAX_OCCURRENCES), moved dates included.
            let (from, to) = (
                schedule.first_date() - chrono::Duration::days(366),
                schedule.last_date() + chrono::Duration::days(366),
            );
            let held: Vec<NaiveDate> = exc
                .iter()
                .filter(|e| e.kind == recurrence::ExceptionKind::Held)
                .map(|e| e.original_date)
                .collect();
            for o in recurrence::expand(&schedule, &exc, from, to) {
                let is_held = held.contains(&o.original_date);
                occurrences.push(OccLine {
                    date: o.original_date.to_string(),
                    label: occ_label(o.date, o.start.time()),
                    status: match o.status {
                        OccurrenceStatus::Scheduled if is_held => {
                            "férié, permanence maintenue".into()
                        }
                        OccurrenceStatus::Scheduled => String::new(),
                        OccurrenceStatus::Cancelled => "annulée".into(),
                        OccurrenceStatus::Moved => {
                            format!(
                                "déplacée (prévue le {})",
                                dates::short_date(o.original_date)
                            )
                        }
                    },
                    note: o.note,
                    holiday: false,
                    held: is_held,
                    sort: o.start,
                });
            }
            // Skipped public holidays are listed among the dates, with the
            // choice to hold the session anyway.
            for d in schedule.holiday_dates() {
                if held.contains(&d) {
                    continue;
                }
                occurrences.push(OccLine {
                    date: d.to_string(),
                    label: dates::short_date(d),
                    status: format!(
                        "férié ({}) : pas de permanence",
                        crate::domain::agenda::holidays::holiday_name(d).unwrap_or("jour férié")
                    ),
                    note: String::new(),
                    holiday: true,
                    held: false,
                    sort: d.and_time(schedule.start_time),
                });
            }
            occurrences.sort_by_key(|o| o.sort);
        }
    }
    Ok(SeriesPage {
        l: ctx.admin_layout(if id.is_some() {
            "Modifier la permanence"
        } else {
            "Nouvelle permanence"
        }),
        slug: t.slug.clone(),
        csrf: ctx.csrf(),
        id,
        form,
        errors,
        places: store::list_places(&st.db, t.id).await?,
        communes: territories::communes(&st.db, t.id).await?,
        weekdays: WEEKDAYS.to_vec(),
        nths: NTHS.to_vec(),
        rule: rule.0,
        rule_words: rule.1,
        stored: None,
        occurrences,
        exc_errors,
        notice: String::new(),
    })
}

pub async fn series_new(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let form = SeriesForm {
        pattern: "biweekly".into(),
        // Taken from the first date unless another day is chosen.
        weekday: String::new(),
        nth: "1".into(),
        start_time: "14:00".into(),
        end_time: "16:00".into(),
        skip_holidays: Some("oui".into()),
        access: "walk_in".into(),
        ..Default::default()
    };
    Ok(render(
        &series_page(
            &st,
            &ctx,
            &tc,
            None,
            form,
            FormErrors::default(),
            Default::default(),
            FormErrors::default(),
        )
        .await?,
    ))
}

/// Create the place typed in the series form. `Ok(None)` when nothing was
/// typed there; `Err` with the errors to show (the series is not saved).
async fn inline_place(
    st: &AppState,
    tc: &TerritoryCtx,
    form: &mut SeriesForm,
) -> Result<Result<Option<Place>, FormErrors>, AppError> {
    // « Créer ce lieu » is the form's first button, so Enter in any field
    // sends `action=place`: with no place typed, it is a plain save.
    if form.new_place_name.trim().is_empty() {
        return Ok(Ok(None));
    }
    let t = &tc.territory;
    let mut errors = FormErrors::default();
    let communes = territories::communes(&st.db, t.id).await?;
    if !communes
        .iter()
        .any(|c| c.insee_code == form.new_place_insee)
    {
        errors.push(
            "new_place_insee",
            "Choisissez la commune du nouveau lieu (une commune du territoire).",
        );
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let place = store::create_place(
        &st.db,
        &tc.user.actor(),
        t.id,
        &NewPlace {
            name: form.new_place_name.trim().to_owned(),
            address: form.new_place_address.trim().to_owned(),
            insee_code: form.new_place_insee.clone(),
            access_notes: form.new_place_access.trim().to_owned(),
        },
    )
    .await?;
    form.place_id = place.id.to_string();
    form.new_place_name.clear();
    form.new_place_address.clear();
    form.new_place_insee.clear();
    form.new_place_access.clear();
    Ok(Ok(Some(place)))
}

/// Handle the « Nouveau lieu » part of the series form: `Some(response)`
/// when the page must be shown again (place created on its own, or refused).
async fn place_step(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    id: Option<i64>,
    form: &mut SeriesForm,
) -> Result<(Option<Response>, String), AppError> {
    let only_place = form.action == "place";
    match inline_place(st, tc, form).await? {
        Ok(None) => Ok((None, String::new())),
        Ok(Some(place)) => {
            let notice = format!(
                "Lieu « {} » créé et choisi pour cette permanence.",
                place.name
            );
            if !only_place {
                return Ok((None, notice));
            }
            let mut page = series_page(
                st,
                ctx,
                tc,
                id,
                form.clone(),
                FormErrors::default(),
                Default::default(),
                FormErrors::default(),
            )
            .await?;
            page.notice = notice;
            Ok((Some(render(&page)), String::new()))
        }
        Err(errors) => {
            let page = series_page(
                st,
                ctx,
                tc,
                id,
                form.clone(),
                errors,
                Default::default(),
                FormErrors::default(),
            )
            .await?;
            Ok((
                Some((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response()),
                String::new(),
            ))
        }
    }
}

pub async fn series_create(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Form(mut form): Form<SeriesForm>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let (shown, notice) = place_step(&st, &ctx, &tc, None, &mut form).await?;
    if let Some(r) = shown {
        return Ok(r);
    }
    let places = store::list_places(&st.db, t.id).await?;
    // Parsed ahead: the rule in words is shown with the form either way.
    let (input, errors, rule) = form.parse(&places);
    form::submit(
        form,
        |_| input.ok_or(errors),
        async |input| Ok(store::create_series(&st.db, &tc.user.actor(), t.id, &input).await?),
        form::UNVERSIONED,
        |s| {
            let to = format!("/admin/t/{}/permanences/{}", t.slug, s.id);
            flash::see_other(&to, "Permanence créée.")
        },
        async |again| {
            let no_exc = FormErrors::default();
            let mut page = series_page(
                &st,
                &ctx,
                &tc,
                None,
                again.typed,
                again.errors,
                rule,
                no_exc,
            )
            .await?;
            page.notice = notice;
            Ok((again.status, render(&page)).into_response())
        },
    )
    .await
}

pub async fn series_edit(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let id = id_of(&id)?;
    let s = store::get_series(&st.db, tc.territory.id, id)
        .await
        .map_err(not_found)?;
    let rule = s.schedule().map(|s| rule_shown(&s)).unwrap_or_default();
    Ok(render(
        &series_page(
            &st,
            &ctx,
            &tc,
            Some(id),
            SeriesForm::of(&s),
            FormErrors::default(),
            rule,
            FormErrors::default(),
        )
        .await?,
    ))
}

pub async fn series_update(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Form(mut form): Form<SeriesForm>,
) -> Result<Response, AppError> {
    let id = id_of(&id)?;
    let t = &tc.territory;
    store::get_series(&st.db, t.id, id)
        .await
        .map_err(not_found)?;
    let (shown, notice) = place_step(&st, &ctx, &tc, Some(id), &mut form).await?;
    if let Some(r) = shown {
        return Ok(r);
    }
    let places = store::list_places(&st.db, t.id).await?;
    // Parsed ahead: the rule in words is shown with the form either way.
    let (input, errors, rule) = form.parse(&places);
    let version = form::version(&form.version);
    form::submit(
        form,
        |_| input.ok_or(errors),
        async |input| {
            let actor = tc.user.actor();
            Ok(store::update_series(&st.db, &actor, t.id, id, version, &input).await?)
        },
        ("title", "Quelqu’un a modifié cette permanence pendant que vous la modifiiez : la version enregistrée est résumée ci-dessous, votre saisie est conservée dans le formulaire. Enregistrez à nouveau pour garder la vôtre."),
        |_| {
            let to = format!("/admin/t/{}/permanences/{id}", t.slug);
            flash::see_other(&to, "Permanence enregistrée.")
        },
        async |again| {
            let mut typed = again.typed;
            // After a stale save: the stored version beside what was typed,
            // and the next save starts from it.
            let stored = if again.stale {
                let s = store::get_series(&st.db, t.id, id).await.map_err(not_found)?;
                typed.version = s.version.to_string();
                let words = s.schedule().map(|s| rule_shown(&s).1).unwrap_or_default();
                Some((SeriesForm::of(&s), words))
            } else {
                None
            };
            let no_exc = FormErrors::default();
            let mut page =
                series_page(&st, &ctx, &tc, Some(id), typed, again.errors, rule, no_exc).await?;
            page.stored = stored;
            page.notice = notice;
            Ok((again.status, render(&page)).into_response())
        },
    )
    .await
}

#[derive(Deserialize, Default)]
pub struct ExceptionForm {
    #[serde(default)]
    original_date: String,
    /// `cancel`, `move` or `restore`.
    #[serde(default)]
    action: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    new_date: String,
    #[serde(default)]
    new_start: String,
    #[serde(default)]
    new_end: String,
    #[serde(default)]
    new_place_id: String,
}

pub async fn exception_save(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Form(f): Form<ExceptionForm>,
) -> Result<Response, AppError> {
    let id = id_of(&id)?;
    let t = &tc.territory;
    let s = store::get_series(&st.db, t.id, id)
        .await
        .map_err(not_found)?;
    let mut errors = FormErrors::default();
    let original = parse_date(&f.original_date);
    if original.is_none() {
        errors.push("original_date", "Choisissez la permanence concernée.");
    }
    let actor = tc.user.actor();
    if let Some(original) = original {
        let result = match f.action.as_str() {
            "cancel" => Some(
                store::set_exception(
                    &st.db,
                    &actor,
                    t.id,
                    id,
                    &Exception::cancelled(original, &f.note),
                )
                .await,
            ),
            "restore" => Some(store::remove_exception(&st.db, &actor, t.id, id, original).await),
            "hold" => Some(
                store::set_exception(
                    &st.db,
                    &actor,
                    t.id,
                    id,
                    &Exception::held(original, &f.note),
                )
                .await,
            ),
            "move" => {
                let date = if f.new_date.trim().is_empty() {
                    Some(original)
                } else {
                    dates::parse_input_date(&f.new_date)
                };
                let (ns, ne) = (parse_time(&f.new_start), parse_time(&f.new_end));
                let place = f.new_place_id.parse::<i64>().ok();
                match (date, ns, ne) {
                    (Some(d), Some(a), Some(b)) => {
                        match Exception::moved(original, d, a, b, place, &f.note) {
                            Ok(e) => Some(store::set_exception(&st.db, &actor, t.id, id, &e).await),
                            Err(e) => {
                                errors.push("new_end", e.0);
                                None
                            }
                        }
                    }
                    _ => {
                        errors.push("new_date", "Indiquez la nouvelle date (JJ/MM/AAAA) et les nouvelles heures (HH:MM).");
                        None
                    }
                }
            }
            _ => {
                errors.push(
                    "action",
                    "Choisissez : annuler, déplacer, rétablir ou tenir malgré le jour férié.",
                );
                None
            }
        };
        match result {
            Some(Ok(())) => {
                return Ok(
                    Redirect::to(&format!("/admin/t/{}/permanences/{}", t.slug, id))
                        .into_response(),
                )
            }
            Some(Err(DbError::Conflict(_))) => errors.push(
                "original_date",
                "Cette date ne fait pas partie de la série (ou le lieu est inconnu).",
            ),
            Some(Err(e)) => return Err(e.into()),
            None => {}
        }
    }
    let rule = s.schedule().map(|s| rule_shown(&s)).unwrap_or_default();
    let page = series_page(
        &st,
        &ctx,
        &tc,
        Some(id),
        SeriesForm::of(&s),
        FormErrors::default(),
        rule,
        errors,
    )
    .await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
}

// ---------------------------------------------------------------- events

#[derive(Deserialize, Default, Clone)]
pub struct EventForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    organiser: String,
    #[serde(default)]
    themes: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    linked_actions: String,
    #[serde(default)]
    programme_to_come: Option<String>,
    #[serde(default)]
    version: String,
}

impl EventForm {
    fn of(e: &Event) -> EventForm {
        EventForm {
            title: e.title.clone(),
            kind: e.kind.clone(),
            status: e.status.clone(),
            organiser: e.organiser.clone(),
            themes: e.themes.clone(),
            description: e.description.clone(),
            linked_actions: e.linked_actions.clone(),
            programme_to_come: e.programme_to_come.then(|| "oui".into()),
            version: e.version.to_string(),
        }
    }
    fn parse(&self) -> Result<EventInput, FormErrors> {
        let mut errors = FormErrors::default();
        if self.title.trim().is_empty() {
            errors.push("title", "Indiquez un titre.");
        }
        for (field, value, label, max) in [
            ("title", &self.title, "Titre", 200),
            ("organiser", &self.organiser, "Organisateur", 200),
            ("themes", &self.themes, "Thèmes", 1_000),
            ("description", &self.description, "Description", 20_000),
            ("linked_actions", &self.linked_actions, "Actions liées", 500),
        ] {
            if let Err(e) = bounded(value, label, false, max) {
                errors.push(field, e.0);
            }
        }
        if EventKind::parse(&self.kind).is_none() {
            errors.push("kind", "Choisissez le type d’événement.");
        }
        if EventStatus::parse(&self.status).is_none() {
            errors.push("status", "Choisissez le statut.");
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(EventInput {
            title: self.title.trim().to_owned(),
            kind: self.kind.clone(),
            status: self.status.clone(),
            organiser: self.organiser.trim().to_owned(),
            themes: self
                .themes
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("\n"),
            description: self.description.trim().to_owned(),
            linked_actions: self.linked_actions.trim().to_owned(),
            programme_to_come: self.programme_to_come.is_some(),
        })
    }
}

/// A session as typed, when it is added (here) and when it is edited
/// (`manage.rs`): one form, one set of rules.
#[derive(Deserialize, Default, Clone)]
pub struct SessionForm {
    #[serde(default)]
    pub(super) date: String,
    #[serde(default)]
    pub(super) start: String,
    #[serde(default)]
    pub(super) end: String,
    #[serde(default)]
    pub(super) place_id: String,
    #[serde(default)]
    pub(super) capacity: String,
    #[serde(default)]
    pub(super) audience: String,
    #[serde(default)]
    pub(super) audience_roles: String,
}

impl SessionForm {
    /// The session, or what is wrong with it (date, times, seats, place,
    /// audience): the same rules when it is added and when it is edited.
    pub(super) fn parse(&self, places: &[Place]) -> Result<SessionInput, FormErrors> {
        let mut errors = FormErrors::default();
        let date = dates::parse_input_date(&self.date);
        if date.is_none() {
            errors.push("date", "Date illisible (JJ/MM/AAAA).");
        }
        let (start, end) = (parse_time(&self.start), parse_time(&self.end));
        if start.is_none() || end.is_none() {
            errors.push("start", "Heures de début et de fin illisibles (HH:MM).");
        }
        let capacity = super::parse_capacity(&self.capacity, &mut errors);
        let place_id = super::parse_place_choice(&self.place_id, places, &mut errors);
        if Audience::parse(&self.audience).is_none() {
            errors.push("audience", "Choisissez le public.");
        }
        if let (Some(d), Some(a), Some(b), true) = (date, start, end, errors.is_empty()) {
            let (starts_at, ends_at) = (paris_instant(d, a), paris_instant(d, b));
            if ends_at <= starts_at {
                errors.push("start", "La fin doit être après le début.");
            } else {
                return Ok(SessionInput {
                    starts_at,
                    ends_at,
                    place_id,
                    capacity,
                    audience: self.audience.clone(),
                    audience_roles: self.audience_roles.trim().to_owned(),
                });
            }
        }
        Err(errors)
    }
}

#[derive(Template)]
#[template(path = "agenda/event_form.html")]
struct EventPage {
    l: Layout,
    slug: String,
    csrf: String,
    id: Option<i64>,
    form: EventForm,
    errors: FormErrors,
    kinds: Vec<(&'static str, &'static str)>,
    statuses: Vec<(&'static str, &'static str)>,
    audiences: Vec<(&'static str, &'static str)>,
    places: Vec<Place>,
    sessions: Vec<SessionView>,
    session_form: SessionForm,
    session_errors: FormErrors,
    /// After a stale save: the stored version.
    stored: Option<EventForm>,
}

#[allow(clippy::too_many_arguments)]
async fn event_page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    id: Option<i64>,
    form: EventForm,
    errors: FormErrors,
    session_form: SessionForm,
    session_errors: FormErrors,
) -> Result<EventPage, AppError> {
    let t = &tc.territory;
    let places = places_map(st, t.id).await?;
    let sessions = match id {
        Some(id) => {
            let e = store::get_event(&st.db, t.id, id)
                .await
                .map_err(not_found)?;
            store::sessions(&st.db, id)
                .await?
                .iter()
                .map(|s| session_view(&e, s, &places))
                .collect()
        }
        None => Vec::new(),
    };
    Ok(EventPage {
        l: ctx.admin_layout(if id.is_some() {
            "Modifier l’événement"
        } else {
            "Nouvel événement"
        }),
        slug: t.slug.clone(),
        csrf: ctx.csrf(),
        id,
        form,
        errors,
        kinds: EventKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.label()))
            .collect(),
        statuses: EventStatus::ALL
            .iter()
            .map(|k| (k.as_str(), k.label()))
            .collect(),
        audiences: Audience::ALL
            .iter()
            .map(|k| (k.as_str(), k.label()))
            .collect(),
        places: places.into_values().collect(),
        sessions,
        session_form: SessionForm {
            audience: if session_form.audience.is_empty() {
                "public".into()
            } else {
                session_form.audience.clone()
            },
            ..session_form
        },
        session_errors,
        stored: None,
    })
}

pub async fn event_new(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let form = EventForm {
        kind: "workshop".into(),
        status: "confirmed".into(),
        ..Default::default()
    };
    Ok(render(
        &event_page(
            &st,
            &ctx,
            &tc,
            None,
            form,
            FormErrors::default(),
            SessionForm::default(),
            FormErrors::default(),
        )
        .await?,
    ))
}

pub async fn event_create(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Form(form): Form<EventForm>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    form::submit(
        form,
        EventForm::parse,
        async |input| Ok(store::create_event(&st.db, &tc.user.actor(), t.id, &input).await?),
        form::UNVERSIONED,
        |e| {
            let to = format!("/admin/t/{}/evenements/{}", t.slug, e.id);
            flash::see_other(&to, "Événement créé.")
        },
        async |again| {
            let (s, s_errors) = (SessionForm::default(), FormErrors::default());
            let page =
                event_page(&st, &ctx, &tc, None, again.typed, again.errors, s, s_errors).await?;
            Ok((again.status, render(&page)).into_response())
        },
    )
    .await
}

pub async fn event_edit(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let id = id_of(&id)?;
    let e = store::get_event(&st.db, tc.territory.id, id)
        .await
        .map_err(not_found)?;
    Ok(render(
        &event_page(
            &st,
            &ctx,
            &tc,
            Some(id),
            EventForm::of(&e),
            FormErrors::default(),
            SessionForm::default(),
            FormErrors::default(),
        )
        .await?,
    ))
}

pub async fn event_update(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Form(form): Form<EventForm>,
) -> Result<Response, AppError> {
    let id = id_of(&id)?;
    let t = &tc.territory;
    store::get_event(&st.db, t.id, id)
        .await
        .map_err(not_found)?;
    let version = form::version(&form.version);
    form::submit(
        form,
        EventForm::parse,
        async |input| {
            let actor = tc.user.actor();
            Ok(store::update_event(&st.db, &actor, t.id, id, version, &input).await?)
        },
        ("title", "Quelqu’un a modifié cet événement pendant que vous le modifiiez : la version enregistrée est résumée ci-dessous, votre saisie est conservée dans le formulaire. Enregistrez à nouveau pour garder la vôtre."),
        |_| {
            let to = format!("/admin/t/{}/evenements/{id}", t.slug);
            flash::see_other(&to, "Événement enregistré.")
        },
        async |again| {
            let mut typed = again.typed;
            // After a stale save: the stored version beside what was typed,
            // and the next save starts from it.
            let stored = if again.stale {
                let e = store::get_event(&st.db, t.id, id).await.map_err(not_found)?;
                typed.version = e.version.to_string();
                Some(EventForm::of(&e))
            } else {
                None
            };
            let (s, s_errors) = (SessionForm::default(), FormErrors::default());
            let mut page =
                event_page(&st, &ctx, &tc, Some(id), typed, again.errors, s, s_errors).await?;
            page.stored = stored;
            Ok((again.status, render(&page)).into_response())
        },
    )
    .await
}

pub(super) fn paris_instant(d: NaiveDate, t: NaiveTime) -> chrono::DateTime<Utc> {
    Paris
        .from_local_datetime(&d.and_time(t))
        .earliest()
        .map(|x| x.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&d.and_time(t)))
}

pub async fn session_add(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Form(f): Form<SessionForm>,
) -> Result<Response, AppError> {
    let id = id_of(&id)?;
    let t = &tc.territory;
    let e = store::get_event(&st.db, t.id, id)
        .await
        .map_err(not_found)?;
    let places = store::list_places(&st.db, t.id).await?;
    form::submit(
        f,
        |f| f.parse(&places),
        async |input| Ok(store::add_session(&st.db, &tc.user.actor(), t.id, id, &input).await?),
        form::UNVERSIONED,
        |_| {
            let to = format!("/admin/t/{}/evenements/{id}", t.slug);
            flash::see_other(&to, "Séance ajoutée.")
        },
        async |again| {
            let (ef, e_errors) = (EventForm::of(&e), FormErrors::default());
            let page = event_page(
                &st,
                &ctx,
                &tc,
                Some(id),
                ef,
                e_errors,
                again.typed,
                again.errors,
            )
            .await?;
            Ok((again.status, render(&page)).into_response())
        },
    )
    .await
}

/// Cancel a session: registrations are closed; people already registered
/// stay listed (and can be called from the list).
pub async fn session_cancel(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let (e, s) = session_of(&st, &tc, &id).await?;
    let already = s.cancelled;
    store::cancel_session(&st.db, &tc.user.actor(), tc.territory.id, s.id).await?;
    if !already {
        super::notify::session_cancelled(&st, &tc.territory.slug, &e.title, s.starts_at, s.id)
            .await;
    }
    Ok(Redirect::to(&format!(
        "/admin/t/{}/evenements/{}",
        tc.territory.slug, e.id
    ))
    .into_response())
}

// ---------------------------------------------------------------- registrations

#[derive(Template)]
#[template(path = "agenda/registrations.html")]
struct RegistrationsPage {
    l: Layout,
    slug: String,
    csrf: String,
    session: SessionView,
    rows: Vec<Registration>,
    form: PhoneForm,
    errors: FormErrors,
    message: String,
}

#[derive(Deserialize, Default, Clone)]
pub struct PhoneForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    party_size: String,
    #[serde(default)]
    consent: Option<String>,
}

pub(super) async fn session_of(
    st: &AppState,
    tc: &TerritoryCtx,
    id: &str,
) -> Result<(Event, store::Session), AppError> {
    let id = id_of(id)?;
    let s = store::get_session(&st.db, id).await.map_err(not_found)?;
    let e = store::get_event(&st.db, tc.territory.id, s.event_id)
        .await
        .map_err(not_found)?;
    Ok((e, s))
}

/// May this account read the registrations (names, e-mails, phones) of
/// event `e`? The territory's coordinators and admins; a partner only when
/// the event's organiser is an organisation of the territory whose contact
/// person the partner's account is (names compared without case or
/// accents). Regional staff never reach here (`Access::Personal`).
pub(crate) async fn reads_registrations(
    st: &AppState,
    tc: &TerritoryCtx,
    e: &Event,
) -> Result<bool, AppError> {
    if tc.is_coordinator() {
        return Ok(true);
    }
    if tc.role != Some(crate::domain::roles::Role::Partner) || e.organiser.trim().is_empty() {
        return Ok(false);
    }
    let fold = |s: &str| crate::domain::text::fold_accents(s.trim());
    let organiser = fold(&e.organiser);
    Ok(crate::storage::partners::organisation_names_of_user(
        &st.db,
        tc.territory.id,
        tc.user.user.id,
    )
    .await?
    .iter()
    .any(|name| fold(name) == organiser))
}

/// The session and its event, when this account may read its registrations.
async fn registrations_of(
    st: &AppState,
    tc: &TerritoryCtx,
    id: &str,
) -> Result<(Event, store::Session), AppError> {
    let (e, s) = session_of(st, tc, id).await?;
    if !reads_registrations(st, tc, &e).await? {
        return Err(AppError::Forbidden);
    }
    Ok((e, s))
}

#[allow(clippy::too_many_arguments)]
async fn registrations_page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    e: &Event,
    s: &store::Session,
    form: PhoneForm,
    errors: FormErrors,
    message: String,
) -> Result<RegistrationsPage, AppError> {
    let places = places_map(st, tc.territory.id).await?;
    let s = store::get_session(&st.db, s.id).await?;
    Ok(RegistrationsPage {
        l: ctx.admin_layout("Inscriptions"),
        slug: tc.territory.slug.clone(),
        csrf: ctx.csrf(),
        session: session_view(e, &s, &places),
        rows: store::registrations(&st.db, s.id).await?,
        form: PhoneForm {
            party_size: if form.party_size.is_empty() {
                "1".into()
            } else {
                form.party_size.clone()
            },
            ..form
        },
        errors,
        message,
    })
}

pub async fn registrations(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let (e, s) = registrations_of(&st, &tc, &id).await?;
    Ok(render(
        &registrations_page(
            &st,
            &ctx,
            &tc,
            &e,
            &s,
            PhoneForm::default(),
            FormErrors::default(),
            String::new(),
        )
        .await?,
    ))
}

pub async fn phone_register(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Form(f): Form<PhoneForm>,
) -> Result<Response, AppError> {
    let (e, s) = registrations_of(&st, &tc, &id).await?;
    let mut errors = FormErrors::default();
    match NewRegistration::parse(
        &f.name,
        &f.email,
        &f.phone,
        &f.party_size,
        f.consent.is_some(),
    ) {
        Ok(r) => match store::register(&st.db, s.id, &r, None, &tc.user.user.email).await {
            Ok((reg, token)) => {
                if let Some(tok) = &token {
                    super::notify::registration(
                        &st,
                        &tc.territory.slug,
                        &e.title,
                        s.starts_at,
                        &reg,
                        tok,
                    );
                }
                // Not a redirect: the list is shown at once with the person's
                // status, and an empty form for the next call.
                let msg = format!(
                    "{} : inscription {}.",
                    reg.name,
                    reg.status().label().to_lowercase()
                );
                let page =
                    registrations_page(&st, &ctx, &tc, &e, &s, PhoneForm::default(), errors, msg)
                        .await?;
                return Ok(render(&page));
            }
            Err(RegisterError::Db(err)) => return Err(err.into()),
            Err(other) => errors.push("name", other.to_string()),
        },
        Err(list) => {
            for (k, m) in list {
                errors.push(k, m);
            }
        }
    }
    let page = registrations_page(&st, &ctx, &tc, &e, &s, f, errors, String::new()).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
}

#[derive(Deserialize, Default)]
pub struct AttendanceForm {
    #[serde(default)]
    attended: String,
}

pub async fn attendance(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
    Form(f): Form<AttendanceForm>,
) -> Result<Response, AppError> {
    let id = id_of(&id)?;
    let t = &tc.territory;
    // The registration must belong to a session of this territory.
    let session_id: Option<i64> = crate::db_run!(&st.db, pool => sqlx::query_as::<_, (i64,)>(
        "SELECT r.session_id FROM registrations r JOIN event_sessions s ON s.id = r.session_id \
         JOIN events e ON e.id = s.event_id WHERE r.id = $1 AND e.territory_id = $2",
    )
    .bind(id)
    .bind(t.id)
    .fetch_optional(pool)
    .await
    .map_err(DbError::from)?)
    .map(|r| r.0);
    let Some(session_id) = session_id else {
        return Err(AppError::NotFound);
    };
    registrations_of(&st, &tc, &session_id.to_string()).await?;
    match store::mark_attendance(&st.db, &tc.user.actor(), t.id, id, f.attended == "oui").await {
        Ok(()) | Err(DbError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&format!(
        "/admin/t/{}/seances/{}/inscriptions",
        t.slug, session_id
    ))
    .into_response())
}

fn export_rows(rows: &[Registration]) -> Vec<[String; 8]> {
    rows.iter()
        .map(|r| {
            [
                r.name.clone(),
                r.email.clone().unwrap_or_default(),
                r.phone.clone().unwrap_or_default(),
                r.party_size.to_string(),
                r.status().label().to_owned(),
                match r.attended {
                    Some(true) => "présent".into(),
                    Some(false) => "absent".into(),
                    None => String::new(),
                },
                r.registered_by.clone(),
                dates::paris_datetime(r.created_at),
            ]
        })
        .collect()
}

const EXPORT_HEADER: [&str; 8] = [
    "Nom",
    "E-mail",
    "Téléphone",
    "Personnes",
    "Statut",
    "Présence",
    "Inscrit par",
    "Date d’inscription",
];

pub async fn export_csv(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let (_, s) = registrations_of(&st, &tc, &id).await?;
    let rows = store::registrations(&st.db, s.id).await?;
    let mut w = crate::csv_export::CsvExport::new(b';');
    let io = |e: csv::Error| AppError::Internal(anyhow::anyhow!(e));
    w.row(EXPORT_HEADER).map_err(io)?;
    for r in export_rows(&rows) {
        w.row(&r).map_err(io)?;
    }
    let body = w.finish().map_err(io)?;
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"inscriptions-{}.csv\"", s.id),
            ),
        ],
        body,
    )
        .into_response())
}

pub async fn export_xlsx(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let (e, s) = registrations_of(&st, &tc, &id).await?;
    let rows = store::registrations(&st.db, s.id).await?;
    let x = |e: rust_xlsxwriter::XlsxError| AppError::Internal(anyhow::anyhow!(e.to_string()));
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Inscriptions").map_err(x)?;
    let title: String = e.title.chars().take(32_767).collect();
    sheet.write_string(0, 0, title).map_err(x)?;
    sheet
        .write_string(1, 0, dates::paris_datetime(s.starts_at))
        .map_err(x)?;
    for (c, h) in EXPORT_HEADER.iter().enumerate() {
        sheet.write_string(3, c as u16, *h).map_err(x)?;
    }
    for (i, r) in export_rows(&rows).iter().enumerate() {
        for (c, v) in r.iter().enumerate() {
            if c == 3 {
                sheet
                    .write_number(4 + i as u32, c as u16, v.parse::<f64>().unwrap_or(0.0))
                    .map_err(x)?;
            } else {
                // A cell holds at most 32,767 characters: rows stored before
                // the bounds existed must not make the export fail.
                let v: String = v.chars().take(32_767).collect();
                sheet.write_string(4 + i as u32, c as u16, v).map_err(x)?;
            }
        }
    }
    let body = book.save_to_buffer().map_err(x)?;
    Ok((
        [
            (
                CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"inscriptions-{}.xlsx\"", s.id),
            ),
        ],
        body,
    )
        .into_response())
}
