//! Notices of the agenda by e-mail and SMS (confirmation, place freed from
//! the waiting list, reminder, change, cancellation; for registrations and
//! slot bookings) and the periodic housekeeping (reminders, retention
//! purge). Every notice goes through the outbox (`messaging`), which sends
//! it and keeps its receipt; queueing never blocks a page.

use chrono::{DateTime, Duration, Utc};

use crate::domain::messages::Channel;
use crate::domain::{dates, phone};
use crate::storage::agenda::{self as store, Registration};
use crate::storage::messages;
use crate::web::AppState;

/// Queue an e-mail notice in the outbox (`messaging`), which sends it at
/// once through the SMTP relay and keeps its receipt for the coordination;
/// `key` names the notice, so that it is queued once. Nothing without a
/// relay.
fn spawn_send(
    st: &AppState,
    slug: &str,
    purpose: &'static str,
    key: String,
    to: String,
    subject: String,
    body: String,
) {
    if st.mailer.is_none() {
        return;
    }
    let (st, slug) = (st.clone(), slug.to_owned());
    tokio::spawn(async move {
        let territory_id = crate::storage::territories::get_by_slug(&st.db, &slug)
            .await
            .ok()
            .flatten()
            .map(|t| t.id);
        queue_mail(&st, territory_id, purpose, key, to, subject, body).await;
    });
}

async fn queue_mail(
    st: &AppState,
    territory_id: Option<i64>,
    purpose: &str,
    key: String,
    to: String,
    subject: String,
    body: String,
) -> bool {
    let m = messages::NewMessage {
        territory_id,
        channel: Channel::Email,
        recipient: to,
        subject,
        body,
        purpose: purpose.to_owned(),
        dedupe_key: key,
        not_before: Utc::now(),
    };
    match messages::enqueue(&st.db, &m).await {
        Ok(q) => {
            st.outbox.wake();
            matches!(q, messages::Queued::Yes(_))
        }
        Err(e) => {
            tracing::warn!(error = %e, "courriel non mis en file");
            false
        }
    }
}

fn base(st: &AppState) -> String {
    st.config.public_url.trim_end_matches('/').to_owned()
}

/// After a registration: what happened, and the cancel link.
pub fn registration(
    st: &AppState,
    slug: &str,
    title: &str,
    starts_at: DateTime<Utc>,
    reg: &Registration,
    token: &str,
) {
    registration_sms(st, slug, title, starts_at, reg, token);
    let Some(to) = reg.email.clone() else { return };
    let waiting = reg.status == "waiting";
    let subject = if waiting {
        format!("Liste d’attente : {title}")
    } else {
        format!("Inscription confirmée : {title}")
    };
    let body = format!(
        "Bonjour {},\n\n{}\n\n{} — {}\n\nPour annuler et libérer la place : {}/t/{}/inscriptions/{}\n\nCe message est envoyé automatiquement ; vos coordonnées sont supprimées après l’événement.\n",
        reg.name,
        if waiting {
            "La séance est complète : vous êtes sur la liste d’attente. Nous vous écrirons si une place se libère."
        } else {
            "Votre inscription est confirmée."
        },
        title,
        dates::paris_datetime(starts_at),
        base(st),
        slug,
        token
    );
    let key = format!("confirmation:email:registration:{}", reg.id);
    spawn_send(st, slug, "confirmation", key, to, subject, body);
}

/// People promoted from the waiting list after a cancellation.
pub async fn promoted(
    st: &AppState,
    slug: &str,
    title: &str,
    starts_at: DateTime<Utc>,
    ids: &[i64],
) {
    promoted_sms(st, slug, title, starts_at, ids).await;
    for id in ids {
        let Ok(reg) = store::get_registration(&st.db, *id).await else {
            continue;
        };
        let Some(to) = reg.email.clone() else {
            continue;
        };
        let body = format!(
            "Bonjour {},\n\nUne place s’est libérée : votre inscription est confirmée.\n\n{} — {}\n{}/t/{}/agenda\n",
            reg.name,
            title,
            dates::paris_datetime(starts_at),
            base(st),
            slug
        );
        let key = format!("promoted:email:registration:{id}");
        spawn_send(
            st,
            slug,
            "waiting-list",
            key,
            to,
            format!("Place confirmée : {title}"),
            body,
        );
    }
}

