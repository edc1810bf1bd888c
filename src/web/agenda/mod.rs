//! Agenda pages, feeds and API: drop-in series (permanences), events,
//! registrations. Public pages under `/t/{territory}/…`, back office under
//! `/admin/t/{territory}/agenda…`, feeds `agenda.ics` / `permanences.ics`,
//! API under `/api/v1/territories/{territory}/…`.

mod admin;
mod api;
mod calendar;
mod feeds;
mod manage;
pub mod notify;
mod permanences;
pub mod public;
mod regional;
mod slots;
pub mod world_cache;

pub use notify::{housekeeping, housekeeping_loop};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;

use super::access::{Access, Routes};
use crate::domain::agenda::recurrence::{self, Exception, Occurrence, OccurrenceStatus, Schedule};
use crate::domain::roles::Role;
use crate::storage::agenda::{self as store, Place, Series};
use crate::storage::{Db, DbResult};

pub fn routes(r: Routes) -> Routes {
    use Access::*;
    let partner = Territory(Role::Partner);
    // Registration lists hold names, e-mails and phones: the event's
    // organisers (checked by the handlers) and the coordinators only.
    let organiser = Personal(Role::Partner);
    let r = r
        .get("/t/{territory}/permanences", Public, public::permanences)
        .get(
            "/t/{territory}/permanences.ics",
            Public,
            feeds::permanences_ics,
        )
        .get("/t/{territory}/agenda", Public, public::agenda)
        .get("/t/{territory}/agenda.ics", Public, feeds::agenda_ics)
        .get(
            "/t/{territory}/seances/{id}/calendrier.ics",
            Public,
            feeds::session_ics,
        )
        .get("/t/{territory}/evenements/{id}", Public, public::event_page)
        .post(
            "/t/{territory}/evenements/{id}/inscription",
            Public,
            public::register,
        )
        .get(
            "/t/{territory}/permanences/{id}/rendez-vous",
            Public,
            slots::page,
        )
        .post(
            "/t/{territory}/permanences/{id}/rendez-vous",
            Public,
            slots::book,
        )
        .get(
            "/t/{territory}/rendez-vous/{token}",
            Public,
            slots::cancel_form,
        )
        .post("/t/{territory}/rendez-vous/{token}", Public, slots::cancel)
        .get(
            "/t/{territory}/inscriptions/{token}",
            Public,
            public::cancel_form,
        )
        .post(
            "/t/{territory}/inscriptions/{token}",
            Public,
            public::cancel,
        )
        .get(
            "/admin/t/{territory}/agenda",
            Territory(Role::Member),
            admin::home,
        )
        .post("/admin/t/{territory}/lieux", partner, admin::place_create)
        .get(
            "/admin/t/{territory}/lieux/{id}",
            partner,
            manage::place_edit,
        )
        .post(
            "/admin/t/{territory}/lieux/{id}",
            partner,
            manage::place_update,
        )
        .get(
            "/admin/t/{territory}/lieux/{id}/supprimer",
            partner,
            manage::place_delete_confirm,
        )
        .post(
            "/admin/t/{territory}/lieux/{id}/supprimer",
            partner,
            manage::place_delete,
        )
        .get(
            "/admin/t/{territory}/permanences/{id}/arreter",
            partner,
            manage::series_end_confirm,
        )
        .post(
            "/admin/t/{territory}/permanences/{id}/arreter",
            partner,
            manage::series_end,
        )
        .get(
            "/admin/t/{territory}/seances/{id}",
            partner,
            manage::session_edit,
        )
        .post(
            "/admin/t/{territory}/seances/{id}",
            partner,
            manage::session_update,
        )
        .get(
            "/admin/t/{territory}/seances/{id}/annulation",
            partner,
            manage::session_cancel_confirm,
        )
        .get(
            "/admin/t/{territory}/seances/{id}/supprimer",
            partner,
            manage::session_delete_confirm,
        )
        .post(
            "/admin/t/{territory}/seances/{id}/supprimer",
            partner,
            manage::session_delete,
        )
        .get(
            "/admin/t/{territory}/permanences/nouvelle",
            partner,
            admin::series_new,
        )
        .post(
            "/admin/t/{territory}/permanences",
            partner,
            admin::series_create,
        )
        .get(
            "/admin/t/{territory}/permanences/{id}",
            partner,
            admin::series_edit,
        )
        .post(
            "/admin/t/{territory}/permanences/{id}",
            partner,
            admin::series_update,
        )
        .post(
            "/admin/t/{territory}/permanences/{id}/exceptions",
            partner,
            admin::exception_save,
        )
        // Attendance: partners and coordinators record, regional staff read.
        .get(
            "/admin/t/{territory}/permanences/{id}/frequentation",
            partner,
            admin::attendance_list,
        )
        .get(
            "/admin/t/{territory}/permanences/{id}/frequentation/{date}",
            partner,
            admin::attendance_edit,
        )
        .post(
            "/admin/t/{territory}/permanences/{id}/frequentation/{date}",
            partner,
            admin::attendance_save,
        )
        .post(
            "/admin/t/{territory}/permanences/{id}/frequentation/{date}/supprimer",
            partner,
            admin::attendance_delete,
        )
        // Slots (issue 16): the coordination sets them and names the
        // mediators; bookings hold names and phones: the coordination and
        // the series' mediators (checked by the handlers) only.
        .get(
            "/admin/t/{territory}/permanences/{id}/creneaux",
            Territory(Role::Coordinator),
            admin::slot_settings,
        )
        .post(
            "/admin/t/{territory}/permanences/{id}/creneaux",
            Territory(Role::Coordinator),
            admin::slot_settings_save,
        )
        .get(
            "/admin/t/{territory}/permanences/{id}/rendez-vous",
            organiser,
            admin::bookings_overview,
        )
        .get(
            "/admin/t/{territory}/permanences/{id}/rendez-vous/{date}",
            organiser,
            admin::occurrence_day,
        )
        .post(
            "/admin/t/{territory}/permanences/{id}/rendez-vous/{date}",
            organiser,
            admin::phone_book,
        )
        .post(
            "/admin/t/{territory}/permanences/{id}/rendez-vous/{date}/pointage",
            organiser,
            admin::check_in,
        )
        .post(
            "/admin/t/{territory}/permanences/{id}/rendez-vous/{date}/sans-rendez-vous",
            organiser,
            admin::walk_ins_save,
        )
        .get(
            "/admin/t/{territory}/permanences/{id}/activite/{date}",
            organiser,
            admin::activity_day,
        )
        .post(
            "/admin/t/{territory}/permanences/{id}/activite/{date}",
            organiser,
            admin::activity_add,
        )
        .post(
            "/admin/t/{territory}/permanences/{id}/activite/{date}/suppression",
            organiser,
            admin::activity_delete,
        )
        // Counts only: the coordination, and regional staff reading.
        .get(
            "/admin/t/{territory}/activite",
            Territory(Role::Coordinator),
            admin::activity_summary,
        )
        .get(
            "/admin/t/{territory}/taux-absence",
            Territory(Role::Coordinator),
            admin::no_show_rates,
        )
        .get(
            "/admin/t/{territory}/evenements/nouveau",
            partner,
            admin::event_new,
        )
        .post(
            "/admin/t/{territory}/evenements",
            partner,
            admin::event_create,
        )
        .get(
            "/admin/t/{territory}/evenements/{id}",
            partner,
            admin::event_edit,
        )
        .post(
            "/admin/t/{territory}/evenements/{id}",
            partner,
            admin::event_update,
        )
        .post(
            "/admin/t/{territory}/evenements/{id}/seances",
            partner,
            admin::session_add,
        )
        .post(
            "/admin/t/{territory}/seances/{id}/annulation",
            partner,
            admin::session_cancel,
        )
        .get(
            "/admin/t/{territory}/seances/{id}/inscriptions",
            organiser,
            admin::registrations,
        )
        .post(
            "/admin/t/{territory}/seances/{id}/inscriptions",
            organiser,
            admin::phone_register,
        )
        .get(
            "/admin/t/{territory}/seances/{id}/inscriptions.csv",
            organiser,
            admin::export_csv,
        )
        .get(
            "/admin/t/{territory}/seances/{id}/inscriptions.xlsx",
            organiser,
            admin::export_xlsx,
        )
        .post(
            "/admin/t/{territory}/inscriptions/{id}/presence",
            organiser,
            admin::attendance,
        );
    let r = regional::routes(r);
    api::routes(r)
}

