//! Slots in the back office (issue 16): the coordination sets a series'
//! slots and names its mediators; the coordination and those mediators see
//! the bookings of each date, book for someone by phone, and on the day
//! mark each booking present / absent / excused / cancelled and count the
//! people received without one, from a phone-sized page. No-show rates per
//! series (its page) and per commune (the coordination).

use super::*;
use crate::domain::agenda::slots::{self as rules, BookingStatus, NewBooking, SlotSettings};
use crate::domain::roles::Role;
use crate::storage::agenda::{BookError, SlotBooking, SlotConfig};
use crate::web::agenda::slots::{parse_slot_value, slot_label, when_label, Bookable};

/// How far back the bookings overview goes.
const PAST_DAYS: i64 = 28;
/// Walk-ins counted at one date, at most.
const MAX_WALK_INS: i64 = 500;

/// The coordination (and admins), or a partner named mediator of the series.
pub(crate) async fn sees_bookings(
    st: &AppState,
    tc: &TerritoryCtx,
    series_id: i64,
) -> Result<bool, AppError> {
    if tc.is_coordinator() {
        return Ok(true);
    }
    if tc.role != Some(Role::Partner) {
        return Ok(false);
    }
    Ok(store::is_series_mediator(&st.db, series_id, tc.user.user.id).await?)
}

/// The series of the path with what its booking pages need, once the
/// account may see its bookings (404 for an unknown series, then 403).
pub(super) async fn load_for_bookings(
    st: &AppState,
    tc: &TerritoryCtx,
    id: &str,
) -> Result<(Bookable, Option<SlotConfig>), AppError> {
    let t = &tc.territory;
    let id = id_of(id)?;
    let series = store::get_series(&st.db, t.id, id)
        .await
        .map_err(not_found)?;
    if !sees_bookings(st, tc, id).await? {
        return Err(AppError::Forbidden);
    }
    let schedule = series
        .schedule()
        .map_err(|e| AppError::Unprocessable(e.0))?;
    let exceptions = store::exceptions(&st.db, t.id)
        .await?
        .into_iter()
        .filter(|(sid, _)| *sid == id)
        .map(|(_, e)| e)
        .collect();
    let config = store::slot_config(&st.db, id).await?;
    Ok((
        Bookable {
            series,
            schedule,
            exceptions,
            settings: config
                .as_ref()
                .map(SlotConfig::settings)
                .unwrap_or_default(),
            places: store::list_places(&st.db, t.id).await?,
        },
        config,
    ))
}

/// (settings in words, no-show rate in words) for the series page.
pub(crate) async fn slots_summary(
    st: &AppState,
    territory_id: i64,
    series_id: i64,
) -> Result<(String, String), AppError> {
    let settings = match store::slot_config(&st.db, series_id).await? {
        Some(c) if c.enabled => format!(
            "activés, {} min, {} personne{} par créneau, de {} jours à {} h avant",
            c.slot_minutes,
            c.per_slot,
            if c.per_slot > 1 { "s" } else { "" },
            c.open_days_before,
            c.close_hours_before
        ),
        _ => "désactivés".into(),
    };
    let rates = store::no_show_by_series(&st.db, territory_id).await?;
    let no_show = rates.get(&series_id).copied().unwrap_or_default().label();
    Ok((settings, no_show))
}

// ---------------------------------------------------------------- settings

#[derive(Deserialize, Default)]
pub struct SlotSettingsForm {
    #[serde(default)]
    enabled: Option<String>,
    #[serde(default)]
    slot_minutes: String,
    #[serde(default)]
    per_slot: String,
    #[serde(default)]
    open_days_before: String,
    #[serde(default)]
    close_hours_before: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    mediator: Vec<String>,
}

impl SlotSettingsForm {
    fn of(c: Option<&SlotConfig>, mediators: &[i64]) -> SlotSettingsForm {
        let s = c.map(SlotConfig::settings).unwrap_or_default();
        SlotSettingsForm {
            enabled: c.filter(|c| c.enabled).map(|_| "oui".into()),
            slot_minutes: s.slot_minutes.to_string(),
            per_slot: s.per_slot.to_string(),
            open_days_before: s.open_days_before.to_string(),
            close_hours_before: s.close_hours_before.to_string(),
            version: c.map_or(0, |c| c.version).to_string(),
            mediator: mediators.iter().map(i64::to_string).collect(),
        }
    }
}

pub struct MediatorChoice {
    pub id: String,
    pub label: String,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "agenda/slot_settings.html")]