/// A cancelled session: everyone registered or waiting is told.
pub async fn session_cancelled(
    st: &AppState,
    slug: &str,
    title: &str,
    starts_at: DateTime<Utc>,
    session_id: i64,
) {
    session_changed_sms(st, slug, title, session_id, None).await;
    let Ok(regs) = store::registrations(&st.db, session_id).await else {
        return;
    };
    for reg in regs {
        if reg.status == "cancelled" {
            continue;
        }
        let Some(to) = reg.email.clone() else {
            continue;
        };
        let body = format!(
            "Bonjour {},\n\nNous sommes désolés : la séance suivante est annulée.\n\n{} — {}\n\nLes autres dates sont dans l’agenda : {}/t/{}/agenda\n",
            reg.name,
            title,
            dates::paris_datetime(starts_at),
            base(st),
            slug
        );
        let key = format!("cancellation:email:registration:{}", reg.id);
        spawn_send(
            st,
            slug,
            "cancellation",
            key,
            to,
            format!("Séance annulée : {title}"),
            body,
        );
    }
}

/// Queue the e-mail reminders due at `now` and purge old registrations.
/// Returns (reminders queued, registrations purged).
pub async fn housekeeping(st: &AppState, now: DateTime<Utc>) -> anyhow::Result<(usize, u64)> {
    let mut sent = 0;
    if st.mailer.is_some() {
        let due =
            store::due_reminders(&st.db, now, now + Duration::hours(st.config.reminder_hours))
                .await?;
        for r in due {
            if !store::mark_reminded(&st.db, r.registration_id, now).await? {
                continue;
            }
            let body = format!(
                "Bonjour {},\n\nPetit rappel : vous êtes inscrit·e à « {} », {}.\n\n{}/t/{}/evenements/{}\n\nSi vous ne pouvez plus venir, le lien d’annulation reçu à l’inscription libère la place pour quelqu’un d’autre.\n",
                r.name,
                r.title,
                dates::paris_datetime(r.starts_at),
                base(st),
                r.territory_slug,
                r.event_id
            );
            let territory_id = crate::storage::territories::get_by_slug(&st.db, &r.territory_slug)
                .await?
                .map(|t| t.id);
            let key = format!("reminder:email:registration:{}", r.registration_id);
            let subject = format!("Rappel : {}", r.title);
            if queue_mail(st, territory_id, "reminder", key, r.email, subject, body).await {
                sent += 1;
            }
        }
    }
    let purged = store::purge_registrations(
        &st.db,
        now - Duration::days(st.config.registration_retention_days),
    )
    .await?;
    // Slot bookings: the same retention, counted from the date.
    let before = now.with_timezone(&chrono_tz::Europe::Paris).date_naive()
        - Duration::days(st.config.registration_retention_days);
    let erased = store::purge_slot_bookings(&st.db, before).await?;
    if erased > 0 {
        tracing::info!(erased, "rendez-vous effacés (durée de conservation)");
    }
    // Slot bookings' reminders that a background task missed.
    // (Its failure, like the referrals', is logged and does not stop the
    // purges that follow.)
    match queue_booking_reminders(st, now).await {
        Ok(0) => {}
        Ok(caught) => tracing::info!(caught, "rappels de rendez-vous rattrapés"),
        Err(e) => tracing::warn!(error = %e, "rappels de rendez-vous non rattrapés"),
    }
    // Referrals: unanswered ones expire; the people's details of closed
    // ones go after the same retention, the counts stay.
    match crate::web::referrals::expire_due(st, now).await {
        Ok(0) => {}
        Ok(expired) => tracing::info!(expired, "orientations expirées sans réponse"),
        Err(e) => tracing::warn!(error = %e, "orientations : expiration impossible"),
    }
    let erased = crate::storage::referrals::purge_people(
        &st.db,
        now - Duration::days(st.config.registration_retention_days),
    )
    .await?;
    if erased > 0 {
        tracing::info!(
            erased,
            "coordonnées des personnes orientées effacées (durée de conservation)"
        );
    }
    // Activity records: the follow-up contacts go, the counts stay.
    let erased = crate::storage::activity::purge_follow_ups(&st.db, before).await?;
    if erased > 0 {
        tracing::info!(erased, "contacts de rappel effacés (durée de conservation)");
    }
    Ok((sent, purged))
}

