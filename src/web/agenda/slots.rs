//! Public booking of a slot at a drop-in (issue 16): the series' page lists
//! each coming date's free slots and a short form books one; the
//! confirmation page and e-mail carry a cancel link. Bookings are read
//! fresh (never from the schedule cache).

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use chrono::{Duration, NaiveDate, NaiveTime, Utc};
use serde::Deserialize;

use super::today_paris;
use crate::domain::agenda::recurrence::{self, Exception, Occurrence, OccurrenceStatus};
use crate::domain::agenda::slots::{self as rules, NewBooking, SlotSettings};
use crate::domain::dates;
use crate::storage::agenda::{self as store, BookError, Place, Series, SlotBooking};
use crate::storage::territories::Territory;
use crate::storage::DbError;
use crate::web::error::AppError;
use crate::web::pages::{render, Ctx, FormErrors, Layout};
use crate::web::public::load_public_territory;
use crate::web::AppState;

/// A series with slots on, its schedule, exceptions and places.
pub(super) struct Bookable {
    pub series: Series,
    pub schedule: recurrence::Schedule,
    pub exceptions: Vec<Exception>,
    pub settings: SlotSettings,
    pub places: Vec<Place>,
}

impl Bookable {
    /// The series of the territory, with its slots on (`NotFound` otherwise,
    /// `Ok(None)` when the series exists but takes no booking).
    pub async fn load(
        st: &AppState,
        territory_id: i64,
        id: i64,
    ) -> Result<(Series, Option<Bookable>), AppError> {
        let series = match store::get_series(&st.db, territory_id, id).await {
            Ok(s) => s,
            Err(DbError::NotFound) => return Err(AppError::NotFound),
            Err(e) => return Err(e.into()),
        };
        let config = store::slot_config(&st.db, id).await?;
        let schedule = series
            .schedule()
            .map_err(|e| AppError::Unprocessable(e.0))?;
        let exceptions = store::exceptions(&st.db, territory_id)
            .await?
            .into_iter()
            .filter(|(sid, _)| *sid == id)
            .map(|(_, e)| e)
            .collect();
        let places = store::list_places(&st.db, territory_id).await?;
        let settings = config.as_ref().map(store::SlotConfig::settings);
        let enabled = config.is_some_and(|c| c.enabled);
        let b = settings.filter(|_| enabled).map(|settings| Bookable {
            series: series.clone(),
            schedule,
            exceptions,
            settings,
            places,
        });
        Ok((series, b))
    }

    pub fn place_of(&self, o: &Occurrence) -> Option<&Place> {
        let id = o.place_id.unwrap_or(self.series.place_id);
        self.places.iter().find(|p| p.id == id)
    }

    /// Occurrences from `from` to `to` (moved ones by their new date).
    pub fn occurrences(&self, from: NaiveDate, to: NaiveDate) -> Vec<Occurrence> {
        recurrence::expand(&self.schedule, &self.exceptions, from, to)
    }
}

/// « 14 h 20 ».
pub fn slot_label(t: NaiveTime) -> String {
    recurrence::short_time(t)
}

/// « lundi 12 octobre 2026 à 14 h 20, Centre social (Lens) ».
pub fn when_label(at: chrono::NaiveDateTime, place: Option<&Place>) -> String {
    let mut s = format!(
        "{} à {}",
        dates::long_date_with_weekday(at.date()),
        slot_label(at.time())
    );
    if let Some(p) = place {
        s.push_str(&format!(", {} ({})", p.name, p.commune_name));
    }
    s
}

pub struct FreeSlot {
    /// `AAAA-MM-JJ_HH:MM`: the date the rule gives and the slot's start.
    pub value: String,
    pub label: String,
    pub id: String,
}

pub struct DateSlots {
    pub label: String,
    pub iso: String,
    pub place: String,
    /// « annulée », « déplacée », or empty.
    pub change: String,
    pub note: String,
    pub free: Vec<FreeSlot>,
    /// Every slot is taken.
    pub full: bool,
}

#[derive(Deserialize, Default)]
pub struct BookingForm {
    #[serde(default)]
    pub slot: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub consent: Option<String>,
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub site_web: String,
    #[serde(default, rename = "_t")]
    pub t: String,
}

/// `AAAA-MM-JJ_HH:MM` → (date the rule gives, slot start).
pub fn parse_slot_value(v: &str) -> Option<(NaiveDate, NaiveTime)> {
    let (d, t) = v.trim().split_once('_')?;
    Some((store::parse_date(d)?, store::parse_time(t)?))
}