/// One occurrence of a series with what the public needs to find it.
#[derive(Debug, Clone)]
pub struct OccRow {
    pub series: Series,
    pub place: Place,
    pub occ: Occurrence,
}

impl OccRow {
    pub fn cancelled(&self) -> bool {
        self.occ.status == OccurrenceStatus::Cancelled
    }
    pub fn moved(&self) -> bool {
        self.occ.status == OccurrenceStatus::Moved
    }
}

/// Everything about a territory's series: schedules, places, exceptions.
pub struct SeriesWorld {
    pub items: Vec<(Series, Schedule, Vec<Exception>)>,
    pub places: HashMap<i64, Place>,
    /// Expansions already computed, by window (see [`SeriesWorld::expanded`]).
    memo: Mutex<HashMap<(NaiveDate, NaiveDate), Arc<Expansion>>>,
    /// Views built from this schedule, by [`ViewKey`] (see
    /// [`SeriesWorld::view`]).
    views: Mutex<HashMap<ViewKey, Arc<dyn std::any::Any + Send + Sync>>>,
}

/// What a view built from a schedule depends on besides the schedule: its
/// name, the day it is built for, the commune it is narrowed to, and a
/// fingerprint of the page's other inputs read from the database (their
/// hash, see [`SeriesWorld::view`]).
pub type ViewKey = (&'static str, NaiveDate, Option<String>, u64);

/// Views memoised per world (a few pages, days and communes).
const MEMO_VIEWS: usize = 32;

/// Each item's occurrences over a window, in `items` order.
pub type Expansion = Vec<Vec<Occurrence>>;

/// Windows memoised per world: pages ask for a handful (today's eight
/// weeks, this month, the next ones).
const MEMO_WINDOWS: usize = 16;

/// The territory's schedule from this process's cache (see
/// [`world_cache`]): what public pages use.
pub async fn cached_world(
    st: &crate::web::AppState,
    territory_id: i64,
) -> DbResult<Arc<SeriesWorld>> {
    st.worlds.get(&st.db, territory_id).await
}

pub async fn series_world(db: &Db, territory_id: i64) -> DbResult<SeriesWorld> {
    let series = store::list_series(db, territory_id).await?;
    let places: HashMap<i64, Place> = store::list_places(db, territory_id)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let mut exc: HashMap<i64, Vec<Exception>> = HashMap::new();
    for (sid, e) in store::exceptions(db, territory_id).await? {
        exc.entry(sid).or_default().push(e);
    }
    let items = series
        .into_iter()
        .filter_map(|s| {
            let schedule = s.schedule().ok()?;
            let e = exc.remove(&s.id).unwrap_or_default();
            Some((s, schedule, e))
        })
        .collect();
    Ok(SeriesWorld {
        items,
        places,
        memo: Mutex::new(HashMap::new()),
        views: Mutex::new(HashMap::new()),
    })
}

impl SeriesWorld {
    /// Each series' id, schedule and exceptions, as the computed
    /// indicators read them (`evaluation::Facts::build`).
    pub fn schedules(&self) -> impl Iterator<Item = (i64, &recurrence::Schedule, &[Exception])> {
        self.items
            .iter()
            .map(|(s, schedule, exceptions)| (s.id, schedule, exceptions.as_slice()))
    }

    /// A view of this schedule (the drop-ins' place cards), built by
    /// `build` once per world and [`ViewKey`]: the world is replaced when
    /// the schedule changes (its stamp), and the key names everything else
    /// the view reads, so a memoised view is never stale. `T` must be the
    /// same for a given view name.
    pub fn view<T: std::any::Any + Send + Sync>(
        &self,
        key: ViewKey,
        build: impl FnOnce() -> T,
    ) -> Arc<T> {
        let found = self
            .views
            .lock()
            .ok()
            .and_then(|m| m.get(&key).cloned())
            .and_then(|v| v.downcast::<T>().ok());
        if let Some(v) = found {
            return v;
        }
        let v = Arc::new(build());
        if let Ok(mut m) = self.views.lock() {
            if m.len() >= MEMO_VIEWS {
                m.clear();
            }
            m.insert(key, v.clone());
        }
        v
    }

    /// Every item's occurrences in `[from, to]`, computed once per window
    /// and world.
    pub fn expanded(&self, from: NaiveDate, to: NaiveDate) -> Arc<Expansion> {
        if let Some(e) = self
            .memo
            .lock()
            .ok()
            .and_then(|m| m.get(&(from, to)).cloned())
        {
            return e;
        }
        let e: Arc<Expansion> = Arc::new(
            self.items
                .iter()
                .map(|(_, schedule, exc)| recurrence::expand(schedule, exc, from, to))
                .collect(),
        );
        if let Ok(mut m) = self.memo.lock() {
            if m.len() >= MEMO_WINDOWS {
                m.clear();
            }
            m.insert((from, to), e.clone());
        }
        e
    }

    /// Occurrences in `[from, to]` (moved ones at their new date and place),
    /// optionally only in one commune, in time order.
    pub fn occurrences(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        commune: Option<&str>,
    ) -> Vec<OccRow> {
        let mut out = Vec::new();
        let expanded = self.expanded(from, to);
        for ((s, _, _), occs) in self.items.iter().zip(expanded.iter()) {
            for occ in occs.iter().cloned() {
                let place_id = occ.place_id.unwrap_or(s.place_id);
                let Some(place) = self.places.get(&place_id) else {
                    continue;
                };
                if commune.is_some_and(|c| c != place.insee_code) {
                    continue;
                }
                out.push(OccRow {
                    series: s.clone(),
                    place: place.clone(),
                    occ,
                });
            }
        }
        out.sort_by(|a, b| {
            a.occ
                .start
                .cmp(&b.occ.start)
                .then(a.series.id.cmp(&b.series.id))
        });
        out
    }
}

pub fn today_paris() -> NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive()
}

