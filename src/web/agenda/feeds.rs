//! iCalendar feeds (RFC 5545): `permanences.ics` (one VEVENT per series with
//! RRULE and EXDATE — holidays skipped and cancelled occurrences —, moved
//! occurrences as overrides with the same UID and a RECURRENCE-ID) and
//! `agenda.ics` (one VEVENT per session). Times are local to Europe/Paris
//! with a VTIMEZONE we write ourselves.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, NaiveDateTime, Utc};
use serde::Deserialize;

use super::public::places_map;
use crate::domain::agenda::recurrence::{ExceptionKind, Schedule};
use crate::storage::agenda::{self as store, Place, Series};
use crate::web::error::AppError;
use crate::web::public::load_public_territory;
use crate::web::AppState;

pub const VTIMEZONE_PARIS: &str = "BEGIN:VTIMEZONE\r\n\
TZID:Europe/Paris\r\n\
BEGIN:DAYLIGHT\r\n\
TZOFFSETFROM:+0100\r\n\
TZOFFSETTO:+0200\r\n\
TZNAME:CEST\r\n\
DTSTART:19700329T020000\r\n\
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n\
END:DAYLIGHT\r\n\
BEGIN:STANDARD\r\n\
TZOFFSETFROM:+0200\r\n\
TZOFFSETTO:+0100\r\n\
TZNAME:CET\r\n\
DTSTART:19701025T030000\r\n\
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n\
END:STANDARD\r\n\
END:VTIMEZONE\r\n";

/// Escape a TEXT value (RFC 5545 §3.3.11).
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Fold a content line at 75 octets, never inside a UTF-8 character.
pub fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut len = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if len + n > 75 {
            out.push_str("\r\n ");
            len = 1;
        }
        out.push(c);
        len += n;
    }
    out.push_str("\r\n");
    out
}

fn local(dt: NaiveDateTime) -> String {
    dt.format("%Y%m%dT%H%M%S").to_string()
}

struct Cal {
    body: String,
}

impl Cal {
    fn new(name: &str) -> Cal {
        let mut c = Cal {
            body: String::new(),
        };
        c.line("BEGIN:VCALENDAR");
        c.line("VERSION:2.0");
        c.line("PRODID:-//Maillage//Agenda//FR");
        c.line("CALSCALE:GREGORIAN");
        c.line(&format!("X-WR-CALNAME:{}", text(name)));
        c.line("X-WR-TIMEZONE:Europe/Paris");
        c.body.push_str(VTIMEZONE_PARIS);
        c
    }
    fn line(&mut self, l: &str) {
        self.body.push_str(&fold(l));
    }
    fn finish(mut self) -> String {
        self.line("END:VCALENDAR");
        self.body
    }
}

fn location(p: &Place) -> String {
    let mut parts = vec![p.name.clone()];
    if !p.address.is_empty() {
        parts.push(p.address.clone());
    }
    parts.push(p.commune_name.clone());
    text(&parts.join(", "))
}

fn host(st: &AppState) -> String {
    st.config
        .public_url
        .split("//")
        .nth(1)
        .unwrap_or("maillage")
        .trim_end_matches('/')
        .to_owned()
}