/// Every ten minutes, in each server process (the `reminded_at` guard keeps
/// one reminder per registration when several processes run).
pub async fn housekeeping_loop(st: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
    tick.tick().await;
    loop {
        tick.tick().await;
        if let Err(e) = housekeeping(&st, Utc::now()).await {
            tracing::warn!(error = %e, "entretien de l’agenda");
        }
    }
}

/// After a slot booking with an e-mail: the date, the place, the cancel link.
pub fn slot_booked(
    st: &AppState,
    slug: &str,
    title: &str,
    at: chrono::NaiveDateTime,
    place: Option<&store::Place>,
    booking: &store::SlotBooking,
    token: &str,
) {
    let link = format!("{}/t/{}/rendez-vous/{}", base(st), slug, token);
    booking_sms(
        st,
        slug,
        "slot-booked",
        booking,
        title,
        Some(at),
        place,
        link,
    );
    let Some(to) = booking.email.clone() else {
        return;
    };
    let body = format!(
        "Bonjour {},\n\nVotre rendez-vous est réservé :\n\n{}\n{}\n\nPour annuler et libérer le créneau : {}/t/{}/rendez-vous/{}\n\nCe message est envoyé automatiquement.\n",
        booking.name,
        title,
        super::slots::when_label(at, place),
        base(st),
        slug,
        token
    );
    let key = format!("slot-booked:email:booking:{}", booking.id);
    spawn_send(
        st,
        slug,
        "confirmation",
        key,
        to,
        format!("Rendez-vous réservé : {title}"),
        body,
    );
    let cancel = format!(
        "Si vous ne pouvez pas venir, annulez pour libérer le créneau : {}/t/{}/rendez-vous/{}",
        base(st),
        slug,
        token
    );
    booking_email_reminder(st, slug, booking, title, Some(at), place, cancel);
}

fn booking_email_reminder_prefix(booking_id: i64) -> String {
    format!("reminder:email:booking:{booking_id}:")
}

/// The e-mail reminder of a booking with an address, `reminder_days`
/// before at 10:00 (never on a Sunday or a public holiday); a reminder
/// queued before for this booking is withdrawn first, in the same task
/// (a moved booking gets the new one only, a cancelled one none). No
/// reminder when its time has passed already: the confirmation or the
/// change notice just sent says the same.
#[allow(
    clippy::too_many_arguments,
    reason = "the booking, its slot and place, and the line on cancelling"
)]
fn booking_email_reminder(
    st: &AppState,
    slug: &str,
    booking: &store::SlotBooking,
    title: &str,
    at: Option<chrono::NaiveDateTime>,
    place: Option<&store::Place>,
    cancel_line: String,
) {
    if st.mailer.is_none() {
        return;
    }
    let Some(to) = booking.email.clone() else {
        return;
    };
    let when_text = at.map(|a| super::slots::when_label(a, place));
    let starts = at.map(|a| dates::paris_offset(a).with_timezone(&Utc));
    let (st, slug, title, id, name) = (
        st.clone(),
        slug.to_owned(),
        title.to_owned(),
        booking.id,
        booking.name.clone(),
    );
    tokio::spawn(async move {
        let _ = messages::cancel_queued_prefix(&st.db, &booking_email_reminder_prefix(id)).await;
        let (Some(when), Some(when_text)) = (starts, when_text) else {
            return;
        };
        let now = Utc::now();
        let remind = crate::domain::messages::reminder_at(when, st.outbox.reminder_days);
        if remind <= now || remind >= when {
            return;
        }
        let Ok(Some(t)) = crate::storage::territories::get_by_slug(&st.db, &slug).await else {
            return;
        };
        let m = messages::NewMessage {
            territory_id: Some(t.id),
            channel: Channel::Email,
            recipient: to,
            subject: format!("Rappel : rendez-vous, {title}"),
            body: format!(
                "Bonjour {name},\n\nPetit rappel : votre rendez-vous « {title} » est le {when_text}.\n\n{cancel_line}\n\nCe message est envoyé automatiquement.\n"
            ),
            purpose: "reminder".into(),
            dedupe_key: format!("{}{}", booking_email_reminder_prefix(id), when.timestamp()),
            not_before: remind,
        };
        match messages::enqueue(&st.db, &m).await {
            Ok(_) => st.outbox.wake(),
            Err(e) => tracing::warn!(error = %e, "rappel par courriel non mis en file"),
        }
    });
}