/// A date typed but unreadable.
#[derive(Debug, Clone, Copy)]
pub struct BadDate;

/// `AAAA-MM-JJ` (date field) or `JJ/MM/AAAA` (typed), or `None` when empty;
/// `Err` when typed but unreadable.
pub fn opt_date(s: &Option<String>) -> Result<Option<NaiveDate>, BadDate> {
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => crate::domain::dates::parse_input_date(v)
            .map(Some)
            .ok_or(BadDate),
    }
}

/// The seats of a session form: empty for no limit, else a positive number
/// up to [`MAX_CAPACITY`](crate::domain::agenda::event::MAX_CAPACITY). The
/// same rule when a session is added and when it is edited.
pub fn parse_capacity(raw: &str, errors: &mut crate::web::pages::FormErrors) -> Option<i64> {
    match raw.trim() {
        "" => None,
        c => match c.parse::<i64>() {
            Ok(n) if n > 0 && n <= crate::domain::agenda::event::MAX_CAPACITY => Some(n),
            _ => {
                errors.push("capacity", crate::domain::agenda::event::CAPACITY_MESSAGE);
                None
            }
        },
    }
}

/// The place chosen in a session form: empty for none, else one of the
/// territory's places.
pub fn parse_place_choice(
    raw: &str,
    places: &[Place],
    errors: &mut crate::web::pages::FormErrors,
) -> Option<i64> {
    match raw.trim() {
        "" => None,
        p => {
            let p = p
                .parse::<i64>()
                .ok()
                .filter(|p| places.iter().any(|x| x.id == *p));
            if p.is_none() {
                errors.push("place_id", "Choisissez un lieu de la liste.");
            }
            p
        }
    }
}