struct SettingsPage {
    l: Layout,
    slug: String,
    csrf: String,
    id: i64,
    title: String,
    form: SlotSettingsForm,
    errors: FormErrors,
    choices: Vec<MediatorChoice>,
}

async fn settings_page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    series: &Series,
    form: SlotSettingsForm,
    errors: FormErrors,
) -> Result<SettingsPage, AppError> {
    let members = crate::storage::users::territory_members(&st.db, tc.territory.id).await?;
    let choices = members
        .into_iter()
        .filter(|m| m.role == "partner" || m.role == "coordinator")
        .map(|m| MediatorChoice {
            checked: form.mediator.contains(&m.user_id.to_string()),
            id: m.user_id.to_string(),
            label: format!("{} ({})", m.display_name, m.email),
        })
        .collect();
    Ok(SettingsPage {
        l: ctx.admin_layout(format!("Créneaux : {}", series.title)),
        slug: tc.territory.slug.clone(),
        csrf: ctx.csrf(),
        id: series.id,
        title: series.title.clone(),
        form,
        errors,
        choices,
    })
}

pub async fn slot_settings(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let id = id_of(&id)?;
    let s = store::get_series(&st.db, tc.territory.id, id)
        .await
        .map_err(not_found)?;
    let config = store::slot_config(&st.db, id).await?;
    let mediators = store::series_mediators(&st.db, id).await?;
    let form = SlotSettingsForm::of(config.as_ref(), &mediators);
    Ok(render(
        &settings_page(&st, &ctx, &tc, &s, form, FormErrors::default()).await?,
    ))
}

pub async fn slot_settings_save(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
    axum_extra::extract::Form(f): axum_extra::extract::Form<SlotSettingsForm>,
) -> Result<Response, AppError> {
    let id = id_of(&id)?;
    let t = &tc.territory;
    let s = store::get_series(&st.db, t.id, id)
        .await
        .map_err(not_found)?;
    let mut errors = FormErrors::default();
    let settings = SlotSettings::parse(
        &f.slot_minutes,
        &f.per_slot,
        &f.open_days_before,
        &f.close_hours_before,
    )
    .unwrap_or_else(|list| {
        for (field, m) in list {
            errors.push(field, m);
        }
        SlotSettings::default()
    });
    let mut mediators = Vec::new();
    for m in &f.mediator {
        match m.parse::<i64>() {
            Ok(v) => mediators.push(v),
            Err(_) => errors.push("mediator", "Choisissez les médiateurs dans la liste."),
        }
    }
    let version = f.version.trim().parse::<i64>().unwrap_or(-1);
    if version < 0 {
        errors.push("slot_minutes", "Formulaire incomplet : rechargez la page.");
    }
    if errors.is_empty() {
        let actor = tc.user.actor();
        match store::set_series_mediators(&st.db, &actor, t.id, id, &mediators).await {
            Ok(()) => {}
            Err(DbError::Conflict(_)) => errors.push(
                "mediator",
                "Seuls les partenaires et la coordination du territoire peuvent être médiateurs.",
            ),
            Err(e) => return Err(e.into()),
        }
    }
    if errors.is_empty() {
        let saved = store::save_slot_config(
            &st.db,
            &tc.user.actor(),
            t.id,
            id,
            version,
            f.enabled.is_some(),
            &settings,
        )
        .await;
        match saved {
            Ok(_) => {
                return Ok(flash::see_other(
                    &format!("/admin/t/{}/permanences/{id}", t.slug),
                    "Créneaux et médiateurs enregistrés.",
                ))
            }
            Err(DbError::Stale) => {
                errors.push(
                    "slot_minutes",
                    "Quelqu’un a modifié ces réglages entre-temps : voici les valeurs enregistrées ; vos choix sont à refaire.",
                );
                let config = store::slot_config(&st.db, id).await?;
                let form = SlotSettingsForm::of(config.as_ref(), &mediators);
                let page = settings_page(&st, &ctx, &tc, &s, form, errors).await?;
                return Ok((StatusCode::CONFLICT, render(&page)).into_response());
            }
            Err(e) => return Err(e.into()),
        }
    }
    let page = settings_page(&st, &ctx, &tc, &s, f, errors).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
}

// ---------------------------------------------------------------- overview

pub struct DateLine {
    pub date: String,
    pub label: String,
    pub change: String,
    pub booked: i64,
    pub past: bool,
}

#[derive(Template)]
#[template(path = "agenda/slot_bookings.html")]
struct OverviewPage {
    l: Layout,
    slug: String,
    id: i64,
    title: String,
    enabled: bool,
    no_show: String,
    lines: Vec<DateLine>,
    coordinates: bool,
}