/// Bookings of an occurrence that was cancelled or moved: the people who
/// left an e-mail are told, those who left a mobile number get a text (the
/// others are called by the mediators).
pub fn slots_changed(
    st: &AppState,
    slug: &str,
    title: &str,
    places: &[store::Place],
    series_place: i64,
    changed: &[store::ChangedBooking],
) {
    for c in changed {
        let place_id = c.place_id.unwrap_or(series_place);
        let place = places.iter().find(|p| p.id == place_id);
        let link = format!("{}/t/{}/permanences", base(st), slug);
        let kind = if c.now_at.is_some() {
            "slot-moved"
        } else {
            "slot-cancelled"
        };
        booking_sms(st, slug, kind, &c.booking, title, c.now_at, place, link);
        booking_email_reminder(
            st,
            slug,
            &c.booking,
            title,
            c.now_at,
            place,
            "Si vous ne pouvez pas venir, annulez avec le lien reçu à la réservation pour libérer le créneau.".into(),
        );
        let Some(to) = c.booking.email.clone() else {
            continue;
        };
        let (subject, text) = match c.now_at {
            None => (
                format!("Rendez-vous annulé : {title}"),
                "Nous sommes désolés : la permanence de votre rendez-vous est annulée, et votre rendez-vous avec elle. Vous pouvez en reprendre un à une autre date :".to_owned(),
            ),
            Some(at) => {
                let place_id = c.place_id.unwrap_or(series_place);
                let place = places.iter().find(|p| p.id == place_id);
                (
                    format!("Rendez-vous déplacé : {title}"),
                    format!(
                        "La permanence de votre rendez-vous change : votre rendez-vous est maintenant le {}. Si cela ne vous convient plus, vous pouvez l’annuler avec le lien reçu à la réservation, ou en reprendre un :",
                        super::slots::when_label(at, place)
                    ),
                )
            }
        };
        let body = format!(
            "Bonjour {},\n\n« {} » : {}\n\n{}/t/{}/permanences\n",
            c.booking.name,
            title,
            text,
            base(st),
            slug
        );
        let (purpose, key) = match c.now_at {
            Some(at) => (
                "change",
                format!("slot-moved:email:booking:{}:{at}", c.booking.id),
            ),
            None => (
                "cancellation",
                format!("slot-cancelled:email:booking:{}", c.booking.id),
            ),
        };
        spawn_send(st, slug, purpose, key, to, subject, body);
    }
}

// ---------------------------------------------------------------- SMS

/// The number to text for a registration: SMS on, a number given, and a
/// mobile one (a landline cannot receive it).
fn sms_number(st: &AppState, reg: &Registration) -> Option<String> {
    if !st.outbox.sms_enabled() {
        return None;
    }
    let typed = reg.phone.as_deref()?;
    let e164 = phone::parse(typed).ok()?;
    phone::is_mobile(&e164).then_some(e164)
}

/// `mercredi 9 décembre à 14 h 00, Centre social Vachala (Lens)`.
fn sms_when_where(starts_at: DateTime<Utc>, place: &str) -> String {
    let local = starts_at.with_timezone(&chrono_tz::Europe::Paris);
    let when = format!(
        "{} à {}",
        dates::weekday_day_month(local.date_naive()),
        local.format("%H h %M")
    );
    if place.is_empty() {
        when
    } else {
        format!("{when}, {place}")
    }
}

/// A title cut to fit a text message.
fn sms_title(title: &str) -> String {
    let t: String = title.chars().take(45).collect();
    if t.chars().count() < title.chars().count() {
        format!("{}…", t.trim_end())
    } else {
        t
    }
}