/// The « Fiche action » choices of a series or event form: the territory's
/// actions grouped by contract (an `<optgroup>` each when there are
/// several), as (value, label).
pub struct ActionGroup {
    pub contract: String,
    pub actions: Vec<(String, String)>,
}

pub fn action_groups(choices: &[store::ActionChoice]) -> Vec<ActionGroup> {
    let mut groups: Vec<(i64, ActionGroup)> = Vec::new();
    for a in choices {
        let entry = (a.id.to_string(), a.label());
        match groups.iter_mut().find(|(c, _)| *c == a.contract_id) {
            Some((_, g)) => g.actions.push(entry),
            None => groups.push((
                a.contract_id,
                ActionGroup {
                    contract: a.contract_title.clone(),
                    actions: vec![entry],
                },
            )),
        }
    }
    groups.into_iter().map(|(_, g)| g).collect()
}

/// The fiche action chosen in a series or event form: empty for none, else
/// one of the territory's (another territory's, from a forged form, is an
/// error on the field).
pub fn parse_action_choice(
    raw: &str,
    choices: &[store::ActionChoice],
    errors: &mut crate::web::pages::FormErrors,
) -> Option<i64> {
    match raw.trim() {
        "" => None,
        a => {
            let a = a
                .parse::<i64>()
                .ok()
                .filter(|a| choices.iter().any(|x| x.id == *a));
            if a.is_none() {
                errors.push(
                    "action_id",
                    "Choisissez une fiche action du territoire dans la liste.",
                );
            }
            a
        }
    }
}