#[derive(Template)]
#[template(path = "agenda/slots.html")]
struct SlotsPage {
    l: Layout,
    slug: String,
    title: String,
    place: String,
    rhythm: String,
    window: String,
    path: String,
    csrf: String,
    stamp: String,
    dates: Vec<DateSlots>,
    any_free: bool,
    form: BookingForm,
    errors: FormErrors,
    contact_phone: String,
}

/// The coming dates of a bookable series with their free slots.
pub(super) async fn date_slots(
    st: &AppState,
    b: &Bookable,
    staff: bool,
) -> Result<Vec<DateSlots>, AppError> {
    let today = today_paris();
    let now = Utc::now();
    let horizon = if staff {
        today + Duration::days(rules::MAX_OPEN_DAYS)
    } else {
        rules::horizon(today, &b.settings)
    };
    let taken = store::taken_slots(&st.db, b.series.id, today - Duration::days(60)).await?;
    let mut out = Vec::new();
    for o in b.occurrences(today, horizon) {
        let place = b
            .place_of(&o)
            .map(|p| format!("{} ({})", p.name, p.commune_name))
            .unwrap_or_default();
        let date_key = store::fmt_date(o.original_date);
        let all = rules::slots(&o, &b.settings);
        let mut free = Vec::new();
        let mut full = !all.is_empty();
        for at in &all {
            let n = taken
                .get(&(date_key.clone(), store::fmt_time(at.time())))
                .copied()
                .unwrap_or(0);
            let left = rules::remaining(&b.settings, n);
            if left > 0 {
                full = false;
            }
            if left == 0 || rules::window_check(*at, now, &b.settings, staff).is_err() {
                continue;
            }
            let value = format!("{}_{}", date_key, store::fmt_time(at.time()));
            free.push(FreeSlot {
                id: format!("slot-{}", value.replace([':', '_'], "-")),
                label: if b.settings.per_slot > 1 {
                    format!(
                        "{} ({} place{})",
                        slot_label(at.time()),
                        left,
                        if left > 1 { "s" } else { "" }
                    )
                } else {
                    slot_label(at.time())
                },
                value,
            });
        }
        out.push(DateSlots {
            label: dates::long_date_with_weekday(o.date),
            iso: store::fmt_date(o.date),
            place,
            change: match o.status {
                OccurrenceStatus::Cancelled => "annulée".into(),
                OccurrenceStatus::Moved => "déplacée".into(),
                OccurrenceStatus::Scheduled => String::new(),
            },
            note: o.note.clone(),
            free,
            full,
        });
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
async fn slots_response(
    st: &AppState,
    ctx: &Ctx,
    t: &Territory,
    b: &Bookable,
    form: BookingForm,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let dates = date_slots(st, b, false).await?;
    let any_free = dates.iter().any(|d| !d.free.is_empty());
    let place = b
        .places
        .iter()
        .find(|p| p.id == b.series.place_id)
        .map(|p| format!("{}, {}, {}", p.name, p.address, p.commune_name))
        .unwrap_or_default();
    let form = BookingForm {
        key: if form.key.trim().is_empty() {
            crate::tokens::random_token()
        } else {
            form.key
        },
        ..form
    };
    let page = SlotsPage {
        l: ctx.public_layout(
            format!("Prendre rendez-vous : {}", b.series.title),
            &t.slug,
            &t.name,
        ),
        slug: t.slug.clone(),
        title: b.series.title.clone(),
        place,
        rhythm: format!(
            "{}, {}",
            recurrence::describe(&b.schedule),
            recurrence::describe_period(&b.schedule)
        ),
        window: format!(
            "Les créneaux durent {} minutes. On réserve jusqu’à {} jours à l’avance{}.",
            b.settings.slot_minutes,
            b.settings.open_days_before,
            if b.settings.close_hours_before > 0 {
                format!(
                    " et au plus tard {} heure{} avant",
                    b.settings.close_hours_before,
                    if b.settings.close_hours_before > 1 {
                        "s"
                    } else {
                        ""
                    }
                )
            } else {
                String::new()
            }
        ),
        path: format!("/t/{}/permanences/{}/rendez-vous", t.slug, b.series.id),
        csrf: ctx.csrf(),
        stamp: crate::web::participation::antispam::stamp(st),
        dates,
        any_free,
        form,
        errors,
        contact_phone: t.contact_phone.clone(),
    };
    Ok((status, render(&page)).into_response())
}

pub async fn page(
    State(st): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let t = load_public_territory(&st, &slug).await?;
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let (_, b) = Bookable::load(&st, t.id, id).await?;
    let b = b.ok_or(AppError::NotFound)?;
    slots_response(
        &st,
        &ctx,
        &t,
        &b,
        BookingForm::default(),
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

#[derive(Template)]
#[template(path = "agenda/slot_message.html")]
struct MessagePage {
    l: Layout,
    heading: String,
    paragraphs: Vec<String>,
    link: Option<(String, String)>,
    cancel_form: Option<String>,
    csrf: String,
    back: (String, String),
}

pub async fn book(
    State(st): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ctx: Ctx,
    Form(form): Form<BookingForm>,
) -> Result<Response, AppError> {
    let t = load_public_territory(&st, &slug).await?;
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let (_, b) = Bookable::load(&st, t.id, id).await?;
    let b = b.ok_or(AppError::NotFound)?;
    let mut errors = FormErrors::default();
    let slot = parse_slot_value(&form.slot);
    if slot.is_none() {
        errors.push("slot", "Choisissez un créneau.");
    }
    let who = match NewBooking::parse(&form.name, &form.phone, &form.email, form.consent.is_some())
    {
        Ok(w) => Some(w),
        Err(list) => {
            for (f, m) in list {
                errors.push(f, m);
            }
            None
        }
    };
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    if errors.is_empty() {
        use crate::web::participation::antispam::{self, Verdict};
        let v = antispam::check(
            &st,
            peer,
            &headers,
            &form.site_web,
            &form.t,
            "slot_booking",
            antispam::REGISTRATION_LIMIT,
        )
        .await?;
        if v != Verdict::Ok {
            errors.push("name", v.message());
            if v == Verdict::TooMany {
                status = StatusCode::TOO_MANY_REQUESTS;
            }
        }
    }
    if let (Some((date, start)), Some(who), true) = (slot, &who, errors.is_empty()) {
        let key = (!form.key.trim().is_empty()).then(|| form.key.trim().to_owned());
        match store::book_slot(
            &st.db,
            t.id,
            b.series.id,
            date,
            start,
            who,
            key.as_deref(),
            None,
            Utc::now(),
        )
        .await
        {
            Ok((booking, token)) => {
                return confirmation(&st, &ctx, &t, &b, &booking, token);
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
    slots_response(&st, &ctx, &t, &b, form, errors, status).await
}

fn confirmation(
    st: &AppState,
    ctx: &Ctx,
    t: &Territory,
    b: &Bookable,
    booking: &SlotBooking,
    token: Option<String>,
) -> Result<Response, AppError> {
    let at = booking_at(b, booking);
    let place = at.as_ref().and_then(|(o, _)| b.place_of(o));
    let when = at
        .as_ref()
        .map(|(_, at)| when_label(*at, place))
        .unwrap_or_default();
    let mut paragraphs = vec![format!(
        "Votre rendez-vous est réservé : {when}, « {} ».",
        b.series.title
    )];
    if let Some(p) = place {
        if !p.access_notes.is_empty() {
            paragraphs.push(format!("Accès : {}.", p.access_notes));
        }
    }
    paragraphs.push(match (&booking.email, &st.mailer) {
        (None, _) => "Vous n’avez pas laissé d’adresse e-mail : aucun courriel ne vous sera envoyé. Notez la date et l’heure ; en cas de changement, l’équipe vous appellera au numéro laissé.".into(),
        (Some(_), None) => "Ce site n’envoie pas de courriel pour le moment : notez la date et l’heure, et gardez le lien ci-dessous.".into(),
        (Some(addr), Some(_)) => format!("Une confirmation part à l’adresse {addr}."),
    });
    let link = match &token {
        Some(tok) => {
            if let Some((_, at)) = &at {
                super::notify::slot_booked(st, &t.slug, &b.series.title, *at, place, booking, tok);
            }
            paragraphs.push("Gardez ce lien : il permet d’annuler le rendez-vous et de libérer le créneau pour quelqu’un d’autre.".into());
            let href = format!("/t/{}/rendez-vous/{}", t.slug, tok);
            Some((
                href.clone(),
                format!("{}{}", st.config.public_url.trim_end_matches('/'), href),
            ))
        }
        None => {
            paragraphs.push("Ce formulaire avait déjà été envoyé : votre rendez-vous n’a été enregistré qu’une fois.".into());
            None
        }
    };
    Ok(render(&MessagePage {
        l: ctx.public_layout("Rendez-vous réservé", &t.slug, &t.name),
        heading: "Rendez-vous réservé".into(),
        paragraphs,
        link,
        cancel_form: None,
        csrf: String::new(),
        back: (
            format!("/t/{}/permanences", t.slug),
            "Retour aux permanences".into(),
        ),
    }))
}

/// The occurrence of a booking and the slot's date and time (Paris).
pub(super) fn booking_at(
    b: &Bookable,
    booking: &SlotBooking,
) -> Option<(Occurrence, chrono::NaiveDateTime)> {
    let date = store::parse_date(&booking.occurrence_date)?;
    let start = store::parse_time(&booking.slot_start)?;
    let o = rules::occurrence_of(&b.schedule, &b.exceptions, date)?;
    let at = o.date.and_time(start);
    Some((o, at))
}

async fn by_token(
    st: &AppState,
    slug: &str,
    token: &str,
) -> Result<(Territory, Bookable, SlotBooking), AppError> {
    let t = load_public_territory(st, slug).await?;
    let booking = match store::booking_by_token(&st.db, token).await {
        Ok(b) => b,
        Err(DbError::NotFound) => return Err(AppError::NotFound),
        Err(e) => return Err(e.into()),
    };
    let series = match store::get_series(&st.db, t.id, booking.series_id).await {
        Ok(s) => s,
        Err(DbError::NotFound) => return Err(AppError::NotFound),
        Err(e) => return Err(e.into()),
    };
    let schedule = series
        .schedule()
        .map_err(|e| AppError::Unprocessable(e.0))?;
    let exceptions = store::exceptions(&st.db, t.id)
        .await?
        .into_iter()
        .filter(|(sid, _)| *sid == series.id)
        .map(|(_, e)| e)
        .collect();
    let places = store::list_places(&st.db, t.id).await?;
    let settings = store::slot_config(&st.db, series.id)
        .await?
        .map(|c| c.settings())
        .unwrap_or_default();
    Ok((
        t,
        Bookable {
            series,
            schedule,
            exceptions,
            settings,
            places,
        },
        booking,
    ))
}

pub async fn cancel_form(
    State(st): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let (t, b, booking) = by_token(&st, &slug, &token).await?;
    let at = booking_at(&b, &booking);
    let when = at
        .as_ref()
        .map(|(o, at)| when_label(*at, b.place_of(o)))
        .unwrap_or_default();
    let (heading, paragraphs, cancel_form) = match booking.status() {
        rules::BookingStatus::Booked => (
            "Annuler mon rendez-vous".to_owned(),
            vec![format!(
                "Rendez-vous de {} : {when}, « {} ».",
                booking.name, b.series.title
            )],
            Some(format!("/t/{}/rendez-vous/{}", t.slug, token)),
        ),
        rules::BookingStatus::Cancelled => (
            "Rendez-vous annulé".to_owned(),
            vec![format!("Ce rendez-vous est annulé : {when}.")],
            None,
        ),
        _ => (
            "Rendez-vous passé".to_owned(),
            vec![format!("Ce rendez-vous a eu lieu : {when}.")],
            None,
        ),
    };
    Ok(crate::web::referrals::personal(render(&MessagePage {
        l: ctx.public_layout("Mon rendez-vous", &t.slug, &t.name),
        heading,
        paragraphs,
        link: None,
        cancel_form,
        csrf: ctx.csrf(),
        back: (
            format!("/t/{}/permanences", t.slug),
            "Voir les permanences".into(),
        ),
    })))
}

pub async fn cancel(
    State(st): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let (t, b, _) = by_token(&st, &slug, &token).await?;
    let booking = store::cancel_booking_by_token(&st.db, &token).await?;
    super::notify::withdraw_booking_reminders(&st, booking.id).await;
    let when = booking_at(&b, &booking)
        .map(|(o, at)| when_label(at, b.place_of(&o)))
        .unwrap_or_default();
    let paragraphs = if booking.status() == rules::BookingStatus::Cancelled {
        vec![format!(
            "Votre rendez-vous du {when} est annulé. Merci d’avoir libéré le créneau."
        )]
    } else {
        vec![format!(
            "Ce rendez-vous ne peut plus être annulé en ligne : {when}."
        )]
    };
    Ok(render(&MessagePage {
        l: ctx.public_layout("Rendez-vous annulé", &t.slug, &t.name),
        heading: "Rendez-vous annulé".into(),
        paragraphs,
        link: None,
        cancel_form: None,
        csrf: String::new(),
        back: (
            format!("/t/{}/permanences/{}/rendez-vous", t.slug, b.series.id),
            "Reprendre un rendez-vous".into(),
        ),
    }))
}