/// The texts of the agenda's notices, short, plain and in the GSM alphabet
/// where French allows it (one or two SMS parts).
pub fn sms_text(
    kind: &str,
    title: &str,
    starts_at: DateTime<Utc>,
    place: &str,
    link: &str,
) -> String {
    let what = sms_title(title);
    let when = sms_when_where(starts_at, place);
    let text = match kind {
        "confirmation" => format!("Inscription confirmée : {what}, {when}. Pour annuler : {link}"),
        "waiting-list" => format!(
            "Liste d'attente : {what}, {when}. Nous vous préviendrons si une place se libère. Pour annuler : {link}"
        ),
        "promoted" => format!("Une place s'est libérée : vous êtes inscrit·e à {what}, {when}. {link}"),
        "reminder" => format!("Rappel : {what}, {when}. Empêchement ? Prévenez-nous : {link}"),
        "change" => format!("Changement : {what} aura lieu {when}. {link}"),
        "slot-booked" => format!("Rendez-vous réservé : {what}, {when}. Pour annuler : {link}"),
        "slot-moved" => format!("Rendez-vous déplacé : {what}, maintenant {when}. {link}"),
        "slot-cancelled" => format!(
            "Rendez-vous annulé : {what}, {when}. Nous sommes désolés. Pour en reprendre un : {link}"
        ),
        _ => format!("Séance annulée : {what}, {when}. Nous sommes désolés. Autres dates : {link}"),
    };
    crate::domain::messages::gsm_friendly(&text)
}

/// The territory and the place's name of a session, for the texts.
async fn session_context(st: &AppState, slug: &str, session_id: i64) -> Option<(i64, String)> {
    let t = crate::storage::territories::get_by_slug(&st.db, slug)
        .await
        .ok()??;
    let s = store::get_session(&st.db, session_id).await.ok()?;
    let place = match s.place_id {
        Some(pid) => store::get_place(&st.db, t.id, pid)
            .await
            .map(|p| {
                if p.commune_name.is_empty() {
                    p.name
                } else {
                    format!("{} ({})", p.name, p.commune_name)
                }
            })
            .unwrap_or_default(),
        None => s.place_text.clone(),
    };
    Some((t.id, place))
}

fn reminder_prefix(registration_id: i64) -> String {
    format!("reminder:sms:registration:{registration_id}:")
}

fn booking_reminder_prefix(booking_id: i64) -> String {
    format!("reminder:sms:booking:{booking_id}:")
}

/// A slot booking's text: booked (with its reminder), moved (the reminder
/// follows) or cancelled (the reminder is withdrawn). Bookings keep their
/// number in E.164; landlines get no text.
#[allow(clippy::too_many_arguments)]
fn booking_sms(
    st: &AppState,
    slug: &str,
    kind: &'static str,
    booking: &store::SlotBooking,
    title: &str,
    at: Option<chrono::NaiveDateTime>,
    place: Option<&store::Place>,
    link: String,
) {
    if !st.outbox.sms_enabled() {
        return;
    }
    let Some(to) = booking.phone.clone().filter(|p| phone::is_mobile(p)) else {
        return;
    };
    let place = place
        .map(|p| format!("{} ({})", p.name, p.commune_name))
        .unwrap_or_default();
    let (st, slug, title, id) = (st.clone(), slug.to_owned(), title.to_owned(), booking.id);
    let starts = at.map(|a| dates::paris_offset(a).with_timezone(&Utc));
    let original = booking_start(booking);
    tokio::spawn(async move {
        let Ok(Some(t)) = crate::storage::territories::get_by_slug(&st.db, &slug).await else {
            return;
        };
        let _ = messages::cancel_queued_prefix(&st.db, &booking_reminder_prefix(id)).await;
        let Some(when) = starts.or(original) else {
            return;
        };
        let body = sms_text(kind, &title, when, &place, &link);
        let key = format!("{kind}:sms:booking:{id}:{}", when.timestamp());
        let purpose = match kind {
            "slot-booked" => "confirmation",
            "slot-moved" => "change",
            _ => "cancellation",
        };
        queue_sms(&st, t.id, &to, purpose, key, body, Utc::now()).await;
        if kind != "slot-cancelled" && when > Utc::now() {
            let at =
                crate::domain::messages::reminder_at(when, st.outbox.reminder_days).max(Utc::now());
            if at < when {
                let body = sms_text("reminder", &title, when, &place, &link);
                let key = format!("{}{}", booking_reminder_prefix(id), when.timestamp());
                queue_sms(&st, t.id, &to, "reminder", key, body, at).await;
            }
        }
    });
}