/// The VEVENTs of one series.
fn series_events(
    cal: &mut Cal,
    host: &str,
    s: &Series,
    schedule: &Schedule,
    exceptions: &[crate::domain::agenda::recurrence::Exception],
    places: &BTreeMap<i64, Place>,
    stamp: &str,
) {
    let uid = format!("UID:permanence-{}@{}", s.id, host);
    let place = places.get(&s.place_id);
    let dates = schedule.dates();
    let held: Vec<NaiveDate> = exceptions
        .iter()
        .filter(|e| e.kind == ExceptionKind::Held)
        .map(|e| e.original_date)
        .collect();
    let mut exdates: Vec<NaiveDate> = schedule
        .holiday_dates()
        .into_iter()
        .filter(|d| !held.contains(d))
        .collect();
    for e in exceptions {
        if matches!(e.kind, ExceptionKind::Cancelled) && dates.contains(&e.original_date) {
            exdates.push(e.original_date);
        }
    }
    exdates.sort();
    let mut description = vec![crate::domain::agenda::recurrence::describe(schedule)];
    if !s.mediators.is_empty() {
        description.push(format!(
            "Médiateurs : {}",
            s.mediators.lines().collect::<Vec<_>>().join(", ")
        ));
    }
    if !s.services.is_empty() {
        description.push(format!("Services : {}", s.services));
    }
    if let Some(a) = crate::domain::agenda::event::Access::parse(&s.access) {
        description.push(a.label().to_owned());
    }
    let dtend = schedule.dtstart.date().and_time(schedule.end_time);
    cal.line("BEGIN:VEVENT");
    cal.line(&uid);
    cal.line(&format!("DTSTAMP:{stamp}"));
    cal.line(&format!(
        "DTSTART;TZID=Europe/Paris:{}",
        local(schedule.dtstart)
    ));
    cal.line(&format!("DTEND;TZID=Europe/Paris:{}", local(dtend)));
    cal.line(&format!("RRULE:{}", schedule.effective_rule));
    if !exdates.is_empty() {
        let list: Vec<String> = exdates
            .iter()
            .map(|d| local(d.and_time(schedule.start_time)))
            .collect();
        cal.line(&format!("EXDATE;TZID=Europe/Paris:{}", list.join(",")));
    }
    cal.line(&format!("SUMMARY:{}", text(&s.title)));
    if let Some(p) = place {
        cal.line(&format!("LOCATION:{}", location(p)));
    }
    cal.line(&format!("DESCRIPTION:{}", text(&description.join("\n"))));
    cal.line("END:VEVENT");
    for e in exceptions {
        let ExceptionKind::Moved {
            date,
            start_time,
            end_time,
            place_id,
        } = &e.kind
        else {
            continue;
        };
        if !dates.contains(&e.original_date) {
            continue;
        }
        cal.line("BEGIN:VEVENT");
        cal.line(&uid);
        cal.line(&format!("DTSTAMP:{stamp}"));
        cal.line(&format!(
            "RECURRENCE-ID;TZID=Europe/Paris:{}",
            local(e.original_date.and_time(schedule.start_time))
        ));
        cal.line(&format!(
            "DTSTART;TZID=Europe/Paris:{}",
            local(date.and_time(*start_time))
        ));
        cal.line(&format!(
            "DTEND;TZID=Europe/Paris:{}",
            local(date.and_time(*end_time))
        ));
        cal.line(&format!("SUMMARY:{}", text(&s.title)));
        if let Some(p) = place_id.and_then(|p| places.get(&p)).or(place) {
            cal.line(&format!("LOCATION:{}", location(p)));
        }
        if !e.note.is_empty() {
            cal.line(&format!("DESCRIPTION:{}", text(&e.note)));
        }
        cal.line("END:VEVENT");
    }
}

