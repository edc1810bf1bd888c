//! Public agenda pages: permanences (by commune, by date, printable month
//! planning), the agenda of events, event pages (JSON-LD, view counter,
//! share links, registration) and the cancel link.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use chrono::{Datelike, NaiveDate, Utc};
use chrono_tz::Europe::Paris;
use serde::Deserialize;

use super::{opt_date, today_paris, OccRow};
use crate::domain::agenda::event::{open_seats, Audience, EventKind, EventStatus, NewRegistration};
use crate::domain::agenda::paging::cut_at_a_day;
use crate::domain::agenda::recurrence::short_time;
use crate::domain::dates;
use crate::domain::text::plural;
use crate::storage::agenda::{self as store, Event, Place, RegisterError, Session};
use crate::storage::communes::Commune;
use crate::storage::participation::Meeting;
use crate::storage::territories::Territory;
use crate::storage::DbError;
use crate::web::error::AppError;
use crate::web::pages::{render, url_encode, Ctx, FormErrors, Layout};
use crate::web::public::load_public_territory;
use crate::web::AppState;

/// One occurrence as shown.
pub struct OccView {
    pub date_label: String,
    pub date_iso: String,
    pub time_label: String,
    pub title: String,
    pub place_name: String,
    pub address: String,
    pub commune: String,
    pub access_notes: String,
    pub mediators: String,
    pub access_label: String,
    pub services: String,
    pub cancelled: bool,
    pub moved: bool,
    pub note: String,
    pub original_label: String,
}

pub fn occ_view(r: &OccRow) -> OccView {
    OccView {
        date_label: dates::long_date_with_weekday(r.occ.date),
        date_iso: r.occ.date.to_string(),
        time_label: format!(
            "de {} à {}",
            short_time(r.occ.start.time()),
            short_time(r.occ.end.time())
        ),
        title: r.series.title.clone(),
        place_name: r.place.name.clone(),
        address: r.place.address.clone(),
        commune: r.place.commune_name.clone(),
        access_notes: r.place.access_notes.clone(),
        mediators: r.series.mediators.lines().collect::<Vec<_>>().join(", "),
        access_label: crate::domain::agenda::event::Access::parse(&r.series.access)
            .map(|a| a.label())
            .unwrap_or("")
            .to_owned(),
        services: r.series.services.clone(),
        cancelled: r.cancelled(),
        moved: r.moved(),
        note: r.occ.note.clone(),
        original_label: if r.occ.original_date != r.occ.date {
            dates::long_date_with_weekday(r.occ.original_date)
        } else {
            String::new()
        },
    }
}

use super::calendar::{month_view, MONTH_MAX};
pub use super::calendar::{DayCell, MonthView};
pub use super::permanences::permanences;

// ---------------------------------------------------------------- agenda

pub struct SessionView {
    pub id: i64,
    pub event_id: i64,
    pub title: String,
    pub kind_label: String,
    pub status_label: String,
    pub date_label: String,
    pub start_iso: String,
    pub time_label: String,
    /// « 14 h », the start alone (month calendar).
    pub time_short: String,
    pub place: String,
    pub commune: String,
    pub audience_label: String,
    pub themes: String,
    pub cancelled: bool,
    pub capacity: Option<i64>,
    pub remaining: Option<i64>,
    pub past: bool,
    /// « 3 places restantes », « complet – liste d’attente », or empty
    /// when the session has no limit.
    pub seats_label: String,
    /// « 20 places », empty without a limit.
    pub capacity_label: String,
    /// « 1 personne en attente ».
    pub waiting_label: String,
    /// The session is for professionals (all, or named roles).
    pub for_professionals: bool,
    /// Where the title links to when it is not an event of the agenda (a
    /// public meeting of a body links to the body's page, a regional event
    /// to `/region/agenda/{id}`).
    pub link: Option<String>,
    /// A regional event shown in a territory's agenda (« Événement régional »).
    pub regional: bool,
}