/// When a booking was made for (Paris), from its stored date and start.
fn booking_start(b: &store::SlotBooking) -> Option<DateTime<Utc>> {
    let d = chrono::NaiveDate::parse_from_str(&b.occurrence_date, "%Y-%m-%d").ok()?;
    let t = chrono::NaiveTime::parse_from_str(&b.slot_start, "%H:%M").ok()?;
    Some(dates::paris_offset(d.and_time(t)).with_timezone(&Utc))
}

/// The housekeeping's safety net for slot bookings' reminders: for every
/// territory with slots, the reminders (SMS and e-mail) that fall in the
/// next 24 hours are queued in one batch per territory, with the keys the
/// booking gave them, so that those already queued are kept as they are
/// and cancelled ones stay cancelled. It catches bookings made before SMS
/// were switched on, or whose background task failed. Returns how many
/// were queued.
pub async fn queue_booking_reminders(st: &AppState, now: DateTime<Utc>) -> anyhow::Result<u64> {
    if !st.outbox.sms_enabled() && st.mailer.is_none() {
        return Ok(0);
    }
    let mut queued = 0;
    for (territory_id, slug) in store::territories_with_slots(&st.db).await? {
        queued += queue_territory_booking_reminders(st, territory_id, &slug, now).await?;
    }
    Ok(queued)
}

/// [`queue_booking_reminders`] for one territory: its series, exceptions
/// and places read once, its coming bookings in one query, the reminders
/// queued with `enqueue_many`.
pub async fn queue_territory_booking_reminders(
    st: &AppState,
    territory_id: i64,
    slug: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<u64> {
    use std::collections::HashMap;
    let days = st.outbox.reminder_days;
    let horizon = now + Duration::hours(24);
    let today = now.with_timezone(&chrono_tz::Europe::Paris).date_naive();
    // A moved occurrence may be held up to a week from its original date.
    let bookings = store::territory_booked_between(
        &st.db,
        territory_id,
        today - Duration::days(8),
        today + Duration::days(i64::from(days) + 9),
    )
    .await?;
    if bookings.is_empty() {
        return Ok(0);
    }
    let series: HashMap<i64, store::Series> = store::list_series(&st.db, territory_id)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let mut exceptions: HashMap<i64, Vec<crate::domain::agenda::recurrence::Exception>> =
        HashMap::new();
    for (sid, e) in store::exceptions(&st.db, territory_id).await? {
        exceptions.entry(sid).or_default().push(e);
    }
    let places = store::list_places(&st.db, territory_id).await?;
    let mut schedules = HashMap::new();
    let link = format!("{}/t/{slug}/permanences", base(st));
    let mut out = Vec::new();
    for b in &bookings {
        let Some(s) = series.get(&b.series_id) else {
            continue;
        };
        let schedule = match schedules.entry(s.id) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => match s.schedule() {
                Ok(sc) => v.insert(sc),
                Err(_) => continue,
            },
        };
        let (Some(date), Some(start)) = (
            store::parse_date(&b.occurrence_date),
            store::parse_time(&b.slot_start),
        ) else {
            continue;
        };
        let ex = exceptions.get(&s.id).map(Vec::as_slice).unwrap_or(&[]);
        let Some(o) = crate::domain::agenda::slots::occurrence_of(schedule, ex, date) else {
            continue;
        };
        let at = o.date.and_time(start);
        let starts = dates::paris_offset(at).with_timezone(&Utc);
        let remind = crate::domain::messages::reminder_at(starts, days);
        if remind <= now || remind > horizon || remind >= starts {
            continue;
        }
        let place = places
            .iter()
            .find(|p| p.id == o.place_id.unwrap_or(s.place_id));
        if st.outbox.sms_enabled() {
            if let Some(to) = b.phone.as_deref().filter(|p| phone::is_mobile(p)) {
                let place = place
                    .map(|p| format!("{} ({})", p.name, p.commune_name))
                    .unwrap_or_default();
                out.push(messages::NewMessage {
                    territory_id: Some(territory_id),
                    channel: Channel::Sms,
                    recipient: to.to_owned(),
                    subject: String::new(),
                    body: sms_text("reminder", &s.title, starts, &place, &link),
                    purpose: "reminder".into(),
                    dedupe_key: format!("{}{}", booking_reminder_prefix(b.id), starts.timestamp()),
                    not_before: remind,
                });
            }
        }
        if let (Some(to), Some(_)) = (&b.email, &st.mailer) {
            out.push(messages::NewMessage {
                territory_id: Some(territory_id),
                channel: Channel::Email,
                recipient: to.clone(),
                subject: format!("Rappel : rendez-vous, {}", s.title),
                body: format!(
                    "Bonjour {},\n\nPetit rappel : votre rendez-vous « {} » est le {}.\n\n\
                     Si vous ne pouvez pas venir, annulez avec le lien reçu à la réservation pour libérer le créneau.\n\n\
                     Ce message est envoyé automatiquement.\n",
                    b.name,
                    s.title,
                    super::slots::when_label(at, place)
                ),
                purpose: "reminder".into(),
                dedupe_key: format!(
                    "{}{}",
                    booking_email_reminder_prefix(b.id),
                    starts.timestamp()
                ),
                not_before: remind,
            });
        }
    }
    let queued = messages::enqueue_many(&st.db, &out).await?;
    if queued > 0 {
        st.outbox.wake();
    }
    Ok(queued)
}

