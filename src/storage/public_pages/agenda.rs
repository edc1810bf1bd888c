//! The public agenda of a territory in one statement: the territory, its
//! communes, the first sessions the filters let through with their events,
//! places and seat counts, the regional events'
//! sessions that concern the territory, the themes of its events, its
//! bodies' coming public meetings and, for the month view, the stamp of
//! its drop-in schedule.
//!
//! It replaces about fifteen statements (`agenda_sessions` and its count,
//! `fill_seat_counts`, `events_by_ids`, `list_places`, `event_themes`,
//! `territories::communes`, `upcoming_public_meetings`, and for the regional
//! sessions `region_owner`, `regional_sessions`, `regional_events`,
//! `all_places` and their seat counts). The commune, audience and theme are
//! parameters that may be NULL, so that the text stays the same (one
//! prepared statement) for every choice; four texts in all, with or without
//! those choices and the stamp (see [`agenda_sql`]). A session is found by its territory and start, one index
//! range (`event_sessions_territory_start`), never by reading every event
//! of the territory.

use std::sync::LazyLock;

use sqlx::Row;

use super::{
    commune, event_session, for_backend, list, place, public_meeting, territory_sql, CommuneRow,
    MeetingRow, PlaceRow, SessionRow, PUBLIC_MEETINGS, SESSION_ROW_COLUMNS, SESSION_ROW_LIST,
};
use crate::storage::agenda::{schedule_stamp_sql, themes_of, AgendaFilter, Event, Place, Session};
use crate::storage::communes::Commune;
use crate::storage::participation::Meeting;
use crate::storage::territories::Territory;
use crate::storage::{Backend, Db, DbResult};

/// Everything a territory's public agenda shows besides its drop-ins (they
/// come from the process's cache of the schedule, checked against
/// `schedule_stamp`).
#[derive(Debug)]
pub struct AgendaPage {
    pub territory: Territory,
    /// By name.
    pub communes: Vec<Commune>,
    /// The territory's sessions that match, by start then id, at most the
    /// limit asked for, with their events and seat counts. Ask for one more
    /// than shown to know whether others follow (and from when): the
    /// statement never counts them all.
    pub sessions: Vec<(Event, Session)>,
    /// Sessions of regional events concerning the territory (or the whole
    /// region) that match, by start then id, all of them.
    pub regional: Vec<(Event, Session)>,
    /// The places of the sessions listed.
    pub places: Vec<Place>,
    /// Every theme of the territory's events, sorted, once each (from
    /// `territory_event_themes`, kept with the events).
    pub themes: Vec<String>,
    /// The coming public meetings of the territory's bodies (from the
    /// filter's start, at most 50) with their body's name, as
    /// `storage::participation::upcoming_public_meetings` gives them.
    pub meetings: Vec<(Meeting, String)>,
    /// The stamp of the drop-in schedule, when asked for.
    pub schedule_stamp: Option<String>,
}

/// The conditions every listed session meets besides its territory: from
/// `$2`, before `$4` (skipped when NULL), then [`CHOICE_FILTERS`] when the
/// visitor chose a commune, an audience or a theme.
const TIME_FILTERS: &str = "s.starts_at >= $2
    AND ($4 IS NULL OR s.starts_at < $4)";

/// At a place of the commune `$5`, for the audience `$6`, of an event with
/// the theme `$7` as one of its lines (each skipped when NULL). The theme is
/// found with `instr` (`strpos` on PostgreSQL), not `LIKE`: SQLite prepares
/// a statement again on every run when a parameter is the pattern of a
/// `LIKE` (it might allow an index), which cost this page a third of its
/// time. Only in the statement for filtered pages ([`agenda_sql`]): with
/// these NULL-able parameters PostgreSQL plans the statement afresh on each
/// run (a custom plan, a fifth of its time), without them it keeps one
/// generic plan, and the page without filters is the one most asked for.
const CHOICE_FILTERS: &str = "
    AND ($5 IS NULL OR s.place_id IN (SELECT pf.id FROM places pf WHERE pf.insee_code = $5))
    AND ($6 IS NULL OR s.audience = $6)
    AND ($7 IS NULL OR EXISTS (SELECT 1 FROM events ef WHERE ef.id = s.event_id
                               AND instr({NL} || ef.themes || {NL}, {NL} || $7 || {NL}) > 0))";

