//! The public page of the health mediators' drop-ins (permanences), in three
//! shapes:
//!
//! - by place (the default): one card per place with each series' rhythm in
//!   words, its next dates, announced changes, services, the number to call
//!   and a directions link;
//! - every date of a period, grouped by commune or by day (`du`, `au`, `vue`);
//! - the printable planning of a month per commune (`mois=AAAA-MM`), with the
//!   coordination's contact on it.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, Duration, NaiveDate};
use serde::Deserialize;

use super::public::{occ_view, OccView};
use super::{opt_date, today_paris, SeriesWorld};
use crate::domain::agenda::event::Access;
use crate::domain::agenda::recurrence::{self, OccurrenceStatus};
use crate::domain::dates;
use crate::storage::agenda::ActionChoice;
use crate::storage::communes::Commune;
use crate::storage::territories::Territory;
use crate::web::error::AppError;
use crate::web::pages::{render, url_encode, Ctx, Layout};
use crate::web::AppState;

/// How many coming dates a place card lists per series.
const CARD_NEXT: usize = 3;
/// How far ahead a card looks for dates and announced changes.
const CARD_WEEKS: i64 = 10;

pub struct Group {
    pub heading: String,
    pub rows: Vec<OccView>,
}

/// A date on a place card.
pub struct CardDate {
    pub label: String,
    pub iso: String,
    pub time_label: String,
    /// « annulée », « déplacée », or empty.
    pub change: String,
    pub note: String,
}

/// One drop-in series as shown on its place's card.
pub struct SeriesCard {
    pub title: String,
    /// « un mardi sur deux, de 14 h à 16 h ».
    pub rhythm: String,
    /// « sans rendez-vous » / « sur rendez-vous ».
    pub access_label: String,
    pub mediators: String,
    pub services: Vec<String>,
    pub next: Vec<CardDate>,
    /// Cancelled or moved dates within the look-ahead, beyond `next`.
    pub changes: Vec<CardDate>,
    /// « Dernière permanence le 30/06/2027 » when the series ends soon.
    pub ending: String,
    /// The fiche action carried out: (code, « 1.2.3 — Titre »).
    pub action: Option<(String, String)>,
    /// The series' id when it takes online bookings (its booking page).
    pub booking_id: Option<i64>,
}

/// One place, with the series held there.
pub struct PlaceCard {
    pub id: i64,
    pub name: String,
    pub address: String,
    pub commune: String,
    pub access_notes: String,
    /// The place's own number, or empty (the coordination's is shown).
    pub phone: String,
    pub phone_href: String,
    /// A route planner's search for the address (OpenStreetMap).
    pub directions_url: String,
    pub series: Vec<SeriesCard>,
}

/// The places of one commune.
pub struct CommuneCards {
    pub commune: String,
    pub places: Vec<PlaceCard>,
}

/// One line of the printable month planning.
pub struct PlanningRow {
    pub date_label: String,
    pub date_iso: String,
    pub time_label: String,
    pub place: String,
    pub title: String,
    pub access_label: String,
    pub change: String,
}

pub struct PlanningGroup {
    pub commune: String,
    pub rows: Vec<PlanningRow>,
}

/// The coordination's contact, printed on the plannings.
pub struct Contact {
    pub name: String,
    pub phone: String,
    pub phone_href: String,
    pub email: String,
    pub address: String,
}