/// One session of an event as a VEVENT.
#[allow(clippy::too_many_arguments)]
fn session_event(
    cal: &mut Cal,
    host: &str,
    stamp: &str,
    url: &str,
    e: &store::Event,
    s: &store::Session,
    place: Option<&Place>,
) {
    let paris = chrono_tz::Europe::Paris;
    cal.line("BEGIN:VEVENT");
    cal.line(&format!("UID:seance-{}@{}", s.id, host));
    cal.line(&format!("DTSTAMP:{stamp}"));
    cal.line(&format!(
        "DTSTART;TZID=Europe/Paris:{}",
        local(s.starts_at.with_timezone(&paris).naive_local())
    ));
    cal.line(&format!(
        "DTEND;TZID=Europe/Paris:{}",
        local(s.ends_at.with_timezone(&paris).naive_local())
    ));
    cal.line(&format!("SUMMARY:{}", text(&e.title)));
    let status = if s.cancelled || e.status == "cancelled" {
        "CANCELLED"
    } else if e.status == "confirmed" {
        "CONFIRMED"
    } else {
        "TENTATIVE"
    };
    cal.line(&format!("STATUS:{status}"));
    if let Some(p) = place {
        cal.line(&format!("LOCATION:{}", location(p)));
    } else if !s.place_text.is_empty() {
        cal.line(&format!("LOCATION:{}", text(&s.place_text)));
    }
    if !e.description.is_empty() {
        cal.line(&format!("DESCRIPTION:{}", text(&e.description)));
    }
    let mut themes = e.theme_list();
    if url.contains("/region/agenda/") {
        themes.insert(0, "Événement régional");
    }
    if !themes.is_empty() {
        cal.line(&format!(
            "CATEGORIES:{}",
            themes.iter().map(|t| text(t)).collect::<Vec<_>>().join(",")
        ));
    }
    cal.line(&format!("URL:{url}"));
    cal.line("END:VEVENT");
}

/// One session as its own calendar file: the registration confirmation
/// links it (« ajouter à mon agenda »).
pub async fn session_ics(
    State(st): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let t = load_public_territory(&st, &slug).await?;
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let s = store::get_session(&st.db, id).await?;
    let e = store::get_event(&st.db, t.id, s.event_id).await?;
    let places = places_map(&st, t.id).await?;
    let place = s.place_id.and_then(|p| places.get(&p));
    let stamp = Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let host = host(&st);
    let base = st.config.public_url.trim_end_matches('/').to_owned();
    let mut cal = Cal::new(&e.title);
    let url = format!("{base}/t/{}/evenements/{}", t.slug, e.id);
    session_event(&mut cal, &host, &stamp, &url, &e, &s, place);
    Ok(ics_response(&format!("seance-{}.ics", s.id), cal.finish()))
}

