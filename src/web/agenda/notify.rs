//! E-mails of the agenda (confirmation, place freed from the waiting list,
//! reminder) and the periodic housekeeping (reminders, retention purge).
//! Sending never blocks a page: messages go out from a spawned task, and a
//! failure is logged.

use chrono::{DateTime, Duration, Utc};

use crate::domain::dates;
use crate::storage::agenda::{self as store, Registration};
use crate::web::AppState;

fn spawn_send(st: &AppState, to: String, subject: String, body: String) {
    let Some(mailer) = st.mailer.clone() else {
        return;
    };
    tokio::spawn(async move {
        if let Err(e) = mailer.send(&to, &subject, &body).await {
            tracing::warn!(error = %e, "e-mail non envoyé");
        }
    });
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
    spawn_send(st, to, subject, body);
}

/// People promoted from the waiting list after a cancellation.
pub async fn promoted(
    st: &AppState,
    slug: &str,
    title: &str,
    starts_at: DateTime<Utc>,
    ids: &[i64],
) {
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
        spawn_send(st, to, format!("Place confirmée : {title}"), body);
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
        spawn_send(st, to, format!("Séance annulée : {title}"), body);
    }
}

/// Send the reminders due at `now` and purge old registrations. Returns
/// (reminders sent, registrations purged).
pub async fn housekeeping(st: &AppState, now: DateTime<Utc>) -> anyhow::Result<(usize, u64)> {
    let mut sent = 0;
    if let Some(mailer) = &st.mailer {
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
            match mailer
                .send(&r.email, &format!("Rappel : {}", r.title), &body)
                .await
            {
                Ok(()) => sent += 1,
                Err(e) => tracing::warn!(error = %e, "rappel non envoyé"),
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
    spawn_send(st, to, format!("Rendez-vous réservé : {title}"), body);
}

/// Bookings of an occurrence that was cancelled or moved: the people who
/// left an e-mail are told (the others are called by the mediators; SMS is
/// a later step).
pub fn slots_changed(
    st: &AppState,
    slug: &str,
    title: &str,
    places: &[store::Place],
    series_place: i64,
    changed: &[store::ChangedBooking],
) {
    for c in changed {
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
        spawn_send(st, to, subject, body);
    }
}