/// A booking cancelled (by its link, or by the mediator): its reminders
/// (SMS and e-mail) are withdrawn.
pub async fn withdraw_booking_reminders(st: &AppState, booking_id: i64) {
    for prefix in [
        booking_reminder_prefix(booking_id),
        booking_email_reminder_prefix(booking_id),
    ] {
        if let Err(e) = messages::cancel_queued_prefix(&st.db, &prefix).await {
            tracing::warn!(error = %e, "rappel non retiré");
        }
    }
}

async fn queue_sms(
    st: &AppState,
    territory_id: i64,
    to: &str,
    purpose: &str,
    key: String,
    body: String,
    not_before: DateTime<Utc>,
) {
    let m = messages::NewMessage {
        territory_id: Some(territory_id),
        channel: Channel::Sms,
        recipient: to.to_owned(),
        subject: String::new(),
        body,
        purpose: purpose.to_owned(),
        dedupe_key: key,
        not_before,
    };
    match messages::enqueue(&st.db, &m).await {
        Ok(_) => st.outbox.wake(),
        Err(e) => tracing::warn!(error = %e, "SMS non mis en file"),
    }
}

/// The reminder of a confirmed registration, `reminder_days` before at
/// 10:00 (never on a Sunday or a public holiday); right away when that
/// time has passed but the session has not begun.
#[allow(clippy::too_many_arguments)]
async fn queue_reminder(
    st: &AppState,
    territory_id: i64,
    to: &str,
    reg_id: i64,
    title: &str,
    starts_at: DateTime<Utc>,
    place: &str,
    link: &str,
) {
    let now = Utc::now();
    if starts_at <= now {
        return;
    }
    let at = crate::domain::messages::reminder_at(starts_at, st.outbox.reminder_days).max(now);
    if at >= starts_at {
        return;
    }
    let key = format!("{}{}", reminder_prefix(reg_id), starts_at.timestamp());
    let body = sms_text("reminder", title, starts_at, place, link);
    queue_sms(st, territory_id, to, "reminder", key, body, at).await;
}

/// After a registration: the confirmation (or waiting-list) text now, and
/// the reminder later for a confirmed seat.
pub fn registration_sms(
    st: &AppState,
    slug: &str,
    title: &str,
    starts_at: DateTime<Utc>,
    reg: &Registration,
    token: &str,
) {
    let Some(to) = sms_number(st, reg) else {
        return;
    };
    let (st, slug, title, reg) = (st.clone(), slug.to_owned(), title.to_owned(), reg.clone());
    let link = format!("{}/t/{}/inscriptions/{}", base(&st), slug, token);
    tokio::spawn(async move {
        let Some((tid, place)) = session_context(&st, &slug, reg.session_id).await else {
            return;
        };
        let waiting = reg.status == "waiting";
        let kind = if waiting {
            "waiting-list"
        } else {
            "confirmation"
        };
        let body = sms_text(kind, &title, starts_at, &place, &link);
        let key = format!("confirmation:sms:registration:{}", reg.id);
        queue_sms(&st, tid, &to, "confirmation", key, body, Utc::now()).await;
        if !waiting {
            queue_reminder(&st, tid, &to, reg.id, &title, starts_at, &place, &link).await;
        }
    });
}