/// The sessions of regional events (all, or those concerning a territory)
/// as VEVENTs linking `/region/agenda/{id}`.
async fn regional_events(
    st: &AppState,
    cal: &mut Cal,
    territory_id: Option<i64>,
    since: chrono::DateTime<Utc>,
    host: &str,
    stamp: &str,
    base: &str,
) -> Result<(), AppError> {
    let sessions = store::regional_sessions(&st.db, territory_id, since).await?;
    if sessions.is_empty() {
        return Ok(());
    }
    let events: BTreeMap<i64, store::Event> = store::regional_events(&st.db)
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    let places: BTreeMap<i64, Place> = store::all_places(&st.db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    for s in &sessions {
        let Some(e) = events.get(&s.event_id) else {
            continue;
        };
        let url = format!("{base}/region/agenda/{}", e.id);
        let place = s.place_id.and_then(|p| places.get(&p));
        session_event(cal, host, stamp, &url, e, s, place);
    }
    Ok(())
}

/// `/region/agenda.ics`: every regional event from a year back.
pub async fn region_ics(State(st): State<AppState>) -> Result<Response, AppError> {
    let stamp = Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let host = host(&st);
    let base = st.config.public_url.trim_end_matches('/').to_owned();
    let mut cal = Cal::new("Agenda du réseau régional des professionnels");
    let since = Utc::now() - chrono::Duration::days(366);
    regional_events(&st, &mut cal, None, since, &host, &stamp, &base).await?;
    Ok(ics_response("agenda-regional.ics", cal.finish()))
}

fn ics_response(name: &str, body: String) -> Response {
    (
        [
            (CONTENT_TYPE, "text/calendar; charset=utf-8".to_owned()),
            (CONTENT_DISPOSITION, format!("inline; filename=\"{name}\"")),
            (CACHE_CONTROL, "public, max-age=300".to_owned()),
        ],
        body,
    )
        .into_response()
}

#[derive(Deserialize, Default)]
pub struct FeedQuery {
    commune: Option<String>,
}

pub async fn permanences_ics(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<FeedQuery>,
) -> Result<Response, AppError> {
    let t = load_public_territory(&st, &slug).await?;
    let world = super::cached_world(&st, t.id).await?;
    let places: BTreeMap<i64, Place> = world.places.clone().into_iter().collect();
    let stamp = Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let host = host(&st);
    let mut cal = Cal::new(&format!("Permanences santé – {}", t.name));
    let commune = q.commune.unwrap_or_default();
    for (s, schedule, exc) in &world.items {
        if !commune.is_empty()
            && places
                .get(&s.place_id)
                .is_none_or(|p| p.insee_code != commune)
        {
            continue;
        }
        series_events(&mut cal, &host, s, schedule, exc, &places, &stamp);
    }
    Ok(ics_response("permanences.ics", cal.finish()))
}

pub async fn agenda_ics(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<FeedQuery>,
) -> Result<Response, AppError> {
    let t = load_public_territory(&st, &slug).await?;
    let places = places_map(&st, t.id).await?;
    let events: BTreeMap<i64, store::Event> = store::list_events(&st.db, t.id)
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    let stamp = Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let host = host(&st);
    let base = st.config.public_url.trim_end_matches('/').to_owned();
    let mut cal = Cal::new(&format!("Agenda santé – {}", t.name));
    let commune = q.commune.unwrap_or_default();
    let paris = chrono_tz::Europe::Paris;
    for s in store::territory_sessions(&st.db, t.id).await? {
        let Some(e) = events.get(&s.event_id) else {
            continue;
        };
        let place = s.place_id.and_then(|p| places.get(&p));
        if !commune.is_empty() && place.is_none_or(|p| p.insee_code != commune) {
            continue;
        }
        let url = format!("{base}/t/{}/evenements/{}", t.slug, e.id);
        session_event(&mut cal, &host, &stamp, &url, e, &s, place);
    }
    // The regional events that concern the territory (professionals'
    // network agenda), from a year back.
    if commune.is_empty() {
        let since = Utc::now() - chrono::Duration::days(366);
        regional_events(&st, &mut cal, Some(t.id), since, &host, &stamp, &base).await?;
    }
    // Public meetings of the bodies (announced on /participer) from a year
    // back; they have a start and no end.
    if commune.is_empty() {
        let since = Utc::now() - chrono::Duration::days(366);
        for (m, body) in
            crate::storage::participation::upcoming_public_meetings(&st.db, t.id, since).await?
        {
            cal.line("BEGIN:VEVENT");
            cal.line(&format!("UID:reunion-{}@{}", m.id, host));
            cal.line(&format!("DTSTAMP:{stamp}"));
            cal.line(&format!(
                "DTSTART;TZID=Europe/Paris:{}",
                local(m.starts_at.with_timezone(&paris).naive_local())
            ));
            cal.line(&format!("SUMMARY:{}", text(&m.title)));
            cal.line("STATUS:CONFIRMED");
            if !m.place.is_empty() {
                cal.line(&format!("LOCATION:{}", text(&m.place)));
            }
            let mut description = format!("Réunion publique : {body}");
            if !m.agenda.is_empty() {
                description.push('\n');
                description.push_str(&m.agenda);
            }
            cal.line(&format!("DESCRIPTION:{}", text(&description)));
            cal.line(&format!("URL:{base}/t/{}/groupes/{}", t.slug, m.body_id));
            cal.line("END:VEVENT");
        }
    }
    Ok(ics_response("agenda.ics", cal.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_and_escaping() {
        let long = format!("DESCRIPTION:{}", "é".repeat(60));
        let folded = fold(&long);
        for l in folded.split("\r\n") {
            assert!(l.len() <= 75, "{l}");
        }
        assert_eq!(folded.replace("\r\n ", ""), format!("{long}\r\n"));
        assert_eq!(text("a, b; c\\d\ne"), "a\\, b\\; c\\\\d\\ne");
    }
}