pub async fn bookings_overview(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let (b, config) = load_for_bookings(&st, &tc, &id).await?;
    let today = today_paris();
    let from = today - chrono::Duration::days(PAST_DAYS);
    let counts =
        store::booking_counts(&st.db, b.series.id, from - chrono::Duration::days(60)).await?;
    let lines = b
        .occurrences(from, today + chrono::Duration::days(rules::MAX_OPEN_DAYS))
        .into_iter()
        .map(|o| DateLine {
            date: store::fmt_date(o.original_date),
            label: dates::long_date_with_weekday(o.date),
            change: match o.status {
                OccurrenceStatus::Cancelled => "annulée".into(),
                OccurrenceStatus::Moved => "déplacée".into(),
                OccurrenceStatus::Scheduled => String::new(),
            },
            booked: counts
                .get(&store::fmt_date(o.original_date))
                .copied()
                .unwrap_or(0),
            past: o.date < today,
        })
        .collect();
    let rates = store::no_show_by_series(&st.db, tc.territory.id).await?;
    Ok(render(&OverviewPage {
        l: ctx.admin_layout(format!("Rendez-vous : {}", b.series.title)),
        slug: tc.territory.slug.clone(),
        id: b.series.id,
        title: b.series.title.clone(),
        enabled: config.is_some_and(|c| c.enabled),
        no_show: rates.get(&b.series.id).copied().unwrap_or_default().label(),
        lines,
        coordinates: tc.is_coordinator(),
    }))
}

// ---------------------------------------------------------------- one date

pub struct BookingLine {
    pub id: i64,
    pub slot: String,
    pub name: String,
    pub phone: String,
    pub phone_href: String,
    pub email: String,
    pub status: String,
    pub status_code: &'static str,
    pub by_phone: bool,
}

#[derive(Deserialize, Default)]
pub struct PhoneBookingForm {
    #[serde(default)]
    slot: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    consent: Option<String>,
    #[serde(default)]
    key: String,
}

#[derive(Template)]
#[template(path = "agenda/slot_day.html")]
struct DayPage {
    l: Layout,
    slug: String,
    csrf: String,
    id: i64,
    date: String,
    title: String,
    when: String,
    change: String,
    bookings: Vec<BookingLine>,
    walk_ins: i64,
    free: Vec<(String, String)>,
    form: PhoneBookingForm,
    errors: FormErrors,
    marks: Vec<(&'static str, &'static str)>,
    summary: String,
}

fn day_path(slug: &str, id: i64, date: &str) -> String {
    format!("/admin/t/{slug}/permanences/{id}/rendez-vous/{date}")
}

async fn day_page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    b: &Bookable,
    date: NaiveDate,
    form: PhoneBookingForm,
    errors: FormErrors,
) -> Result<DayPage, AppError> {
    let occ = rules::occurrence_of(&b.schedule, &b.exceptions, date).ok_or(AppError::NotFound)?;
    let list = store::occurrence_bookings(&st.db, b.series.id, date).await?;
    let walk_ins = store::walk_ins(&st.db, b.series.id, date).await?;
    let taken = |t: &str| {
        list.iter()
            .filter(|x| x.slot_start == t && x.status().holds_place())
            .count()
    };
    let now = chrono::Utc::now();
    let free = rules::slots(&occ, &b.settings)
        .into_iter()
        .filter(|at| rules::window_check(*at, now, &b.settings, true).is_ok())
        .filter_map(|at| {
            let key = store::fmt_time(at.time());
            let n = i64::try_from(taken(&key)).unwrap_or(i64::MAX);
            let left = rules::remaining(&b.settings, n);
            (left > 0).then(|| {
                (
                    format!("{}_{}", store::fmt_date(date), key),
                    format!(
                        "{} ({} libre{})",
                        slot_label(at.time()),
                        left,
                        if left > 1 { "s" } else { "" }
                    ),
                )
            })
        })
        .collect();
    let count = |s: BookingStatus| list.iter().filter(|x| x.status() == s).count();
    let summary = format!(
        "{} réservé{}, {} venu·e{}, {} absent·e{}, {} excusé·e{}, {} sans rendez-vous",
        count(BookingStatus::Booked),
        if count(BookingStatus::Booked) > 1 {
            "s"
        } else {
            ""
        },
        count(BookingStatus::Present),
        if count(BookingStatus::Present) > 1 {
            "s"
        } else {
            ""
        },
        count(BookingStatus::Absent),
        if count(BookingStatus::Absent) > 1 {
            "s"
        } else {
            ""
        },
        count(BookingStatus::Excused),
        if count(BookingStatus::Excused) > 1 {
            "s"
        } else {
            ""
        },
        walk_ins
    );
    let bookings = list
        .iter()
        .map(|x: &SlotBooking| {
            let phone = x
                .phone
                .as_deref()
                .map(rules::phone_display)
                .unwrap_or_default();
            BookingLine {
                id: x.id,
                slot: store::parse_time(&x.slot_start)
                    .map(slot_label)
                    .unwrap_or_else(|| x.slot_start.clone()),
                name: x.name.clone(),
                phone_href: x.phone.clone().unwrap_or_default(),
                phone,
                email: x.email.clone().unwrap_or_default(),
                status: x.status().label().into(),
                status_code: x.status().as_str(),
                by_phone: x.booked_by.is_some(),
            }
        })
        .collect();
    Ok(DayPage {
        l: ctx.admin_layout(format!("Rendez-vous du {}", dates::short_date(occ.date))),
        slug: tc.territory.slug.clone(),
        csrf: ctx.csrf(),
        id: b.series.id,
        date: store::fmt_date(date),
        title: b.series.title.clone(),
        when: {
            let w = when_label(occ.start, b.place_of(&occ));
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or(w)
        },
        change: match occ.status {
            OccurrenceStatus::Cancelled => "Permanence annulée.".into(),
            OccurrenceStatus::Moved => "Permanence déplacée.".into(),
            OccurrenceStatus::Scheduled => String::new(),
        },
        bookings,
        walk_ins,
        free,
        form: PhoneBookingForm {
            key: if form.key.trim().is_empty() {
                crate::tokens::random_token()
            } else {
                form.key.clone()
            },
            ..form
        },
        errors,
        marks: BookingStatus::MARKS
            .iter()
            .map(|m| (m.as_str(), m.label()))
            .collect(),
        summary,
    })
}