pub fn session_view(e: &Event, s: &Session, places: &BTreeMap<i64, Place>) -> SessionView {
    let start = s.starts_at.with_timezone(&Paris);
    let end = s.ends_at.with_timezone(&Paris);
    let place = s.place_id.and_then(|p| places.get(&p));
    let remaining = open_seats(s.capacity, s.taken, s.waiting);
    let time_label = if start.date_naive() == end.date_naive() {
        format!(
            "de {} à {}",
            short_time(start.time()),
            short_time(end.time())
        )
    } else {
        format!("jusqu’au {}", dates::paris_datetime(s.ends_at))
    };
    SessionView {
        id: s.id,
        event_id: e.id,
        title: e.title.clone(),
        kind_label: EventKind::parse(&e.kind)
            .map(|k| k.label())
            .unwrap_or("")
            .to_owned(),
        status_label: EventStatus::parse(&e.status)
            .map(|k| k.label())
            .unwrap_or("")
            .to_owned(),
        date_label: dates::long_date_with_weekday(start.date_naive()),
        start_iso: dates::paris_iso(s.starts_at),
        time_short: short_time(start.time()),
        time_label,
        place: place
            .map(|p| format!("{}, {}", p.name, p.address))
            .unwrap_or_else(|| s.place_text.clone()),
        commune: place.map(|p| p.commune_name.clone()).unwrap_or_default(),
        audience_label: audience_label(&s.audience, &s.audience_roles),
        for_professionals: matches!(
            Audience::parse(&s.audience),
            Some(Audience::Professionals | Audience::Roles)
        ),
        themes: e.theme_list().join(", "),
        cancelled: s.cancelled || e.status == "cancelled",
        capacity: s.capacity,
        remaining,
        past: s.ends_at < Utc::now(),
        seats_label: match remaining {
            None => String::new(),
            Some(0) => "complet – liste d’attente".into(),
            Some(n) => plural(n, "place restante", "places restantes"),
        },
        capacity_label: s
            .capacity
            .map(|c| plural(c, "place", "places"))
            .unwrap_or_default(),
        waiting_label: plural(s.waiting, "personne en attente", "personnes en attente"),
        link: None,
        regional: false,
    }
}

/// A public meeting of a body (steering committee, working group…) as an
/// agenda line: it is announced on `/participer` and belongs in the agenda.
pub fn meeting_view(slug: &str, m: &Meeting, body_name: &str) -> SessionView {
    let start = m.starts_at.with_timezone(&Paris);
    SessionView {
        id: m.id,
        event_id: 0,
        title: m.title.clone(),
        kind_label: "Réunion publique".into(),
        status_label: body_name.to_owned(),
        date_label: dates::long_date_with_weekday(start.date_naive()),
        start_iso: dates::paris_iso(m.starts_at),
        time_label: format!("à {}", short_time(start.time())),
        time_short: short_time(start.time()),
        place: m.place.clone(),
        commune: m.place.clone(),
        audience_label: Audience::Public.label().to_owned(),
        for_professionals: false,
        themes: String::new(),
        cancelled: false,
        capacity: None,
        remaining: None,
        past: m.starts_at < Utc::now(),
        seats_label: String::new(),
        capacity_label: String::new(),
        waiting_label: String::new(),
        link: Some(format!("/t/{slug}/groupes/{}", m.body_id)),
        regional: false,
    }
}

/// Public meetings of the territory's bodies in `[from, until)` that the
/// agenda's filters let through (no theme, audience « tout public », the
/// commune's name in the place), from the coming public meetings
/// (`storage::participation::upcoming_public_meetings`).
pub fn public_meetings(
    slug: &str,
    filter: &store::AgendaFilter,
    communes: &[Commune],
    meetings: &[(Meeting, String)],
) -> Vec<SessionView> {
    if filter.theme.is_some() || filter.audience.as_deref().is_some_and(|a| a != "public") {
        return Vec::new();
    }
    let commune_name = filter.insee_code.as_ref().and_then(|code| {
        communes
            .iter()
            .find(|c| &c.insee_code == code)
            .map(|c| crate::domain::text::fold_accents(&c.name))
    });
    meetings
        .iter()
        .filter(|(m, _)| m.starts_at >= filter.from)
        .filter(|(m, _)| filter.until.is_none_or(|u| m.starts_at < u))
        .filter(|(m, _)| {
            commune_name
                .as_ref()
                .is_none_or(|n| crate::domain::text::fold_accents(&m.place).contains(n.as_str()))
        })
        .map(|(m, body)| meeting_view(slug, m, body))
        .collect()
}