/// `$1` the territory's slug, `$3` the most sessions listed; the others
/// are [`TIME_FILTERS`]' and [`CHOICE_FILTERS`]' (`{FILTERS}`), and
/// `{SCHEDULE_STAMP}` the drop-in schedule's stamp or `NULL` (see
/// [`agenda_sql`]).
const AGENDA: &str = "
WITH t AS (
  {TERRITORY_ROW}
), shown AS (
  SELECT {SESSION_ROW_COLUMNS} FROM event_sessions s JOIN events e ON e.id = s.event_id
  WHERE s.territory_id = (SELECT id FROM t) AND {FILTERS}
  ORDER BY s.starts_at, s.id LIMIT $3
), regional AS (
  SELECT {SESSION_ROW_COLUMNS} FROM event_sessions s JOIN events e ON e.id = s.event_id
  WHERE s.territory_id = (SELECT id FROM territories WHERE kind = 'region' ORDER BY id LIMIT 1)
    AND {FILTERS}
    AND EXISTS (SELECT 1 FROM event_territories et WHERE et.event_id = s.event_id
                AND (et.territory_id = (SELECT id FROM t) OR et.territory_id = s.territory_id))
)
SELECT
  {TERRITORY_COLUMNS},
  {COMMUNES} AS communes,
  (SELECT {SESSION_ROW_LIST} FROM shown x) AS sessions,
  (SELECT {SESSION_ROW_LIST} FROM regional x) AS regional,
  (SELECT CAST(json_group_array(json_array(p.id, p.territory_id, p.name, p.address, p.insee_code,
            COALESCE(c.name, p.insee_code), p.access_notes, p.phone, p.version) ORDER BY p.id) AS TEXT)
     FROM places p LEFT JOIN communes c ON c.insee_code = p.insee_code
     WHERE p.id IN (SELECT place_id FROM shown UNION ALL SELECT place_id FROM regional)) AS places,
  (SELECT themes FROM territory_event_themes WHERE territory_id = t.id) AS themes,
  {PUBLIC_MEETINGS} AS meetings,
  {SCHEDULE_STAMP} AS schedule_stamp
FROM t
";

/// [`AGENDA`] for `backend`; `filtered`: with [`CHOICE_FILTERS`] (seven
/// parameters), else without (four); `month`: with the drop-in schedule's
/// stamp (the month view), else `NULL` in its place. Four texts rather than
/// a parameter saying which: PostgreSQL sets up every subquery of a
/// statement on each run, even one a `CASE` skips, and the stamp's nine
/// were a tenth of the list view's time.
fn agenda_sql(backend: Backend, filtered: bool, month: bool) -> String {
    let filters = if filtered {
        format!("{TIME_FILTERS}{CHOICE_FILTERS}")
    } else {
        TIME_FILTERS.to_owned()
    };
    let stamp = if month {
        schedule_stamp_sql("t.id")
    } else {
        "CAST(NULL AS TEXT)".to_owned()
    };
    let sql = territory_sql(&AGENDA.replace("{FILTERS}", &filters))
        .replace("{PUBLIC_MEETINGS}", PUBLIC_MEETINGS)
        .replace("{SESSION_ROW_LIST}", SESSION_ROW_LIST)
        .replace("{SESSION_ROW_COLUMNS}", SESSION_ROW_COLUMNS)
        .replace("{SCHEDULE_STAMP}", &stamp)
        // A newline, written the same on both backends.
        .replace("{NL}", "'\n'");
    let sql = match backend {
        Backend::Sqlite => sql,
        Backend::Postgres => sql.replace("instr(", "strpos("),
    };
    for_backend(&sql, backend)
}