pub(super) fn date_of(s: &str) -> Result<NaiveDate, AppError> {
    parse_date(s).ok_or(AppError::NotFound)
}

pub async fn occurrence_day(
    State(st): State<AppState>,
    Path((_, id, date)): Path<(String, String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let (b, _) = load_for_bookings(&st, &tc, &id).await?;
    let date = date_of(&date)?;
    Ok(render(
        &day_page(
            &st,
            &ctx,
            &tc,
            &b,
            date,
            PhoneBookingForm::default(),
            FormErrors::default(),
        )
        .await?,
    ))
}

pub async fn phone_book(
    State(st): State<AppState>,
    Path((_, id, date)): Path<(String, String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Form(f): Form<PhoneBookingForm>,
) -> Result<Response, AppError> {
    let (b, config) = load_for_bookings(&st, &tc, &id).await?;
    let date = date_of(&date)?;
    let mut errors = FormErrors::default();
    if !config.as_ref().is_some_and(|c| c.enabled) {
        errors.push("slot", rules::Refusal::Off.to_string());
    }
    let slot = parse_slot_value(&f.slot).filter(|(d, _)| *d == date);
    if slot.is_none() {
        errors.push("slot", "Choisissez un créneau.");
    }
    let who = match NewBooking::parse(&f.name, &f.phone, &f.email, f.consent.is_some()) {
        Ok(w) => Some(w),
        Err(list) => {
            for (field, m) in list {
                errors.push(field, m);
            }
            None
        }
    };
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    if let (Some((_, start)), Some(who), true) = (slot, &who, errors.is_empty()) {
        let key = (!f.key.trim().is_empty()).then(|| f.key.trim().to_owned());
        match store::book_slot(
            &st.db,
            tc.territory.id,
            b.series.id,
            date,
            start,
            who,
            key.as_deref(),
            Some(tc.user.user.id),
            chrono::Utc::now(),
        )
        .await
        {
            Ok((booking, token)) => {
                if let (Some(tok), Some((o, at))) =
                    (&token, crate::web::agenda::slots::booking_at(&b, &booking))
                {
                    super::super::notify::slot_booked(
                        &st,
                        &tc.territory.slug,
                        &b.series.title,
                        at,
                        b.place_of(&o),
                        &booking,
                        tok,
                    );
                }
                return Ok(flash::see_other(
                    &day_path(&tc.territory.slug, b.series.id, &store::fmt_date(date)),
                    &format!("Rendez-vous réservé pour {}.", booking.name),
                ));
            }
            Err(BookError::Db(e)) => return Err(e.into()),
            Err(BookError::Refused(r)) => {
                if r == rules::Refusal::Full {
                    status = StatusCode::CONFLICT;
                }
                errors.push("slot", r.to_string());
            }
        }
    }
    let page = day_page(&st, &ctx, &tc, &b, date, f, errors).await?;
    Ok((status, render(&page)).into_response())
}

#[derive(Deserialize, Default)]
pub struct CheckInForm {
    #[serde(default)]
    booking_id: String,
    #[serde(default)]
    status: String,
}

pub async fn check_in(
    State(st): State<AppState>,
    Path((_, id, date)): Path<(String, String, String)>,
    tc: TerritoryCtx,
    Form(f): Form<CheckInForm>,
) -> Result<Response, AppError> {
    let (b, _) = load_for_bookings(&st, &tc, &id).await?;
    let date = date_of(&date)?;
    let status = BookingStatus::parse(&f.status)
        .filter(|s| BookingStatus::MARKS.contains(s))
        .ok_or_else(|| {
            AppError::Unprocessable("Choisissez venu·e, absent·e, excusé·e ou annulé.".into())
        })?;
    let booking_id: i64 = f
        .booking_id
        .trim()
        .parse()
        .map_err(|_| AppError::NotFound)?;
    let booking = store::get_booking(&st.db, b.series.id, booking_id)
        .await
        .map_err(not_found)?;
    if booking.occurrence_date != store::fmt_date(date) {
        return Err(AppError::NotFound);
    }
    let saved = store::set_booking_status(
        &st.db,
        &tc.user.actor(),
        tc.territory.id,
        b.series.id,
        booking_id,
        status,
    )
    .await?;
    if status == BookingStatus::Cancelled {
        super::super::notify::withdraw_booking_reminders(&st, booking_id).await;
    }
    Ok(flash::see_other(
        &format!(
            "{}#rdv-{}",
            day_path(&tc.territory.slug, b.series.id, &store::fmt_date(date)),
            booking_id
        ),
        &format!("{} : {}.", saved.name, status.label()),
    ))
}

#[derive(Deserialize, Default)]
pub struct WalkInsForm {
    #[serde(default)]
    walk_ins: String,
}

pub async fn walk_ins_save(
    State(st): State<AppState>,
    Path((_, id, date)): Path<(String, String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Form(f): Form<WalkInsForm>,
) -> Result<Response, AppError> {
    let (b, _) = load_for_bookings(&st, &tc, &id).await?;
    let date = date_of(&date)?;
    let occ = rules::occurrence_of(&b.schedule, &b.exceptions, date).ok_or(AppError::NotFound)?;
    let mut errors = FormErrors::default();
    let n = match f.walk_ins.trim().parse::<i64>() {
        Ok(n) if (0..=MAX_WALK_INS).contains(&n) => n,
        _ => {
            errors.push(
                "walk_ins",
                format!("Personnes sans rendez-vous : un nombre de 0 à {MAX_WALK_INS}."),
            );
            0
        }
    };
    if occ.status == OccurrenceStatus::Cancelled {
        errors.push("walk_ins", "Cette permanence est annulée.");
    } else if occ.date > today_paris() {
        errors.push(
            "walk_ins",
            "Les personnes sans rendez-vous se comptent le jour de la permanence.",
        );
    }
    if !errors.is_empty() {
        let page = day_page(
            &st,
            &ctx,
            &tc,
            &b,
            date,
            PhoneBookingForm::default(),
            errors,
        )
        .await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response());
    }
    store::set_walk_ins(
        &st.db,
        &tc.user.actor(),
        tc.territory.id,
        b.series.id,
        date,
        n,
    )
    .await?;
    Ok(flash::see_other(
        &day_path(&tc.territory.slug, b.series.id, &store::fmt_date(date)),
        &format!("{n} personne(s) sans rendez-vous enregistrée(s)."),
    ))
}

// ---------------------------------------------------------------- rates

#[derive(Template)]
#[template(path = "agenda/no_show.html")]
struct RatesPage {
    l: Layout,
    slug: String,
    communes: Vec<(String, String)>,
    series: Vec<(i64, String, String)>,
}

pub async fn no_show_rates(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let communes = store::no_show_by_commune(&st.db, t.id)
        .await?
        .into_iter()
        .map(|(c, n)| (c, n.label()))
        .collect();
    let by_series = store::no_show_by_series(&st.db, t.id).await?;
    let series = store::list_series(&st.db, t.id)
        .await?
        .into_iter()
        .filter_map(|s| {
            by_series
                .get(&s.id)
                .map(|n| (s.id, s.title.clone(), n.label()))
        })
        .collect();
    Ok(render(&RatesPage {
        l: ctx.admin_layout("Taux d’absence aux rendez-vous"),
        slug: t.slug.clone(),
        communes,
        series,
    }))
}