/// Who a session is for, as the public reads it.
pub fn audience_label(audience: &str, roles: &str) -> String {
    match Audience::parse(audience) {
        Some(Audience::Roles) if !roles.trim().is_empty() => format!(
            "Réservé à : {}",
            roles
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Some(Audience::Professionals) => "Réservé aux professionnels".to_owned(),
        Some(a) => a.label().to_owned(),
        None => String::new(),
    }
}

#[derive(Deserialize, Default)]
pub struct AgendaQuery {
    commune: Option<String>,
    theme: Option<String>,
    public: Option<String>,
    du: Option<String>,
    au: Option<String>,
    /// `AAAA-MM`: the month calendar of that month.
    mois: Option<String>,
    /// `mois` for the month calendar (of the current month without `mois`).
    vue: Option<String>,
}

#[derive(Template)]
#[template(path = "agenda/agenda.html")]
struct AgendaPage {
    l: Layout,
    slug: String,
    communes: Vec<Commune>,
    themes: Vec<String>,
    audiences: Vec<(&'static str, &'static str)>,
    commune: String,
    theme: String,
    public: String,
    du: String,
    au: String,
    sessions: Vec<SessionView>,
    error: String,
    /// When more sessions match than a page shows: the day the next page
    /// starts (`YYYY-MM-DD`, for the link), the same day in words, and
    /// whether the page's one day held more sessions than it shows.
    next: Option<(String, String, bool)>,
    /// The month calendar, when asked for.
    month: Option<MonthView>,
    /// The query string of the filters, to keep them across views.
    filters_query: String,
}

/// Sessions shown at most on one agenda page; a link leads on to the next
/// ones (see [`cut_at_a_day`]).
pub const AGENDA_MAX: usize = 50;

pub async fn places_map(st: &AppState, tid: i64) -> Result<BTreeMap<i64, Place>, AppError> {
    Ok(store::list_places(&st.db, tid)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect())
}

pub async fn agenda(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<AgendaQuery>,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let mut error = String::new();
    let from = opt_date(&q.du).unwrap_or_else(|_| {
        error = "Date de début illisible (format attendu : JJ/MM/AAAA).".into();
        None
    });
    let to = opt_date(&q.au).unwrap_or_else(|_| {
        error = "Date de fin illisible (format attendu : JJ/MM/AAAA).".into();
        None
    });
    let today = today_paris();
    let month = match q.mois.as_deref().filter(|m| !m.trim().is_empty()) {
        Some(m) => match dates::parse_month(m) {
            Some(ym) => Some(ym),
            None => {
                error = "Mois illisible (format attendu : AAAA-MM).".into();
                Some((today.year(), today.month()))
            }
        },
        None if q.vue.as_deref() == Some("mois") => Some((today.year(), today.month())),
        None => None,
    };
    let weeks = month.and_then(|(y, m)| dates::month_weeks(y, m));
    let (from, to) = match &weeks {
        Some(w) => (Some(w[0][0]), Some(w[w.len() - 1][6])),
        None => (from, to),
    };
    let from = from.unwrap_or(today);
    let commune = q.commune.clone().unwrap_or_default();
    let theme = q.theme.clone().unwrap_or_default();
    let public = q.public.clone().unwrap_or_default();
    // Midnight in Paris, as an instant.
    let midnight = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|d| d.and_local_timezone(Paris).earliest())
            .map(|d| d.with_timezone(&chrono::Utc))
    };
    let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    // The filters run in SQL; only the sessions shown leave the database.
    let filter = store::AgendaFilter {
        from: midnight(from).unwrap_or_else(chrono::Utc::now),
        until: to.and_then(|t| t.succ_opt()).and_then(midnight),
        insee_code: some(&commune),
        audience: some(&public),
        theme: some(&theme),
    };
    let limit = if weeks.is_some() {
        MONTH_MAX
    } else {
        AGENDA_MAX
    };
    // One statement (`storage::public_pages::agenda_page`): the filters run
    // in SQL; only the sessions shown leave the database.
    // One session more than shown: whether others follow, and from when.
    let mut page = crate::storage::public_pages::agenda_page(
        &st.db,
        &slug,
        &filter,
        limit as i64 + 1,
        weeks.is_some(),
    )
    .await?
    .ok_or(AppError::NotFound)?;
    let next = cut_at_a_day(&mut page.sessions, limit, |(_, s)| s.starts_at);
    if let Some(cut) = next.and_then(|(d, _)| midnight(d)) {
        // The regional sessions and the meetings of later days come with
        // the next page.
        page.regional.retain(|(_, s)| s.starts_at < cut);
        page.meetings.retain(|(m, _)| m.starts_at < cut);
    }
    let t = page.territory;
    let places: BTreeMap<i64, Place> = page.places.into_iter().map(|p| (p.id, p)).collect();
    let mut views: Vec<SessionView> = page
        .sessions
        .iter()
        .map(|(e, s)| session_view(e, s, &places))
        .collect();
    let communes = page.communes;
    views.extend(public_meetings(&t.slug, &filter, &communes, &page.meetings));
    views.extend(
        page.regional
            .iter()
            .map(|(e, s)| super::regional::regional_view(e, s, &places)),
    );
    views.sort_by(|a, b| a.start_iso.cmp(&b.start_iso));
    let themes = page.themes;
    let month = match (month, weeks) {
        (Some((y, m)), Some(weeks)) => {
            let world = st
                .worlds
                .get_stamped(&st.db, t.id, page.schedule_stamp.unwrap_or_default())
                .await?;
            let (first, last) = (weeks[0][0], weeks[weeks.len() - 1][6]);
            let commune_f = (!commune.is_empty()).then_some(commune.as_str());
            let mut dropins: BTreeMap<NaiveDate, usize> = BTreeMap::new();
            for r in world.occurrences(first, last, commune_f) {
                if !r.cancelled() {
                    *dropins.entry(r.occ.date).or_default() += 1;
                }
            }
            Some(month_view(y, m, weeks, today, &mut views, &dropins))
        }
        _ => None,
    };
    let filters_query = [
        ("commune", &commune),
        ("theme", &theme),
        ("public", &public),
    ]
    .iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| format!("&{k}={}", url_encode(v)))
    .collect::<String>();
    let next = next.map(|(d, day_cut)| (d.to_string(), dates::long_date_with_weekday(d), day_cut));
    let page = AgendaPage {
        month,
        filters_query,
        next,
        l: ctx.public_layout("Agenda santé", &t.slug, &t.name),
        slug: t.slug.clone(),
        communes,
        themes,
        audiences: Audience::ALL
            .iter()
            .map(|a| (a.as_str(), a.label()))
            .collect(),
        commune,
        theme,
        public,
        du: from.to_string(),
        au: to.map(|d| d.to_string()).unwrap_or_default(),
        sessions: views,
        error,
    };
    Ok(render(&page))
}