/// A registration cancelled: its reminder is withdrawn.
pub async fn registration_cancelled_sms(st: &AppState, registration_id: i64) {
    if let Err(e) = messages::cancel_queued_prefix(&st.db, &reminder_prefix(registration_id)).await
    {
        tracing::warn!(error = %e, "rappel SMS non retiré");
    }
}

/// People promoted from the waiting list: told by text, and reminded.
pub async fn promoted_sms(
    st: &AppState,
    slug: &str,
    title: &str,
    starts_at: DateTime<Utc>,
    ids: &[i64],
) {
    // The people promoted are of one session: its context is read once.
    let mut context: Option<(i64, String)> = None;
    let link = format!("{}/t/{}/agenda", base(st), slug);
    for id in ids {
        let Ok(reg) = store::get_registration(&st.db, *id).await else {
            continue;
        };
        let Some(to) = sms_number(st, &reg) else {
            continue;
        };
        if context.is_none() {
            context = session_context(st, slug, reg.session_id).await;
        }
        let Some((tid, place)) = context.clone() else {
            continue;
        };
        let body = sms_text("promoted", title, starts_at, &place, &link);
        let key = format!("promoted:sms:registration:{id}");
        queue_sms(st, tid, &to, "waiting-list", key, body, Utc::now()).await;
        queue_reminder(st, tid, &to, reg.id, title, starts_at, &place, &link).await;
    }
}

/// A session moved or cancelled: the people registered are told by text;
/// their reminders are withdrawn, and queued again for the new time.
pub async fn session_changed_sms(
    st: &AppState,
    slug: &str,
    title: &str,
    session_id: i64,
    new_start: Option<DateTime<Utc>>,
) {
    if !st.outbox.sms_enabled() {
        return;
    }
    let Ok(regs) = store::registrations(&st.db, session_id).await else {
        return;
    };
    let Some((tid, place)) = session_context(st, slug, session_id).await else {
        return;
    };
    let link = format!("{}/t/{}/agenda", base(st), slug);
    let stamp = new_start.map(|s| s.timestamp()).unwrap_or(0);
    let held_at = store::get_session(&st.db, session_id)
        .await
        .ok()
        .map(|s| s.starts_at);
    for reg in regs
        .into_iter()
        .filter(|r| r.status == "confirmed" || r.status == "waiting")
    {
        let _ = messages::cancel_queued_prefix(&st.db, &reminder_prefix(reg.id)).await;
        let Some(to) = sms_number(st, &reg) else {
            continue;
        };
        match new_start {
            Some(starts_at) => {
                let body = sms_text("change", title, starts_at, &place, &link);
                let key = format!("change:sms:registration:{}:{stamp}", reg.id);
                queue_sms(st, tid, &to, "change", key, body, Utc::now()).await;
                if reg.status == "confirmed" {
                    queue_reminder(st, tid, &to, reg.id, title, starts_at, &place, &link).await;
                }
            }
            None => {
                let Some(at) = held_at else {
                    continue;
                };
                let body = sms_text("cancellation", title, at, &place, &link);
                let key = format!("cancellation:sms:registration:{}", reg.id);
                queue_sms(st, tid, &to, "cancellation", key, body, Utc::now()).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn texts_are_short_and_plain() {
        let at = chrono_tz::Europe::Paris
            .with_ymd_and_hms(2026, 12, 9, 14, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        let link = format!(
            "https://cls.exemple.fr/t/lens-lievin/inscriptions/{}",
            "x".repeat(43)
        );
        let t = sms_text(
            "confirmation",
            "Atelier équilibre alimentaire",
            at,
            "Centre social (Lens)",
            &link,
        );
        assert!(t.starts_with("Inscription confirmée : Atelier équilibre alimentaire, mercredi 9 décembre à 14 h 00, Centre social (Lens)."), "{t}");
        assert!(t.ends_with(&link));
        let (parts, unicode) = crate::domain::messages::sms_parts(&t);
        assert!(!unicode && parts <= 2, "{parts} parts: {t}");
        let long = sms_text(
            "reminder",
            &"Très long titre ".repeat(10),
            at,
            "Maison de santé",
            "https://x.fr/t/a/agenda",
        );
        assert!(long.contains("…") || long.contains('.'), "{long}");
        assert!(crate::domain::messages::sms_parts(&long).0 <= 2, "{long}");
    }
}