/// The four texts of [`agenda_sql`] for one backend, by (filtered, month).
struct AgendaTexts([String; 4]);

impl AgendaTexts {
    fn new(backend: Backend) -> Self {
        AgendaTexts([
            agenda_sql(backend, false, false),
            agenda_sql(backend, false, true),
            agenda_sql(backend, true, false),
            agenda_sql(backend, true, true),
        ])
    }

    fn get(&self, filtered: bool, month: bool) -> &str {
        &self.0[usize::from(filtered) * 2 + usize::from(month)]
    }
}

static AGENDA_SQLITE: LazyLock<AgendaTexts> = LazyLock::new(|| AgendaTexts::new(Backend::Sqlite));
static AGENDA_POSTGRES: LazyLock<AgendaTexts> =
    LazyLock::new(|| AgendaTexts::new(Backend::Postgres));

/// The columns of one row of [`AGENDA`], as read from either backend.
macro_rules! agenda_page_row {
    ($row:expr) => {{
        let row = $row;
        let text = |name: &str| row.try_get::<Option<String>, _>(name);
        (
            <Territory as sqlx::FromRow<_>>::from_row(row)?,
            [
                text("communes")?,
                text("sessions")?,
                text("regional")?,
                text("places")?,
                text("themes")?,
                text("meetings")?,
                text("schedule_stamp")?,
            ],
        )
    }};
}

/// The public agenda of the territory `slug` (never the regional owner)
/// through the filter `f`, at most `limit` of its own sessions, in one
/// statement (see [`AGENDA`]); `with_stamp` reads the drop-in schedule's
/// stamp too. `None` when the territory is unknown.
pub async fn agenda_page(
    db: &Db,
    slug: &str,
    f: &AgendaFilter,
    limit: i64,
    with_stamp: bool,
) -> DbResult<Option<AgendaPage>> {
    let filtered = f.insee_code.is_some() || f.audience.is_some() || f.theme.is_some();
    let (sqlite, postgres) = (
        AGENDA_SQLITE.get(filtered, with_stamp),
        AGENDA_POSTGRES.get(filtered, with_stamp),
    );
    let read = if filtered {
        page_row!(
            db,
            sqlite,
            postgres,
            [
                slug,
                f.from,
                limit,
                f.until,
                f.insee_code.as_deref(),
                f.audience.as_deref(),
                f.theme.as_deref()
            ],
            agenda_page_row
        )
    } else {
        page_row!(
            db,
            sqlite,
            postgres,
            [slug, f.from, limit, f.until],
            agenda_page_row
        )
    };
    let Some((territory, cols)) = read else {
        return Ok(None);
    };
    let [communes, sessions, regional, places, themes, meetings, schedule_stamp] = cols;
    let communes: Vec<CommuneRow> = list(communes)?;
    let sessions: Vec<SessionRow> = list(sessions)?;
    let regional: Vec<SessionRow> = list(regional)?;
    let places: Vec<PlaceRow> = list(places)?;
    let meetings: Vec<MeetingRow> = list(meetings)?;
    Ok(Some(AgendaPage {
        territory,
        communes: communes.into_iter().map(commune).collect(),
        sessions: sessions
            .into_iter()
            .map(event_session)
            .collect::<DbResult<_>>()?,
        regional: regional
            .into_iter()
            .map(event_session)
            .collect::<DbResult<_>>()?,
        places: places.into_iter().map(place).collect(),
        themes: themes_of(&[themes.unwrap_or_default()]),
        meetings: meetings
            .into_iter()
            .map(public_meeting)
            .collect::<DbResult<_>>()?,
        schedule_stamp,
    }))
}