// ---------------------------------------------------------------- event page

#[derive(Deserialize, Default, Clone)]
pub struct RegistrationForm {
    #[serde(default)]
    session_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    party_size: String,
    #[serde(default)]
    consent: Option<String>,
    /// « Je suis un·e professionnel·le », asked for professionals' sessions.
    #[serde(default)]
    professional: Option<String>,
    #[serde(default)]
    key: String,
    #[serde(default)]
    site_web: String,
    #[serde(default, rename = "_t")]
    t: String,
}

#[derive(Template)]
#[template(path = "agenda/event.html")]
struct EventPage {
    l: Layout,
    /// Anti-spam stamp (see `web::participation::antispam`).
    stamp: String,
    /// The event's page (`/t/{t}/evenements/{id}` or `/region/agenda/{id}`).
    path: String,
    /// The agenda it belongs to.
    agenda_path: String,
    /// A regional event (professionals' network agenda).
    regional: bool,
    e: Event,
    kind_label: String,
    status_label: String,
    description: Vec<String>,
    sessions: Vec<SessionView>,
    json_ld: String,
    views: i64,
    url: String,
    mail_share: String,
    csrf: String,
    form: RegistrationForm,
    errors: FormErrors,
    registrable: bool,
    /// Some session is for professionals only: the form asks to confirm.
    any_professional: bool,
    /// The fiche action carried out: (« Cet atelier », its public page,
    /// « 1.2.3 — Titre »).
    action: Option<(&'static str, String, String)>,
}

/// `</script>` cannot close the block: `<`, `>` and `&` are written as JSON
/// escapes, which JSON readers decode back.
pub fn json_for_script(v: &serde_json::Value) -> String {
    serde_json::to_string(v)
        .unwrap_or_default()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

fn schema_status(status: &str) -> &'static str {
    match status {
        "cancelled" => "https://schema.org/EventCancelled",
        "postponed" => "https://schema.org/EventPostponed",
        _ => "https://schema.org/EventScheduled",
    }
}

/// Where an event page is: a territory's agenda, or the regional one.
pub enum EventHome<'a> {
    Territory(&'a Territory),
    Region,
}

pub fn event_json_ld(
    e: &Event,
    sessions: &[Session],
    places: &BTreeMap<i64, Place>,
    url: &str,
) -> serde_json::Value {
    use serde_json::json;
    let place_json = |s: &Session| {
        s.place_id.and_then(|p| places.get(&p)).map(|p| {
            json!({
                "@type": "Place",
                "name": p.name,
                "address": {
                    "@type": "PostalAddress",
                    "streetAddress": p.address,
                    "addressLocality": p.commune_name,
                    "addressCountry": "FR"
                }
            })
        })
    };
    let mut v = json!({
        "@context": "https://schema.org",
        "@type": "Event",
        "name": e.title,
        "description": e.description,
        "url": url,
        "eventStatus": schema_status(&e.status),
        "eventAttendanceMode": "https://schema.org/OfflineEventAttendanceMode",
        "organizer": { "@type": "Organization", "name": e.organiser },
        "keywords": e.theme_list().join(", "),
    });
    if !sessions.is_empty() && sessions.iter().all(|s| s.cancelled) {
        v["eventStatus"] = json!("https://schema.org/EventCancelled");
    }
    if let (Some(first), Some(last)) = (sessions.first(), sessions.last()) {
        v["startDate"] = json!(dates::paris_iso(first.starts_at));
        v["endDate"] = json!(dates::paris_iso(last.ends_at));
        if let Some(p) = place_json(first) {
            v["location"] = p;
        }
    }
    if sessions.len() > 1 {
        v["subEvent"] = serde_json::Value::Array(
            sessions
                .iter()
                .map(|s| {
                    let mut sub = json!({
                        "@type": "Event",
                        "name": e.title,
                        "startDate": dates::paris_iso(s.starts_at),
                        "endDate": dates::paris_iso(s.ends_at),
                        "eventStatus": if s.cancelled { "https://schema.org/EventCancelled" } else { schema_status(&e.status) },
                    });
                    if let Some(p) = place_json(s) {
                        sub["location"] = p;
                    }
                    sub
                })
                .collect(),
        );
    }
    v
}

/// A keyed hash of address and user agent under a key that changes every
/// day: the same visitor gives the same value all day, and nothing links two
/// days or leads back to the address.
pub fn visitor_hash(secret: &[u8], day: NaiveDate, ip: &str, ua: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut day_key = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret).expect("any key length");
    day_key.update(format!("event-views|{day}").as_bytes());
    let key = day_key.finalize().into_bytes();
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&key).expect("any key length");
    mac.update(ip.as_bytes());
    mac.update(b"|");
    mac.update(ua.as_bytes());
    crate::web::session::b64(&mac.finalize().into_bytes()[..16])
}