impl Contact {
    fn of(t: &Territory) -> Contact {
        Contact {
            name: t.contact_name.clone(),
            phone: t.contact_phone.clone(),
            phone_href: tel_href(&t.contact_phone),
            email: t.contact_email.clone(),
            address: t.contact_address.clone(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.name.is_empty() && self.phone.is_empty() && self.email.is_empty()
    }
}

/// `tel:` link of a French number as stored (`03 21 69 86 00`, `+33 3…`).
pub fn tel_href(phone: &str) -> String {
    let digits: String = phone
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect();
    if digits.is_empty() {
        String::new()
    } else {
        format!("tel:{digits}")
    }
}

/// A route planner's search for an address, opened by the visitor's choice
/// (nothing is fetched from elsewhere by the page itself).
pub fn directions_url(address: &str, commune: &str) -> String {
    let query = [address.trim(), commune.trim()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "https://www.openstreetmap.org/search?query={}",
        url_encode(&query)
    )
}

/// The services of a series, one per line as typed.
pub fn service_list(services: &str) -> Vec<String> {
    services
        .lines()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn access_label(access: &str) -> String {
    Access::parse(access)
        .map(|a| a.label())
        .unwrap_or("")
        .to_owned()
}

/// The place cards of a territory's drop-ins, per commune, from `today`.
pub fn place_cards(
    world: &SeriesWorld,
    actions: &[ActionChoice],
    bookable: &[i64],
    today: NaiveDate,
    commune: Option<&str>,
) -> Vec<CommuneCards> {
    let horizon = today + Duration::weeks(CARD_WEEKS);
    let mut by_place: BTreeMap<i64, Vec<SeriesCard>> = BTreeMap::new();
    let expanded = world.expanded(today, horizon);
    for ((s, schedule, _), occurrences) in world.items.iter().zip(expanded.iter()) {
        if schedule.last_date() < today {
            continue;
        }
        let date_of = |o: &recurrence::Occurrence| {
            let moved_place = o
                .place_id
                .filter(|p| *p != s.place_id)
                .and_then(|p| world.places.get(&p));
            let change = match o.status {
                OccurrenceStatus::Cancelled => "annulée".to_owned(),
                OccurrenceStatus::Moved => match moved_place {
                    Some(p) => format!("déplacée : {}, {}", p.name, p.commune_name),
                    None if o.original_date != o.date => format!(
                        "déplacée (au lieu du {})",
                        dates::long_date_with_weekday(o.original_date)
                    ),
                    None => "horaire modifié".to_owned(),
                },
                _ => String::new(),
            };
            CardDate {
                label: dates::long_date_with_weekday(o.date),
                iso: o.date.to_string(),
                time_label: format!(
                    "de {} à {}",
                    recurrence::short_time(o.start.time()),
                    recurrence::short_time(o.end.time())
                ),
                change,
                note: o.note.clone(),
            }
        };
        let next: Vec<CardDate> = occurrences.iter().take(CARD_NEXT).map(date_of).collect();
        let mut changes: Vec<(NaiveDate, CardDate)> = occurrences
            .iter()
            .skip(CARD_NEXT)
            .filter(|o| o.status != OccurrenceStatus::Scheduled)
            .map(|o| (o.date, date_of(o)))
            .collect();
        // Public holidays skipped (unless a coordinator chose to hold one).
        for d in schedule.holiday_dates() {
            if d < today || d > horizon || occurrences.iter().any(|o| o.original_date == d) {
                continue;
            }
            changes.push((
                d,
                CardDate {
                    label: dates::long_date_with_weekday(d),
                    iso: d.to_string(),
                    time_label: String::new(),
                    change: format!(
                        "{}, jour férié : pas de permanence",
                        crate::domain::agenda::holidays::holiday_name(d).unwrap_or("férié")
                    ),
                    note: String::new(),
                },
            ));
        }
        changes.sort_by_key(|(d, _)| *d);
        let changes: Vec<CardDate> = changes.into_iter().map(|(_, c)| c).collect();
        let last = schedule.last_date();
        let ending = if last <= horizon && last >= today {
            format!(
                "Dernière permanence le {}.",
                dates::long_date_with_weekday(last)
            )
        } else {
            String::new()
        };
        by_place.entry(s.place_id).or_default().push(SeriesCard {
            title: s.title.clone(),
            rhythm: recurrence::describe(schedule),
            access_label: access_label(&s.access),
            mediators: s.mediators.lines().collect::<Vec<_>>().join(", "),
            services: service_list(&s.services),
            next,
            changes,
            ending,
            action: s
                .action_id
                .and_then(|a| actions.iter().find(|x| x.id == a))
                .map(|a| (a.code.clone(), a.label())),
            booking_id: bookable.contains(&s.id).then_some(s.id),
        });
    }
    let mut communes: BTreeMap<(String, String), Vec<PlaceCard>> = BTreeMap::new();
    for (place_id, series) in by_place {
        let Some(p) = world.places.get(&place_id) else {
            continue;
        };
        if commune.is_some_and(|c| c != p.insee_code) {
            continue;
        }
        communes
            .entry((p.commune_name.clone(), p.insee_code.clone()))
            .or_default()
            .push(PlaceCard {
                id: p.id,
                name: p.name.clone(),
                address: p.address.clone(),
                commune: p.commune_name.clone(),
                access_notes: p.access_notes.clone(),
                phone: p.phone.clone(),
                phone_href: tel_href(&p.phone),
                directions_url: directions_url(&p.address, &p.commune_name),
                series,
            });
    }
    communes
        .into_iter()
        .map(|((commune, _), mut places)| {
            places.sort_by(|a, b| a.name.cmp(&b.name));
            CommuneCards { commune, places }
        })
        .collect()
}

#[derive(Deserialize, Default)]
pub struct PermanencesQuery {
    commune: Option<String>,
    du: Option<String>,
    au: Option<String>,
    /// `AAAA-MM`: printable planning of that month, per commune.
    mois: Option<String>,
    /// `lieux` (default without a period), `communes` (default with one) or
    /// `dates`.
    vue: Option<String>,
}

#[derive(Template)]
#[template(path = "agenda/permanences.html")]
struct PermanencesPage {
    l: Layout,
    slug: String,
    communes: Vec<Commune>,
    commune: String,
    du: String,
    au: String,
    vue: String,
    month_label: String,
    groups: Vec<Group>,
    cards: Arc<Vec<CommuneCards>>,
    planning: Vec<PlanningGroup>,
    contact: Contact,
    error: String,
    ics: String,
    months: Vec<(String, String)>,
}

pub async fn permanences(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<PermanencesQuery>,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let commune = q.commune.clone().unwrap_or_default();
    let commune_f = (!commune.is_empty()).then_some(commune.as_str());
    let today = today_paris();
    let mut error = String::new();
    let month = q.mois.as_deref().and_then(|m| {
        let (y, mo) = m.split_once('-')?;
        recurrence::month_bounds(y.parse().ok()?, mo.parse().ok()?)
    });
    let period_given = q.du.as_deref().is_some_and(|s| !s.trim().is_empty())
        || q.au.as_deref().is_some_and(|s| !s.trim().is_empty());
    let (from, to) = if let Some(b) = month {
        b
    } else {
        let from = opt_date(&q.du).unwrap_or_else(|_| {
            error = "Date de début illisible (format attendu : JJ/MM/AAAA).".into();
            None
        });
        let to = opt_date(&q.au).unwrap_or_else(|_| {
            error = "Date de fin illisible (format attendu : JJ/MM/AAAA).".into();
            None
        });
        let from = from.unwrap_or(today);
        let to = to.unwrap_or(from + Duration::weeks(8));
        (from, to.min(from + Duration::days(366)))
    };
    if to < from && error.is_empty() {
        error = "La date de fin est avant la date de début.".into();
    }
    let vue = match (month.is_some(), q.vue.as_deref()) {
        (true, _) => "mois",
        (false, Some("dates")) => "dates",
        (false, Some("communes")) => "communes",
        (false, Some("lieux")) => "lieux",
        (false, _) if period_given => "communes",
        _ => "lieux",
    };
    // One statement (`storage::public_pages::permanences_page`), the
    // schedule from this process's cache, checked against the stamp read.
    let page = crate::storage::public_pages::permanences_page(&st.db, &slug, vue == "lieux")
        .await?
        .ok_or(AppError::NotFound)?;
    let t = page.territory;
    let world = st
        .worlds
        .get_stamped(&st.db, t.id, page.schedule_stamp)
        .await?;
    let communes = page.communes;
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    let mut planning: BTreeMap<String, PlanningGroup> = BTreeMap::new();
    let mut cards = Arc::new(Vec::new());
    match vue {
        "lieux" => {
            // Built once per schedule, day, commune and the actions and
            // bookable series read with the page (their fingerprint).
            let inputs = {
                use std::hash::{Hash, Hasher};
                let mut h = std::collections::hash_map::DefaultHasher::new();
                for a in &page.actions {
                    (a.id, &a.code, &a.title).hash(&mut h);
                }
                page.bookable.hash(&mut h);
                h.finish()
            };
            cards = world.view(
                ("place_cards", today, commune_f.map(str::to_owned), inputs),
                || place_cards(&world, &page.actions, &page.bookable, today, commune_f),
            );
        }
        "mois" => {
            for r in world.occurrences(from, to, commune_f) {
                let key = format!("{}|{}", r.place.commune_name, r.place.insee_code);
                let change = if r.cancelled() {
                    "annulée".to_owned()
                } else if r.moved() {
                    "horaire ou lieu modifié".to_owned()
                } else {
                    String::new()
                };
                planning
                    .entry(key)
                    .or_insert_with(|| PlanningGroup {
                        commune: r.place.commune_name.clone(),
                        rows: Vec::new(),
                    })
                    .rows
                    .push(PlanningRow {
                        date_label: dates::weekday_day_month(r.occ.date),
                        date_iso: r.occ.date.to_string(),
                        time_label: format!(
                            "{} – {}",
                            recurrence::short_time(r.occ.start.time()),
                            recurrence::short_time(r.occ.end.time())
                        ),
                        place: format!("{}, {}", r.place.name, r.place.address),
                        title: r.series.title.clone(),
                        access_label: access_label(&r.series.access),
                        change,
                    });
            }
        }
        _ => {
            let by_dates = vue == "dates";
            for r in &world.occurrences(from, to, commune_f) {
                let (key, heading) = if by_dates {
                    (
                        r.occ.date.to_string(),
                        dates::long_date_with_weekday(r.occ.date),
                    )
                } else {
                    (
                        format!("{}|{}", r.place.commune_name, r.place.insee_code),
                        r.place.commune_name.clone(),
                    )
                };
                groups
                    .entry(key)
                    .or_insert_with(|| Group {
                        heading,
                        rows: Vec::new(),
                    })
                    .rows
                    .push(occ_view(r));
            }
        }
    }
    let months = (0..6)
        .map(|i| {
            let m0 = today.month0() + i;
            let (y, m) = (today.year() + (m0 / 12) as i32, m0 % 12 + 1);
            (
                format!("{y}-{m:02}"),
                format!("{} {y}", dates::month_name(m)),
            )
        })
        .collect();
    let ics = if commune.is_empty() {
        format!("/t/{}/permanences.ics", t.slug)
    } else {
        format!(
            "/t/{}/permanences.ics?commune={}",
            t.slug,
            url_encode(&commune)
        )
    };
    let month_label = month
        .map(|(f, _)| format!("{} {}", dates::month_name(f.month()), f.year()))
        .unwrap_or_default();
    let title = if month_label.is_empty() {
        "Permanences des médiateurs santé".to_owned()
    } else {
        format!("Permanences des médiateurs santé — {month_label}")
    };
    let page = PermanencesPage {
        l: ctx.public_layout(title, &t.slug, &t.name),
        slug: t.slug.clone(),
        communes,
        du: if period_given || vue != "lieux" {
            from.to_string()
        } else {
            String::new()
        },
        au: if period_given || vue != "lieux" {
            to.to_string()
        } else {
            String::new()
        },
        vue: vue.to_owned(),
        month_label,
        groups: groups.into_values().collect(),
        cards,
        planning: planning.into_values().collect(),
        contact: Contact::of(&t),
        commune,
        error,
        ics,
        months,
    };
    let status = if page.error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok((status, render(&page)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_links_keep_digits_and_plus() {
        assert_eq!(tel_href("03 21 69 86 00"), "tel:0321698600");
        assert_eq!(tel_href("+33 3 21 69 86 00"), "tel:+33321698600");
        assert_eq!(tel_href(""), "");
    }

    #[test]
    fn directions_search_the_address_in_its_commune() {
        let u = directions_url("12 rue Émile Zola", "Lens");
        assert!(u.starts_with("https://www.openstreetmap.org/search?query="));
        assert!(u.contains("Lens"), "{u}");
        assert!(!u.contains(' '), "{u}");
    }

    #[test]
    fn services_one_per_line() {
        assert_eq!(
            service_list("Écoute\n\n  Aide aux démarches \n"),
            vec!["Écoute", "Aide aux démarches"]
        );
    }
}