async fn load_event(st: &AppState, t: &Territory, id: &str) -> Result<Event, AppError> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    match store::get_event(&st.db, t.id, id).await {
        Ok(e) => Ok(e),
        Err(DbError::NotFound) => Err(AppError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// What an event page shows besides the event and the form.
pub struct EventShown {
    pub sessions: Vec<Session>,
    /// The places its sessions may be held at, by id.
    pub places: BTreeMap<i64, Place>,
    /// The fiche action carried out (a territory's event).
    pub action: Option<store::ActionChoice>,
    pub views: i64,
}

#[allow(clippy::too_many_arguments)]
pub async fn event_page_response(
    st: &AppState,
    ctx: &Ctx,
    home: EventHome<'_>,
    e: Event,
    form: RegistrationForm,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let sessions = store::sessions(&st.db, e.id).await?;
    let places = match home {
        EventHome::Territory(t) => places_map(st, t.id).await?,
        EventHome::Region => store::all_places(&st.db)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect(),
    };
    let action = match (&home, e.action_id) {
        (EventHome::Territory(t), Some(a)) => store::action_choice(&st.db, t.id, a).await?,
        _ => None,
    };
    let views = store::view_count(&st.db, e.id).await?;
    let home = match home {
        EventHome::Territory(t) => ShownHome::Territory {
            slug: &t.slug,
            name: &t.name,
        },
        EventHome::Region => ShownHome::Region,
    };
    let shown = EventShown {
        sessions,
        places,
        action,
        views,
    };
    Ok(render_event_page(
        st, ctx, home, e, shown, form, errors, status,
    ))
}

/// Where a shown event page is: a territory's agenda (its slug and name),
/// or the regional one.
#[derive(Clone, Copy)]
enum ShownHome<'a> {
    Territory { slug: &'a str, name: &'a str },
    Region,
}

#[allow(clippy::too_many_arguments)]
fn render_event_page(
    st: &AppState,
    ctx: &Ctx,
    home: ShownHome<'_>,
    e: Event,
    shown: EventShown,
    form: RegistrationForm,
    errors: FormErrors,
    status: StatusCode,
) -> Response {
    let EventShown {
        sessions,
        places,
        action,
        views,
    } = shown;
    let (path, agenda_path, layout) = match home {
        ShownHome::Territory { slug, name } => (
            format!("/t/{}/evenements/{}", slug, e.id),
            format!("/t/{}/agenda", slug),
            ctx.public_layout(e.title.clone(), slug, name),
        ),
        ShownHome::Region => (
            format!("/region/agenda/{}", e.id),
            "/region/agenda".to_owned(),
            ctx.layout(e.title.clone()),
        ),
    };
    let regional = matches!(home, ShownHome::Region);
    let action = match (&home, action) {
        (ShownHome::Territory { slug, .. }, Some(a)) => {
            let subject = if e.kind == "workshop" {
                "Cet atelier"
            } else {
                "Cet événement"
            };
            let href = format!("/t/{}/actions/{}", slug, url_encode(&a.code));
            Some((subject, href, a.label()))
        }
        _ => None,
    };
    let url = format!("{}{path}", st.config.public_url.trim_end_matches('/'));
    let json_ld = json_for_script(&event_json_ld(&e, &sessions, &places, &url));
    let views_sessions: Vec<SessionView> = sessions
        .iter()
        .map(|s| session_view(&e, s, &places))
        .collect();
    // Regional events are announced here; registration stays with the
    // organiser for now (the registration flow is a territory's).
    let registrable = !regional
        && e.status == "confirmed"
        && views_sessions.iter().any(|s| !s.cancelled && !s.past);
    let any_professional = views_sessions
        .iter()
        .any(|s| s.for_professionals && !s.cancelled && !s.past);
    let mail_share = format!(
        "mailto:?subject={}&body={}",
        url_encode(&e.title),
        url_encode(&format!("{}\n{}", e.title, url))
    );
    let form = if form.key.is_empty() {
        RegistrationForm {
            key: crate::accounts::random_token(),
            party_size: "1".into(),
            ..form
        }
    } else {
        form
    };
    let page = EventPage {
        stamp: crate::web::participation::antispam::stamp(st),
        l: layout,
        path,
        agenda_path,
        regional,
        kind_label: EventKind::parse(&e.kind)
            .map(|k| k.label())
            .unwrap_or("")
            .to_owned(),
        status_label: EventStatus::parse(&e.status)
            .map(|k| k.label())
            .unwrap_or("")
            .to_owned(),
        description: crate::web::pages::paragraphs(&e.description),
        sessions: views_sessions,
        json_ld,
        views,
        url,
        mail_share,
        csrf: ctx.csrf(),
        form,
        errors,
        registrable,
        any_professional,
        action,
        e,
    };
    (status, render(&page)).into_response()
}

/// The public event page: one statement (`storage::public_pages::
/// event_page`), then the visit is counted (`store::record_view`, one
/// transaction) and shown in the count.
pub async fn event_page(
    State(st): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let crate::storage::public_pages::EventPage {
        territory_id: _,
        territory_slug,
        territory_name,
        event: e,
        sessions,
        places,
        action,
        views,
    } = crate::storage::public_pages::event_page(&st.db, &slug, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let ip = crate::web::admin::client_ip(&st, peer, &headers);
    let ua = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let day = today_paris();
    let counted =
        store::record_view(&st.db, e.id, day, &visitor_hash(&st.secret, day, &ip, ua)).await?;
    let shown = EventShown {
        sessions,
        places: places.into_iter().map(|p| (p.id, p)).collect(),
        action,
        views: views + i64::from(counted),
    };
    Ok(render_event_page(
        &st,
        &ctx,
        ShownHome::Territory {
            slug: &territory_slug,
            name: &territory_name,
        },
        e,
        shown,
        RegistrationForm::default(),
        FormErrors::default(),
        StatusCode::OK,
    ))
}

#[derive(Template)]
#[template(path = "agenda/message.html")]
struct MessagePage {
    l: Layout,
    heading: String,
    paragraphs: Vec<String>,
    link: Option<(String, String)>,
    /// The session's own `.ics` (registration confirmation).
    calendar: Option<String>,
    cancel_form: Option<String>,
    csrf: String,
    back: (String, String),
}

pub async fn register(
    State(st): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ctx: Ctx,
    Form(form): Form<RegistrationForm>,
) -> Result<Response, AppError> {
    let t = load_public_territory(&st, &slug).await?;
    let e = load_event(&st, &t, &id).await?;
    let mut errors = FormErrors::default();
    let sessions = store::sessions(&st.db, e.id).await?;
    let session = form
        .session_id
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(|sid| sessions.iter().find(|s| s.id == sid).cloned());
    if session.is_none() {
        errors.push("session_id", "Choisissez une séance.");
    }
    if session
        .as_ref()
        .is_some_and(|s| s.audience != "public" && form.professional.is_none())
    {
        errors.push(
            "professional",
            "Cette séance est réservée aux professionnels : cochez « Je suis un·e professionnel·le » pour vous inscrire, ou choisissez une séance tout public.",
        );
    }
    if e.status != "confirmed" {
        errors.push(
            "session_id",
            "Les inscriptions ne sont pas ouvertes pour cet événement.",
        );
    }
    let parsed = NewRegistration::parse(
        &form.name,
        &form.email,
        &form.phone,
        &form.party_size,
        form.consent.is_some(),
    );
    let reg = match parsed {
        Ok(r) => Some(r),
        Err(list) => {
            for (f, m) in list {
                errors.push(f, m);
            }
            None
        }
    };
    // The same protection as the other public forms, once the input is
    // right (what was typed is kept either way).
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    if errors.is_empty() {
        use crate::web::participation::antispam::{self, Verdict};
        let v = antispam::check(
            &st,
            peer,
            &headers,
            &form.site_web,
            &form.t,
            "registration",
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
    if let (Some(s), Some(r), true) = (&session, &reg, errors.is_empty()) {
        let key = (!form.key.trim().is_empty()).then(|| form.key.trim().to_owned());
        match store::register(&st.db, s.id, r, key.as_deref(), "public").await {
            Ok((reg, token)) => {
                let when = format!("{}, {}", dates::paris_datetime(s.starts_at), e.title);
                let mut paragraphs = vec![match reg.status.as_str() {
                    "confirmed" => format!(
                        "Votre inscription est confirmée ({} personne{}) : {when}.",
                        reg.party_size,
                        if reg.party_size > 1 { "s" } else { "" }
                    ),
                    _ => format!(
                        "La séance est complète : vous êtes sur la liste d’attente ({when}). Si une place se libère, votre inscription sera confirmée dans l’ordre d’arrivée."
                    ),
                }];
                if let Some(tok) = &token {
                    super::notify::registration(&st, &t.slug, &e.title, s.starts_at, &reg, tok);
                }
                if let Some(pid) = s.place_id {
                    if let Ok(p) = store::get_place(&st.db, t.id, pid).await {
                        paragraphs.push(format!(
                            "Lieu : {}, {}, {}.",
                            p.name, p.address, p.commune_name
                        ));
                    }
                }
                // Never promise a message that cannot be sent.
                paragraphs.push(match (&reg.email, &st.mailer) {
                    (None, _) => "Vous n’avez pas laissé d’adresse e-mail : aucun courriel ne vous sera envoyé. Notez la date et l’heure ; en cas de changement, la coordination vous appellera au numéro laissé.".into(),
                    (Some(_), None) => "Ce site n’envoie pas de courriel pour le moment : vous ne recevrez pas de confirmation ni de rappel par e-mail. Notez la date et l’heure, et gardez le lien ci-dessous.".into(),
                    (Some(addr), Some(_)) => format!("Une confirmation part à l’adresse {addr}, et un rappel la veille."),
                });
                let link = match token {
                    Some(tok) => {
                        paragraphs.push("Gardez ce lien : il permet d’annuler votre inscription et de libérer la place pour quelqu’un d’autre.".into());
                        let href = format!("/t/{}/inscriptions/{}", t.slug, tok);
                        Some((
                            format!("{}{}", st.config.public_url.trim_end_matches('/'), href),
                            href,
                        ))
                    }
                    None => {
                        paragraphs.push("Ce formulaire avait déjà été envoyé : votre inscription n’a été enregistrée qu’une fois.".into());
                        None
                    }
                };
                let page = MessagePage {
                    l: ctx.public_layout("Inscription enregistrée", &t.slug, &t.name),
                    heading: if reg.status == "confirmed" {
                        "Inscription confirmée".into()
                    } else {
                        "Inscription en liste d’attente".into()
                    },
                    paragraphs,
                    link: link.map(|(text, href)| (href, text)),
                    cancel_form: None,
                    calendar: Some(format!("/t/{}/seances/{}/calendrier.ics", t.slug, s.id)),
                    csrf: String::new(),
                    back: (
                        format!("/t/{}/evenements/{}", t.slug, e.id),
                        "Retour à l’événement".into(),
                    ),
                };
                return Ok(render(&page));
            }
            Err(RegisterError::Db(err)) => return Err(err.into()),
            Err(other) => errors.push("session_id", other.to_string()),
        }
    }
    event_page_response(&st, &ctx, EventHome::Territory(&t), e, form, errors, status).await
}

pub async fn cancel_form(
    State(st): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let t = load_public_territory(&st, &slug).await?;
    let reg = match store::registration_by_token(&st.db, &token).await {
        Ok(r) => r,
        Err(DbError::NotFound) => return Err(AppError::NotFound),
        Err(e) => return Err(e.into()),
    };
    let s = store::get_session(&st.db, reg.session_id).await?;
    let e = store::get_event(&st.db, t.id, s.event_id)
        .await
        .map_err(|_| AppError::NotFound)?;
    let when = format!("{} — {}", e.title, dates::paris_datetime(s.starts_at));
    let (heading, paragraphs, cancel_form) = if reg.status == "cancelled" {
        (
            "Inscription annulée".to_owned(),
            vec![format!("Cette inscription est déjà annulée : {when}.")],
            None,
        )
    } else {
        (
            "Annuler mon inscription".to_owned(),
            vec![
                format!(
                    "Inscription de {} ({} personne{}) : {when}.",
                    reg.name,
                    reg.party_size,
                    if reg.party_size > 1 { "s" } else { "" }
                ),
                format!("Statut : {}.", reg.status().label()),
            ],
            Some(format!("/t/{}/inscriptions/{}", t.slug, token)),
        )
    };
    Ok(render(&MessagePage {
        l: ctx.public_layout("Mon inscription", &t.slug, &t.name),
        heading,
        paragraphs,
        link: None,
        cancel_form,
        calendar: None,
        csrf: ctx.csrf(),
        back: (
            format!("/t/{}/evenements/{}", t.slug, e.id),
            "Voir l’événement".into(),
        ),
    }))
}

pub async fn cancel(
    State(st): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let t = load_public_territory(&st, &slug).await?;
    let reg = match store::registration_by_token(&st.db, &token).await {
        Ok(r) => r,
        Err(DbError::NotFound) => return Err(AppError::NotFound),
        Err(e) => return Err(e.into()),
    };
    let s = store::get_session(&st.db, reg.session_id).await?;
    let e = store::get_event(&st.db, t.id, s.event_id)
        .await
        .map_err(|_| AppError::NotFound)?;
    let (_, promoted) = store::cancel_by_token(&st.db, &token).await?;
    super::notify::registration_cancelled_sms(&st, reg.id).await;
    super::notify::promoted(&st, &t.slug, &e.title, s.starts_at, &promoted).await;
    Ok(render(&MessagePage {
        l: ctx.public_layout("Inscription annulée", &t.slug, &t.name),
        heading: "Inscription annulée".into(),
        paragraphs: vec![format!(
            "Votre inscription à « {} » ({}) est annulée. Merci d’avoir libéré la place.",
            e.title,
            dates::paris_datetime(s.starts_at)
        )],
        link: None,
        cancel_form: None,
        calendar: None,
        csrf: String::new(),
        back: (format!("/t/{}/agenda", t.slug), "Retour à l’agenda".into()),
    }))
}
