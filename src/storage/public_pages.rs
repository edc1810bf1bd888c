//! What the public pages show, each read in one SQL statement.
//!
//! A public page used to be assembled from the storage functions of every
//! aggregate it names (the fiche action: 22 statements, each its own
//! transaction on PostgreSQL). Here the page's main row comes with each of
//! its lists as a JSON array in a column of the same row, built by a
//! correlated subquery (`json_group_array(json_array(…) ORDER BY …)`), so a
//! page costs one round trip whatever it shows. Lists are arrays of arrays
//! (decoded into tuples), not objects: the column order is written once,
//! next to the tuple type that reads it.
//!
//! The SQL is written once with SQLite's JSON function names;
//! [`for_backend`] renames them for PostgreSQL (`json_group_array` →
//! `json_agg`, `json_array` → `json_build_array`). Both return the arrays as
//! text (`CAST(… AS TEXT)`), and an empty list is `[]` on both (PostgreSQL's
//! `json_agg` of no row is NULL: `COALESCE`). Two dialect differences stay
//! in the values, handled when decoding: booleans are written as
//! `CASE WHEN … THEN 1 ELSE 0 END` (SQLite has no JSON boolean for them),
//! and timestamps arrive as RFC 3339 text with a `T` (PostgreSQL) or as
//! sqlx's SQLite text, both read by [`timestamp`].

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use sqlx::Row;

use super::actions::BudgetLine;
use super::agenda::{schedule_stamp_sql, ActionChoice, Event, LinkedToAction, Place, Session};
use super::communes::{Commune, Qpv};
use super::contract::{Action, Axis, Contract, Milestone, Objective, Plan};
use super::indicators::{Indicator, Measurement};
use super::participation::Meeting;
use super::territories::Territory;
use super::{Backend, Db, DbError, DbResult};
use crate::evaluation::FactRows;

/// The SQL text for a backend: SQLite's JSON function names, renamed for
/// PostgreSQL, and each `exact(…)` written out ([`exact_reals`]).
pub(crate) fn for_backend(sql: &str, backend: Backend) -> String {
    let sql = exact_reals(sql, backend);
    match backend {
        Backend::Sqlite => sql,
        Backend::Postgres => sql
            .replace("json_group_array(", "json_agg(")
            .replace("json_array(", "json_build_array("),
    }
}

/// `exact(x)`, a REAL (or NULL) value for a JSON list that reads back the
/// same `f64`, as text, read by [`Real`]. SQLite's JSON functions write a
/// REAL with 15 significant digits (`0.30000000000000004` becomes `0.3`);
/// its `quote()` writes as many as it takes to read back the same value.
/// PostgreSQL writes the shortest exact form (sqlx sets
/// `extra_float_digits`), but serde_json's own reading of a number may land
/// one unit in the last place off: the text is parsed by Rust instead.
fn exact_reals(sql: &str, backend: Backend) -> String {
    const MARK: &str = "exact(";
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(at) = rest.find(MARK) {
        let starts_word = rest[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        out.push_str(&rest[..at]);
        rest = &rest[at + MARK.len()..];
        if !starts_word {
            out.push_str(MARK);
            continue;
        }
        let mut depth = 1;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                depth += match c {
                    '(' => 1,
                    ')' => -1,
                    _ => 0,
                };
                depth == 0
            })
            .map(|(i, _)| i);
        // Unbalanced: left as written, for the database to refuse.
        let Some(end) = end else {
            out.push_str(MARK);
            continue;
        };
        let inner = exact_reals(&rest[..end], backend);
        match backend {
            Backend::Sqlite => out.push_str(&format!("nullif(quote({inner}), 'NULL')")),
            Backend::Postgres => out.push_str(&format!("CAST({inner} AS TEXT)")),
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// A JSON list column, `[]` when empty.
fn list<T: DeserializeOwned>(text: Option<String>) -> DbResult<Vec<T>> {
    match text {
        None => Ok(Vec::new()),
        Some(t) => serde_json::from_str(&t).map_err(decode_error),
    }
}

/// A JSON tuple column, or NULL.
fn one<T: DeserializeOwned>(text: Option<String>) -> DbResult<Option<T>> {
    match text {
        None => Ok(None),
        Some(t) => serde_json::from_str(&t).map(Some).map_err(decode_error),
    }
}

/// A timestamp read from JSON text: RFC 3339 (`T` or a space between date
/// and time, any offset).
fn timestamp(s: &str) -> DbResult<DateTime<Utc>> {
    s.parse::<DateTime<Utc>>()
        .map_err(|e| DbError::Other(anyhow::anyhow!("timestamp {s:?}: {e}")))
}

fn decode_error(e: serde_json::Error) -> DbError {
    DbError::Other(anyhow::anyhow!("public page column: {e}"))
}

/// A boolean written as `CASE WHEN … THEN 1 ELSE 0 END`.
type Flag = i64;

/// A REAL written by `exact(…)` ([`exact_reals`]): its text, parsed.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Real(f64);

impl<'de> serde::Deserialize<'de> for Real {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.trim()
            .parse()
            .map(Real)
            .map_err(|e| serde::de::Error::custom(format!("REAL {text:?}: {e}")))
    }
}

/// A place of the action's scope, named: a commune, or « Quartier
/// prioritaire … ».
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeItem {
    pub kind: String,
    pub code: String,
    /// The commune's or QPV's name; the code when it is unknown.
    pub name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PublicStep {
    pub due_on: Option<String>,
    pub label: String,
    pub done: bool,
}

/// The lead person's contact, only when they agreed to publish it.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicContact {
    pub full_name: String,
    pub job_title: String,
    pub email: String,
    pub phone: String,
}

/// A document marked « publier ».
#[derive(Debug, Clone, PartialEq)]
pub struct PublicDocument {
    pub id: i64,
    pub title: String,
    pub media_type: String,
    pub size: i64,
}

/// A follow-up decided in a public meeting.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicFollowUp {
    pub text: String,
    pub follow_up: String,
    pub due_on: Option<String>,
    pub done: bool,
}

/// A published idea and the coordination's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicIdea {
    pub text: String,
    pub answer: String,
}

/// Everything the public fiche action shows, as stored.
#[derive(Debug)]
pub struct ActionPage {
    pub territory_id: i64,
    pub territory_slug: String,
    pub territory_name: String,
    pub contract: Contract,
    pub action: Action,
    /// Partner organisations, by name.
    pub partners: Vec<String>,
    /// Theme codes.
    pub themes: Vec<String>,
    pub scope: Vec<ScopeItem>,
    /// Linked actions of the same contract: (code, title).
    pub links: Vec<(String, String)>,
    pub steps: Vec<PublicStep>,
    pub budget: Vec<BudgetLine>,
    pub lead_contact: Option<PublicContact>,
    /// Status changes, oldest first: (when, status, progress).
    pub history: Vec<(DateTime<Utc>, String, i64)>,
    /// The action's indicators with their typed measurements (computed
    /// indicators are filled by the caller, see `evaluation`).
    pub indicators: Vec<(Indicator, Vec<Measurement>)>,
    pub documents: Vec<PublicDocument>,
    pub follow_ups: Vec<PublicFollowUp>,
    pub ideas: Vec<PublicIdea>,
    /// Findings of the diagnosis that lead to the action: (title, body).
    pub findings: Vec<(String, String)>,
    pub agenda: LinkedToAction,
    /// What the computed indicators need, when the action has one.
    pub computed: Option<ComputedInput>,
}

/// What an action's computed indicators are counted from, read with the
/// page: the drop-in schedule's stamp (the schedule itself comes from the
/// process's cache, `web::agenda::world_cache`), the indicators' chosen
/// sources and the territory's other facts.
#[derive(Debug)]
pub struct ComputedInput {
    pub schedule_stamp: String,
    /// Chosen sources by indicator id: (kind, id).
    pub sources: HashMap<i64, Vec<(String, i64)>>,
    pub rows: FactRows,
}

/// The fiche action of a territory's contract by its code (the newest
/// contract's when two share a code), with everything its public page
/// shows, in one statement. `None` when the territory (never the regional
/// owner) or the code is unknown.
const ACTION_PAGE: &str = "
WITH t AS (
  SELECT id, slug, name FROM territories WHERE slug = $1 AND kind <> 'region'
), found AS (
  SELECT a.id FROM actions a JOIN contracts c ON c.id = a.contract_id JOIN t ON t.id = c.territory_id
  WHERE a.code = $2 ORDER BY c.id DESC LIMIT 1
), computed AS (
  SELECT EXISTS (SELECT 1 FROM indicators ci WHERE ci.action_id = (SELECT id FROM found)
                 AND ci.source NOT IN ('', 'manual')) AS yes
)
SELECT
  t.id AS t_id, t.slug AS t_slug, t.name AS t_name,
  a.id, a.contract_id, a.objective_id, a.position, a.code, a.title, a.description, a.status,
  a.lead_org, a.version, a.created_at, a.updated_at, a.findings, a.aims, a.publics, a.progress,
  a.period_start, a.period_end, a.lead_org_id, a.lead_person_id,
  c.id AS c_id, c.territory_id AS c_territory_id, c.kind AS c_kind, c.title AS c_title,
  c.status AS c_status, c.signed_on AS c_signed_on, c.period_start AS c_period_start,
  c.period_end AS c_period_end, c.summary AS c_summary, c.signatories AS c_signatories,
  c.version AS c_version, c.created_at AS c_created_at, c.updated_at AS c_updated_at,
  (SELECT CAST(json_group_array(o.name ORDER BY o.name) AS TEXT)
     FROM action_partners ap JOIN organisations o ON o.id = ap.organisation_id
     WHERE ap.action_id = a.id) AS partners,
  (SELECT CAST(json_group_array(th.theme ORDER BY th.theme) AS TEXT)
     FROM action_themes th WHERE th.action_id = a.id) AS themes,
  (SELECT CAST(json_group_array(json_array(s.kind, s.code,
            CASE WHEN s.kind = 'qpv' THEN q.name ELSE cm.name END) ORDER BY s.kind, s.code) AS TEXT)
     FROM action_scope s
     LEFT JOIN qpvs q ON s.kind = 'qpv' AND q.code = s.code
     LEFT JOIN communes cm ON s.kind <> 'qpv' AND cm.insee_code = s.code
     WHERE s.action_id = a.id) AS scope,
  (SELECT CAST(json_group_array(json_array(x.code, x.title) ORDER BY x.position, x.id) AS TEXT)
     FROM action_links l JOIN actions x
       ON x.id = CASE WHEN l.action_id = a.id THEN l.linked_id ELSE l.action_id END
      AND x.contract_id = a.contract_id
     WHERE l.action_id = a.id OR l.linked_id = a.id) AS links,
  (SELECT CAST(json_group_array(json_array(st.due_on, st.label, CASE WHEN st.done THEN 1 ELSE 0 END)
            ORDER BY st.position) AS TEXT)
     FROM action_steps st WHERE st.action_id = a.id) AS steps,
  (SELECT CAST(json_group_array(json_array(b.id, b.action_id, b.funder_id, b.funder, b.year,
            b.amount_cents, b.note, b.committed_cents, b.spent_cents) ORDER BY b.year, b.funder, b.id) AS TEXT)
     FROM budget_lines b WHERE b.action_id = a.id) AS budget,
  (SELECT CAST(json_array(p.full_name, p.job_title, p.email, p.phone) AS TEXT)
     FROM people p WHERE p.id = a.lead_person_id AND p.public_contact = TRUE) AS lead_contact,
  (SELECT CAST(json_group_array(json_array(h.changed_at, h.status, h.progress) ORDER BY h.changed_at, h.id) AS TEXT)
     FROM action_status_history h WHERE h.action_id = a.id) AS history,
  (SELECT CAST(json_group_array(json_array(i.id, i.contract_id, i.action_id, i.kind, i.label, i.unit,
            i.baseline, i.target, i.target_on, i.created_at, i.shared_indicator_id, i.source,
            i.period_start, i.period_end) ORDER BY i.id) AS TEXT)
     FROM indicators i WHERE i.action_id = a.id) AS indicators,
  (SELECT CAST(json_group_array(json_array(m.id, m.indicator_id, m.measured_on, m.value, m.source, m.comment)
            ORDER BY m.measured_on, m.id) AS TEXT)
     FROM measurements m JOIN indicators i ON i.id = m.indicator_id WHERE i.action_id = a.id) AS measurements,
  (SELECT CAST(json_group_array(json_array(d.id, d.title, d.media_type, d.size) ORDER BY d.uploaded_at, d.id) AS TEXT)
     FROM documents d WHERE d.action_id = a.id AND d.public = TRUE) AS documents,
  (SELECT CAST(json_group_array(json_array(md.text, md.follow_up, md.due_on, CASE WHEN md.done THEN 1 ELSE 0 END)
            ORDER BY md.id) AS TEXT)
     FROM meeting_decisions md JOIN meetings mt ON mt.id = md.meeting_id
     WHERE md.action_id = a.id AND mt.public = TRUE) AS follow_ups,
  (SELECT CAST(json_group_array(json_array(ix.text, ix.answer) ORDER BY ix.created_at, ix.id) AS TEXT)
     FROM ideas ix WHERE ix.action_id = a.id AND ix.status = 'published') AS ideas,
  (SELECT CAST(json_group_array(json_array(f.title, f.body) ORDER BY f.chapter, f.position, f.id) AS TEXT)
     FROM diagnosis_findings f JOIN diagnosis_finding_actions fa ON fa.finding_id = f.id
     WHERE fa.action_id = a.id) AS diagnosis_findings,
  (SELECT CAST(json_group_array(json_array(ds.id, ds.title) ORDER BY ds.title, ds.id) AS TEXT)
     FROM dropin_series ds WHERE ds.territory_id = t.id AND ds.action_id = a.id) AS series,
  (SELECT CAST(json_group_array(json_array(e.id, e.title) ORDER BY e.title, e.id) AS TEXT)
     FROM events e WHERE e.territory_id = t.id AND e.action_id = a.id) AS events,
  -- What computed indicators count, only when the action has one: the
  -- indicators' chosen sources, the stamp of the drop-in schedule and the
  -- territory's facts (see FACT_COLUMNS).
  CASE WHEN computed.yes THEN
    (SELECT CAST(json_group_array(json_array(src.indicator_id, src.kind, src.ref_id)
              ORDER BY src.indicator_id, src.kind, src.ref_id) AS TEXT)
       FROM indicator_sources src JOIN indicators i ON i.id = src.indicator_id WHERE i.action_id = a.id)
  END AS f_sources,
  {FACT_COLUMNS}
FROM found
JOIN actions a ON a.id = found.id
JOIN contracts c ON c.id = a.contract_id
CROSS JOIN t
CROSS JOIN computed
";

/// What computed indicators count, as columns of a page's row, only when
/// `computed.yes` (a CTE of the page's statement, next to `t`, the
/// territory): the stamp of the territory's drop-in schedule (the series
/// come from the process's cache of it) and the territory's facts as
/// `evaluation::FactRows::read` reads them.
const FACT_COLUMNS: &str = "
  CASE WHEN computed.yes THEN {SCHEDULE_STAMP} END AS schedule_stamp,
  CASE WHEN computed.yes THEN
    (SELECT CAST(json_group_array(json_array(ds.id, ds.action_id) ORDER BY ds.title, ds.id) AS TEXT)
       FROM dropin_series ds WHERE ds.territory_id = t.id)
  END AS f_series,
  CASE WHEN computed.yes THEN
    (SELECT CAST(json_group_array(json_array(e.id, e.action_id) ORDER BY e.id) AS TEXT)
       FROM events e WHERE e.territory_id = t.id)
  END AS f_events,
  CASE WHEN computed.yes THEN
    (SELECT CAST(json_group_array(json_array(da.series_id, da.held_on, da.received)) AS TEXT)
       FROM dropin_attendance da JOIN dropin_series ds ON ds.id = da.series_id WHERE ds.territory_id = t.id)
  END AS f_people,
  CASE WHEN computed.yes THEN
    (SELECT CAST(json_group_array(json_array(g.event_id, g.starts_at, g.registered, g.present)) AS TEXT)
       FROM (SELECT es.event_id, es.starts_at,
               CAST(COALESCE(SUM(CASE WHEN r.status = 'confirmed' THEN r.party_size ELSE 0 END), 0) AS BIGINT) AS registered,
               CAST(COALESCE(SUM(CASE WHEN r.status = 'confirmed' AND r.attended THEN r.party_size ELSE 0 END), 0) AS BIGINT) AS present
             FROM event_sessions es JOIN events e ON e.id = es.event_id
             LEFT JOIN registrations r ON r.session_id = es.id
             WHERE e.territory_id = {TERRITORY} AND NOT es.cancelled
             GROUP BY es.id, es.event_id, es.starts_at) g)
  END AS f_sessions,
  CASE WHEN computed.yes THEN
    (SELECT CAST(json_group_array(json_array(g.body_id, g.starts_at, g.present, g.invited)) AS TEXT)
       FROM (SELECT m.body_id, m.starts_at,
               CAST(COALESCE(SUM(CASE WHEN ma.present THEN 1 ELSE 0 END), 0) AS BIGINT) AS present,
               CAST(COALESCE(SUM(CASE WHEN ma.invited THEN 1 ELSE 0 END), 0) AS BIGINT) AS invited
             FROM meetings m JOIN bodies b ON b.id = m.body_id
             LEFT JOIN meeting_attendance ma ON ma.meeting_id = m.id
             WHERE b.territory_id = {TERRITORY} GROUP BY m.id, m.body_id, m.starts_at) g)
  END AS f_meetings,
  CASE WHEN computed.yes THEN
    (SELECT CAST(json_group_array(json_array(rs.consultation_id, rs.submitted_at)) AS TEXT)
       FROM responses rs JOIN consultations co ON co.id = rs.consultation_id WHERE co.territory_id = t.id)
  END AS f_answers,
  CASE WHEN computed.yes THEN
    (SELECT CAST(json_group_array(ix.created_at) AS TEXT) FROM ideas ix WHERE ix.territory_id = t.id)
  END AS f_ideas,
  CASE WHEN computed.yes THEN
    (SELECT CAST(json_group_array(bo.id ORDER BY bo.id) AS TEXT) FROM bodies bo WHERE bo.territory_id = t.id)
  END AS f_bodies,
  CASE WHEN computed.yes THEN
    (SELECT CAST(json_group_array(co.id ORDER BY co.id) AS TEXT) FROM consultations co WHERE co.territory_id = t.id)
  END AS f_consultations,
  CASE WHEN computed.yes THEN
    (SELECT CAST(json_group_array(json_array(g.series_id, g.held_on, g.people, g.referred)) AS TEXT)
       FROM (SELECT ar.series_id, ar.held_on, COUNT(*) AS people,
               CAST(COALESCE(SUM(CASE WHEN ar.referral THEN 1 ELSE 0 END), 0) AS BIGINT) AS referred
             FROM activity_records ar WHERE ar.territory_id = {TERRITORY}
             GROUP BY ar.series_id, ar.held_on) g)
  END AS f_activity
";

/// The territory inside a grouped derived table (an uncorrelated subquery:
/// the page's statement finds the territory by its slug, `$1`).
const TERRITORY: &str = "(SELECT id FROM territories WHERE slug = $1 AND kind <> 'region')";

/// [`ACTION_PAGE`] with its inserts, for a backend.
fn action_page_sql(backend: Backend) -> String {
    let sql = ACTION_PAGE
        .replace("{FACT_COLUMNS}", FACT_COLUMNS.trim())
        .replace("{SCHEDULE_STAMP}", &schedule_stamp_sql("t.id"))
        .replace("{TERRITORY}", TERRITORY);
    for_backend(&sql, backend)
}

static ACTION_PAGE_SQLITE: LazyLock<String> = LazyLock::new(|| action_page_sql(Backend::Sqlite));
static ACTION_PAGE_POSTGRES: LazyLock<String> =
    LazyLock::new(|| action_page_sql(Backend::Postgres));

type IndicatorRow = (
    i64,
    i64,
    Option<i64>,
    String,
    String,
    String,
    Option<f64>,
    Option<f64>,
    Option<String>,
    String,
    Option<i64>,
    String,
    Option<String>,
    Option<String>,
);
type BudgetRow = (
    i64,
    i64,
    Option<i64>,
    String,
    i64,
    i64,
    String,
    Option<i64>,
    Option<i64>,
);

/// The chosen sources of indicators, by indicator id, from a list of
/// (indicator, kind, id) in that order.
fn sources_map(text: Option<String>) -> DbResult<HashMap<i64, Vec<(String, i64)>>> {
    let mut sources: HashMap<i64, Vec<(String, i64)>> = HashMap::new();
    for (i, kind, id) in list::<(i64, String, i64)>(text)? {
        sources.entry(i).or_default().push((kind, id));
    }
    Ok(sources)
}

/// The territory's facts from the columns of [`FACT_COLUMNS`] but the
/// stamp, in their order.
fn fact_rows(cols: [Option<String>; 10]) -> DbResult<FactRows> {
    let [series, events, people, sessions, meetings, answers, ideas, bodies, consultations, activity] =
        cols;
    let stamped = |rows: Vec<(i64, String, i64, i64)>| {
        rows.into_iter()
            .map(|(id, at, a, b)| Ok((id, timestamp(&at)?, a, b)))
            .collect::<DbResult<Vec<_>>>()
    };
    Ok(FactRows {
        series_links: list(series)?,
        event_links: list(events)?,
        people: list(people)?,
        sessions: stamped(list(sessions)?)?,
        meetings: stamped(list(meetings)?)?,
        answers: list::<(i64, String)>(answers)?
            .into_iter()
            .map(|(id, at)| Ok((id, timestamp(&at)?)))
            .collect::<DbResult<_>>()?,
        ideas: list::<String>(ideas)?
            .iter()
            .map(|at| timestamp(at))
            .collect::<DbResult<_>>()?,
        bodies: list(bodies)?,
        consultations: list(consultations)?,
        activity: list(activity)?,
    })
}

/// Indicators (a list of [`IndicatorRow`]) each with its measurements (a
/// list of (id, indicator, date, value, source, comment), by date).
fn indicators_with_measurements(
    indicators: Option<String>,
    measurements: Option<String>,
) -> DbResult<Vec<(Indicator, Vec<Measurement>)>> {
    let indicators: Vec<IndicatorRow> = list(indicators)?;
    let measurements: Vec<(i64, i64, String, f64, String, String)> = list(measurements)?;
    let mut measurements: Vec<Measurement> = measurements
        .into_iter()
        .map(
            |(id, indicator_id, measured_on, value, source, comment)| Measurement {
                id,
                indicator_id,
                measured_on,
                value,
                source,
                comment,
            },
        )
        .collect();
    let mut inds = Vec::with_capacity(indicators.len());
    for (
        id,
        contract_id,
        action_id,
        kind,
        label,
        unit,
        baseline,
        target,
        target_on,
        created_at,
        shared_indicator_id,
        source,
        period_start,
        period_end,
    ) in indicators
    {
        let (mine, rest): (Vec<_>, Vec<_>) =
            measurements.into_iter().partition(|m| m.indicator_id == id);
        measurements = rest;
        inds.push((
            Indicator {
                id,
                contract_id,
                action_id,
                kind,
                label,
                unit,
                baseline,
                target,
                target_on,
                created_at: timestamp(&created_at)?,
                shared_indicator_id,
                source,
                period_start,
                period_end,
            },
            mine,
        ));
    }
    Ok(inds)
}

/// The columns of one row of [`ACTION_PAGE`], as read from either backend.
macro_rules! action_page_row {
    ($row:expr) => {{
        let row = $row;
        let text = |name: &str| row.try_get::<Option<String>, _>(name);
        (
            (
                row.try_get::<i64, _>("t_id")?,
                row.try_get::<String, _>("t_slug")?,
                row.try_get::<String, _>("t_name")?,
            ),
            Contract {
                id: row.try_get("c_id")?,
                territory_id: row.try_get("c_territory_id")?,
                kind: row.try_get("c_kind")?,
                title: row.try_get("c_title")?,
                status: row.try_get("c_status")?,
                signed_on: row.try_get("c_signed_on")?,
                period_start: row.try_get("c_period_start")?,
                period_end: row.try_get("c_period_end")?,
                summary: row.try_get("c_summary")?,
                signatories: row.try_get("c_signatories")?,
                version: row.try_get("c_version")?,
                created_at: row.try_get("c_created_at")?,
                updated_at: row.try_get("c_updated_at")?,
            },
            <Action as sqlx::FromRow<_>>::from_row(row)?,
            [
                text("partners")?,
                text("themes")?,
                text("scope")?,
                text("links")?,
                text("steps")?,
                text("budget")?,
                text("lead_contact")?,
                text("history")?,
                text("indicators")?,
                text("measurements")?,
                text("documents")?,
                text("follow_ups")?,
                text("ideas")?,
                text("diagnosis_findings")?,
                text("series")?,
                text("events")?,
                text("schedule_stamp")?,
                text("f_sources")?,
                text("f_series")?,
                text("f_events")?,
                text("f_people")?,
                text("f_sessions")?,
                text("f_meetings")?,
                text("f_answers")?,
                text("f_ideas")?,
                text("f_bodies")?,
                text("f_consultations")?,
                text("f_activity")?,
            ],
        )
    }};
}

/// Run a page's statement (its text for each backend) with these binds and
/// decode its one row, if any, with the page's decoding macro.
macro_rules! page_row {
    ($db:expr, $sqlite:expr, $postgres:expr, [$($bind:expr),*], $decode:ident) => {
        match $db {
            Db::Sqlite(pool) => sqlx::query(&$sqlite)
                $(.bind($bind))*
                .fetch_optional(pool)
                .await?
                .map(|row| -> DbResult<_> { Ok($decode!(&row)) })
                .transpose()?,
            Db::Postgres(pool) => sqlx::query(&$postgres)
                $(.bind($bind))*
                .fetch_optional(pool)
                .await?
                .map(|row| -> DbResult<_> { Ok($decode!(&row)) })
                .transpose()?,
        }
    };
}

/// The territory ([`TERRITORY_COLUMNS`]) and these text columns (JSON
/// lists or tuples, or NULL) of a page's one row, as [`page_row!`] runs it.
macro_rules! territory_row {
    ($row:expr, [$($col:literal),* $(,)?]) => {{
        let row = $row;
        (
            <Territory as sqlx::FromRow<_>>::from_row(row)?,
            [$(row.try_get::<Option<String>, _>($col)?),*],
        )
    }};
}

/// [`page_row!`] for a page whose row is its territory and text columns
/// ([`territory_row!`]).
macro_rules! territory_page {
    ($db:expr, $sqlite:expr, $postgres:expr, [$($bind:expr),*], $cols:tt) => {
        match $db {
            Db::Sqlite(pool) => sqlx::query(&$sqlite)
                $(.bind($bind))*
                .fetch_optional(pool)
                .await?
                .map(|row| -> DbResult<_> { Ok(territory_row!(&row, $cols)) })
                .transpose()?,
            Db::Postgres(pool) => sqlx::query(&$postgres)
                $(.bind($bind))*
                .fetch_optional(pool)
                .await?
                .map(|row| -> DbResult<_> { Ok(territory_row!(&row, $cols)) })
                .transpose()?,
        }
    };
}

// After `page_row!` and `territory_page!`, which they use.
mod agenda;
mod diagnosis;
mod directory;
mod participation;
mod permanences;
mod region;
pub use agenda::{agenda_page, AgendaPage};
pub use diagnosis::{diagnosis_page, DiagnosisPage};
pub use directory::{directory_page, entry_page, DirectoryPage, Entry, EntryKey, EntryPage};
pub use participation::{ideas_page, participer_page, IdeasPage, ParticiperPage, PARTICIPER_IDEAS};
pub use permanences::{permanences_page, PermanencesPage};
pub use region::{region_page, RegionPage};

/// The public fiche action `code` of the territory `slug`, in one
/// statement (see [`ACTION_PAGE`]).
pub async fn action_page(db: &Db, slug: &str, code: &str) -> DbResult<Option<ActionPage>> {
    let parts = page_row!(
        db,
        ACTION_PAGE_SQLITE,
        ACTION_PAGE_POSTGRES,
        [slug, code],
        action_page_row
    );
    let Some(((territory_id, territory_slug, territory_name), contract, action, cols)) = parts
    else {
        return Ok(None);
    };
    let [partners, themes, scope, links, steps, budget, lead_contact, history, indicators, measurements, documents, follow_ups, ideas, findings, series, events, schedule_stamp, f_sources, f_series, f_events, f_people, f_sessions, f_meetings, f_answers, f_ideas, f_bodies, f_consultations, f_activity] =
        cols;
    let computed = match schedule_stamp {
        None => None,
        Some(schedule_stamp) => Some(ComputedInput {
            schedule_stamp,
            sources: sources_map(f_sources)?,
            rows: fact_rows([
                f_series,
                f_events,
                f_people,
                f_sessions,
                f_meetings,
                f_answers,
                f_ideas,
                f_bodies,
                f_consultations,
                f_activity,
            ])?,
        }),
    };
    let scope: Vec<(String, String, Option<String>)> = list(scope)?;
    let steps: Vec<(Option<String>, String, Flag)> = list(steps)?;
    let budget: Vec<BudgetRow> = list(budget)?;
    let lead_contact: Option<(String, String, String, String)> = one(lead_contact)?;
    let history: Vec<(String, String, i64)> = list(history)?;
    let documents: Vec<(i64, String, String, i64)> = list(documents)?;
    let follow_ups: Vec<(String, String, Option<String>, Flag)> = list(follow_ups)?;
    let ideas: Vec<(String, String)> = list(ideas)?;

    let inds = indicators_with_measurements(indicators, measurements)?;
    Ok(Some(ActionPage {
        territory_id,
        territory_slug,
        territory_name,
        contract,
        action,
        partners: list(partners)?,
        themes: list(themes)?,
        scope: scope
            .into_iter()
            .map(|(kind, code, name)| ScopeItem {
                name: name.unwrap_or_else(|| code.clone()),
                kind,
                code,
            })
            .collect(),
        links: list(links)?,
        steps: steps
            .into_iter()
            .map(|(due_on, label, done)| PublicStep {
                due_on,
                label,
                done: done != 0,
            })
            .collect(),
        budget: budget
            .into_iter()
            .map(
                |(
                    id,
                    action_id,
                    funder_id,
                    funder,
                    year,
                    amount_cents,
                    note,
                    committed_cents,
                    spent_cents,
                )| BudgetLine {
                    id,
                    action_id,
                    funder_id,
                    funder,
                    year,
                    amount_cents,
                    note,
                    committed_cents,
                    spent_cents,
                },
            )
            .collect(),
        lead_contact: lead_contact.map(|(full_name, job_title, email, phone)| PublicContact {
            full_name,
            job_title,
            email,
            phone,
        }),
        history: history
            .into_iter()
            .map(|(at, status, progress)| Ok((timestamp(&at)?, status, progress)))
            .collect::<DbResult<_>>()?,
        indicators: inds,
        documents: documents
            .into_iter()
            .map(|(id, title, media_type, size)| PublicDocument {
                id,
                title,
                media_type,
                size,
            })
            .collect(),
        follow_ups: follow_ups
            .into_iter()
            .map(|(text, follow_up, due_on, done)| PublicFollowUp {
                text,
                follow_up,
                due_on,
                done: done != 0,
            })
            .collect(),
        ideas: ideas
            .into_iter()
            .map(|(text, answer)| PublicIdea { text, answer })
            .collect(),
        findings: list(findings)?,
        agenda: LinkedToAction {
            series: list(series)?,
            events: list(events)?,
        },
        computed,
    }))
}

// ---------------------------------------------------------------- contract

/// Everything the public page of a contract shows, as stored.
#[derive(Debug)]
pub struct ContractPage {
    pub territory_id: i64,
    pub territory_slug: String,
    pub territory_name: String,
    pub contract: Contract,
    pub milestones: Vec<Milestone>,
    /// The action plan, in the plan's order (`contract::plan`).
    pub plan: Plan,
    /// The contract's own indicators (of no action), by id, with their
    /// typed measurements (computed ones are filled by the caller, see
    /// `evaluation::computed_for_contract`).
    pub indicators: Vec<(Indicator, Vec<Measurement>)>,
    /// The chosen sources of the contract's indicators, by indicator id.
    pub sources: HashMap<i64, Vec<(String, i64)>>,
    /// The contract's own documents marked « publier », by upload.
    pub documents: Vec<PublicDocument>,
    /// What the computed indicators need, when the contract has one of its
    /// own.
    pub computed: Option<ComputedInput>,
}

/// A contract of a territory with everything its public page shows, in
/// one statement. No row when the territory (never the regional owner) or
/// the contract (of that territory) is unknown.
const CONTRACT_PAGE: &str = "
WITH t AS (
  SELECT id, slug, name FROM territories WHERE slug = $1 AND kind <> 'region'
), computed AS (
  SELECT EXISTS (SELECT 1 FROM indicators ci JOIN contracts cc ON cc.id = ci.contract_id
                 JOIN t ON t.id = cc.territory_id
                 WHERE ci.contract_id = $2 AND ci.action_id IS NULL
                   AND ci.source NOT IN ('', 'manual')) AS yes
)
SELECT
  t.id AS t_id, t.slug AS t_slug, t.name AS t_name,
  c.id, c.territory_id, c.kind, c.title, c.status, c.signed_on, c.period_start, c.period_end,
  c.summary, c.signatories, c.version, c.created_at, c.updated_at,
  (SELECT CAST(json_group_array(json_array(m.id, m.contract_id, m.happened_on, m.label)
            ORDER BY m.happened_on, m.id) AS TEXT)
     FROM contract_milestones m WHERE m.contract_id = c.id) AS milestones,
  (SELECT CAST(json_group_array(json_array(x.id, x.contract_id, x.position, x.code, x.title)
            ORDER BY x.id) AS TEXT)
     FROM axes x WHERE x.contract_id = c.id) AS axes,
  (SELECT CAST(json_group_array(json_array(o.id, o.contract_id, o.axis_id, o.position, o.code, o.title)
            ORDER BY o.id) AS TEXT)
     FROM objectives o WHERE o.contract_id = c.id) AS objectives,
  (SELECT CAST(json_group_array(json_array(
            json_array(a.id, a.contract_id, a.objective_id, a.position, a.code, a.title, a.description,
              a.status, a.lead_org, a.version),
            json_array(a.created_at, a.updated_at, a.findings, a.aims, a.publics, a.progress,
              a.period_start, a.period_end, a.lead_org_id, a.lead_person_id))
            ORDER BY a.id) AS TEXT)
     FROM actions a WHERE a.contract_id = c.id) AS actions,
  (SELECT CAST(json_group_array(json_array(i.id, i.contract_id, i.action_id, i.kind, i.label, i.unit,
            i.baseline, i.target, i.target_on, i.created_at, i.shared_indicator_id, i.source,
            i.period_start, i.period_end) ORDER BY i.id) AS TEXT)
     FROM indicators i WHERE i.contract_id = c.id AND i.action_id IS NULL) AS indicators,
  (SELECT CAST(json_group_array(json_array(m.id, m.indicator_id, m.measured_on, m.value, m.source, m.comment)
            ORDER BY m.indicator_id, m.measured_on, m.id) AS TEXT)
     FROM measurements m JOIN indicators i ON i.id = m.indicator_id
     WHERE i.contract_id = c.id AND i.action_id IS NULL) AS measurements,
  (SELECT CAST(json_group_array(json_array(src.indicator_id, src.kind, src.ref_id)
            ORDER BY src.indicator_id, src.kind, src.ref_id) AS TEXT)
     FROM indicator_sources src JOIN indicators i ON i.id = src.indicator_id
     WHERE i.contract_id = c.id) AS sources,
  (SELECT CAST(json_group_array(json_array(d.id, d.title, d.media_type, d.size) ORDER BY d.uploaded_at, d.id) AS TEXT)
     FROM documents d WHERE d.contract_id = c.id AND d.action_id IS NULL AND d.public = TRUE) AS documents,
  {FACT_COLUMNS}
FROM t
JOIN contracts c ON c.territory_id = t.id AND c.id = $2
CROSS JOIN computed
";

fn contract_page_sql(backend: Backend) -> String {
    let sql = CONTRACT_PAGE
        .replace("{FACT_COLUMNS}", FACT_COLUMNS.trim())
        .replace("{SCHEDULE_STAMP}", &schedule_stamp_sql("t.id"))
        .replace("{TERRITORY}", TERRITORY);
    for_backend(&sql, backend)
}

static CONTRACT_PAGE_SQLITE: LazyLock<String> =
    LazyLock::new(|| contract_page_sql(Backend::Sqlite));
static CONTRACT_PAGE_POSTGRES: LazyLock<String> =
    LazyLock::new(|| contract_page_sql(Backend::Postgres));

/// An action as [`CONTRACT_PAGE`] lists it: its columns in two arrays
/// (a tuple reads at most 16).
type ActionRow = (
    (
        i64,
        i64,
        i64,
        i64,
        String,
        String,
        String,
        String,
        String,
        i64,
    ),
    (
        String,
        String,
        String,
        String,
        String,
        i64,
        Option<String>,
        Option<String>,
        Option<i64>,
        Option<i64>,
    ),
);

/// The columns of one row of [`CONTRACT_PAGE`], as read from either
/// backend.
macro_rules! contract_page_row {
    ($row:expr) => {{
        let row = $row;
        let text = |name: &str| row.try_get::<Option<String>, _>(name);
        (
            (
                row.try_get::<i64, _>("t_id")?,
                row.try_get::<String, _>("t_slug")?,
                row.try_get::<String, _>("t_name")?,
            ),
            <Contract as sqlx::FromRow<_>>::from_row(row)?,
            [
                text("milestones")?,
                text("axes")?,
                text("objectives")?,
                text("actions")?,
                text("indicators")?,
                text("measurements")?,
                text("sources")?,
                text("documents")?,
                text("schedule_stamp")?,
                text("f_series")?,
                text("f_events")?,
                text("f_people")?,
                text("f_sessions")?,
                text("f_meetings")?,
                text("f_answers")?,
                text("f_ideas")?,
                text("f_bodies")?,
                text("f_consultations")?,
                text("f_activity")?,
            ],
        )
    }};
}

/// The public page of the contract `id` of the territory `slug`, in one
/// statement (see [`CONTRACT_PAGE`]).
pub async fn contract_page(db: &Db, slug: &str, id: i64) -> DbResult<Option<ContractPage>> {
    let parts = page_row!(
        db,
        CONTRACT_PAGE_SQLITE,
        CONTRACT_PAGE_POSTGRES,
        [slug, id],
        contract_page_row
    );
    let Some(((territory_id, territory_slug, territory_name), contract, cols)) = parts else {
        return Ok(None);
    };
    let [milestones, axes, objectives, actions, indicators, measurements, sources, documents, schedule_stamp, f_series, f_events, f_people, f_sessions, f_meetings, f_answers, f_ideas, f_bodies, f_consultations, f_activity] =
        cols;
    let milestones: Vec<(i64, i64, String, String)> = list(milestones)?;
    let axes: Vec<(i64, i64, i64, String, String)> = list(axes)?;
    let objectives: Vec<(i64, i64, i64, i64, String, String)> = list(objectives)?;
    let actions: Vec<ActionRow> = list(actions)?;
    let documents: Vec<(i64, String, String, i64)> = list(documents)?;
    let mut plan = Plan {
        axes: axes
            .into_iter()
            .map(|(id, contract_id, position, code, title)| Axis {
                id,
                contract_id,
                position,
                code,
                title,
            })
            .collect(),
        objectives: objectives
            .into_iter()
            .map(
                |(id, contract_id, axis_id, position, code, title)| Objective {
                    id,
                    contract_id,
                    axis_id,
                    position,
                    code,
                    title,
                },
            )
            .collect(),
        actions: actions
            .into_iter()
            .map(|(a, b)| {
                Ok(Action {
                    id: a.0,
                    contract_id: a.1,
                    objective_id: a.2,
                    position: a.3,
                    code: a.4,
                    title: a.5,
                    description: a.6,
                    status: a.7,
                    lead_org: a.8,
                    version: a.9,
                    created_at: timestamp(&b.0)?,
                    updated_at: timestamp(&b.1)?,
                    findings: b.2,
                    aims: b.3,
                    publics: b.4,
                    progress: b.5,
                    period_start: b.6,
                    period_end: b.7,
                    lead_org_id: b.8,
                    lead_person_id: b.9,
                })
            })
            .collect::<DbResult<_>>()?,
    };
    plan.sort();
    let sources = sources_map(sources)?;
    let computed = match schedule_stamp {
        None => None,
        Some(schedule_stamp) => Some(ComputedInput {
            schedule_stamp,
            sources: sources.clone(),
            rows: fact_rows([
                f_series,
                f_events,
                f_people,
                f_sessions,
                f_meetings,
                f_answers,
                f_ideas,
                f_bodies,
                f_consultations,
                f_activity,
            ])?,
        }),
    };
    Ok(Some(ContractPage {
        territory_id,
        territory_slug,
        territory_name,
        contract,
        milestones: milestones
            .into_iter()
            .map(|(id, contract_id, happened_on, label)| Milestone {
                id,
                contract_id,
                happened_on,
                label,
            })
            .collect(),
        plan,
        indicators: indicators_with_measurements(indicators, measurements)?,
        sources,
        documents: documents
            .into_iter()
            .map(|(id, title, media_type, size)| PublicDocument {
                id,
                title,
                media_type,
                size,
            })
            .collect(),
        computed,
    }))
}

// ---------------------------------------------------------------- event

/// Everything a territory's public event page shows, as stored.
#[derive(Debug)]
pub struct EventPage {
    pub territory_id: i64,
    pub territory_slug: String,
    pub territory_name: String,
    pub event: Event,
    /// Its sessions with their seat counts, by start then id
    /// (`agenda::sessions`).
    pub sessions: Vec<Session>,
    /// The territory's places its sessions are held at, by id.
    pub places: Vec<Place>,
    /// The fiche action it carries out, when that is the territory's.
    pub action: Option<ActionChoice>,
    /// Its visits so far (`agenda::view_count`).
    pub views: i64,
}

/// An event of a territory with everything its public page shows, in one
/// statement. No row when the territory (never the regional owner) or the
/// event (of that territory) is unknown.
const EVENT_PAGE: &str = "
WITH t AS (
  SELECT id, slug, name FROM territories WHERE slug = $1 AND kind <> 'region'
)
SELECT
  t.id AS t_id, t.slug AS t_slug, t.name AS t_name,
  e.id, e.territory_id, e.title, e.kind, e.status, e.organiser, e.themes, e.description,
  e.linked_actions, e.programme_to_come, e.version, e.action_id,
  (SELECT CAST(json_group_array(json_array(x.id, x.event_id, x.starts_at, x.ends_at, x.place_id,
            x.capacity, x.audience, x.audience_roles, x.cancelled, x.place_text, x.taken, x.waiting)
          ORDER BY x.starts_at, x.id) AS TEXT)
     FROM (SELECT s.id, s.event_id, s.starts_at, s.ends_at, s.place_id, s.capacity, s.audience,
             s.audience_roles, CASE WHEN s.cancelled THEN 1 ELSE 0 END AS cancelled, s.place_text,
             (SELECT CAST(COALESCE(SUM(r.party_size), 0) AS BIGINT) FROM registrations r
               WHERE r.session_id = s.id AND r.status = 'confirmed') AS taken,
             (SELECT CAST(COALESCE(SUM(r.party_size), 0) AS BIGINT) FROM registrations r
               WHERE r.session_id = s.id AND r.status = 'waiting') AS waiting
           FROM event_sessions s WHERE s.event_id = e.id) x) AS sessions,
  (SELECT CAST(json_group_array(json_array(p.id, p.territory_id, p.name, p.address, p.insee_code,
            COALESCE(cm.name, p.insee_code), p.access_notes, p.phone, p.version) ORDER BY p.id) AS TEXT)
     FROM places p LEFT JOIN communes cm ON cm.insee_code = p.insee_code
     WHERE p.territory_id = t.id
       AND p.id IN (SELECT s.place_id FROM event_sessions s WHERE s.event_id = e.id)) AS places,
  (SELECT CAST(json_array(a.id, a.code, a.title, k.id, k.title) AS TEXT)
     FROM actions a JOIN contracts k ON k.id = a.contract_id
     WHERE k.territory_id = t.id AND a.id = e.action_id) AS action,
  (SELECT CAST(COALESCE(SUM(v.views), 0) AS BIGINT)
     FROM event_view_counts v WHERE v.event_id = e.id) AS views
FROM t
JOIN events e ON e.territory_id = t.id AND e.id = $2
";

static EVENT_PAGE_SQLITE: LazyLock<String> =
    LazyLock::new(|| for_backend(EVENT_PAGE, Backend::Sqlite));
static EVENT_PAGE_POSTGRES: LazyLock<String> =
    LazyLock::new(|| for_backend(EVENT_PAGE, Backend::Postgres));

/// A session's columns as [`HOME`] and [`EVENT_PAGE`] list them.
type SessionColumns = (
    i64,
    i64,
    String,
    String,
    Option<i64>,
    Option<i64>,
    String,
    String,
    Flag,
    String,
    i64,
    i64,
);

fn session(s: SessionColumns) -> DbResult<Session> {
    Ok(Session {
        id: s.0,
        event_id: s.1,
        starts_at: timestamp(&s.2)?,
        ends_at: timestamp(&s.3)?,
        place_id: s.4,
        capacity: s.5,
        audience: s.6,
        audience_roles: s.7,
        cancelled: s.8 != 0,
        place_text: s.9,
        taken: s.10,
        waiting: s.11,
    })
}

/// An event and one of its sessions, from a [`SessionRow`].
fn event_session((e, s): SessionRow) -> DbResult<(Event, Session)> {
    Ok((
        Event {
            id: e.0,
            territory_id: e.1,
            title: e.2,
            kind: e.3,
            status: e.4,
            organiser: e.5,
            themes: e.6,
            description: e.7,
            linked_actions: e.8,
            programme_to_come: e.9 != 0,
            version: e.10,
            action_id: e.11,
        },
        session(s)?,
    ))
}

fn place(
    (id, territory_id, name, address, insee_code, commune_name, access_notes, phone, version): PlaceRow,
) -> Place {
    Place {
        id,
        territory_id,
        name,
        address,
        insee_code,
        commune_name,
        access_notes,
        phone,
        version,
    }
}

fn commune(
    (insee_code, name, kind, departement, region, population, postal_codes, parent_code): CommuneRow,
) -> Commune {
    Commune {
        insee_code,
        name,
        kind,
        departement,
        region,
        population,
        postal_codes,
        parent_code,
    }
}

type PlaceRow = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
);

/// The columns of one row of [`EVENT_PAGE`], as read from either backend.
macro_rules! event_page_row {
    ($row:expr) => {{
        let row = $row;
        let text = |name: &str| row.try_get::<Option<String>, _>(name);
        (
            (
                row.try_get::<i64, _>("t_id")?,
                row.try_get::<String, _>("t_slug")?,
                row.try_get::<String, _>("t_name")?,
            ),
            <Event as sqlx::FromRow<_>>::from_row(row)?,
            [text("sessions")?, text("places")?, text("action")?],
            row.try_get::<i64, _>("views")?,
        )
    }};
}

/// The public page of the event `id` of the territory `slug`, in one
/// statement (see [`EVENT_PAGE`]).
pub async fn event_page(db: &Db, slug: &str, id: i64) -> DbResult<Option<EventPage>> {
    let parts = page_row!(
        db,
        EVENT_PAGE_SQLITE,
        EVENT_PAGE_POSTGRES,
        [slug, id],
        event_page_row
    );
    let Some(((territory_id, territory_slug, territory_name), event, cols, views)) = parts else {
        return Ok(None);
    };
    let [sessions, places, action] = cols;
    let sessions: Vec<SessionColumns> = list(sessions)?;
    let places: Vec<PlaceRow> = list(places)?;
    let action: Option<(i64, String, String, i64, String)> = one(action)?;
    Ok(Some(EventPage {
        territory_id,
        territory_slug,
        territory_name,
        event,
        sessions: sessions.into_iter().map(session).collect::<DbResult<_>>()?,
        places: places.into_iter().map(place).collect(),
        action: action.map(
            |(id, code, title, contract_id, contract_title)| ActionChoice {
                id,
                code,
                title,
                contract_id,
                contract_title,
            },
        ),
        views,
    }))
}

// ---------------------------------------------------------------- home

/// Everything a territory's public home shows besides its drop-ins (they
/// come from the process's cache of the schedule, checked against
/// `schedule_stamp`).
#[derive(Debug)]
pub struct HomePage {
    pub territory: Territory,
    /// By name.
    pub communes: Vec<Commune>,
    /// The QPV that lie (at least partly) in its communes, by name.
    pub qpvs: Vec<Qpv>,
    /// Its contracts, newest first: (id, title).
    pub contracts: Vec<(i64, String)>,
    pub schedule_stamp: String,
    /// The next event sessions (from `from`, at most [`HOME_SESSIONS`]),
    /// with their event and seat counts.
    pub sessions: Vec<(Event, Session)>,
}

/// A public territory (never the regional owner) by its slug, `$1`: the
/// `t` of a page's statement, read by `Territory`'s `FromRow` from
/// [`TERRITORY_COLUMNS`].
const TERRITORY_ROW: &str =
    "SELECT id, slug, name, kind, epci_siren, presentation, contact_name, contact_email,
         contact_phone, contact_address, version, created_at, updated_at
  FROM territories WHERE slug = $1 AND kind <> 'region'";

const TERRITORY_COLUMNS: &str =
    "t.id, t.slug, t.name, t.kind, t.epci_siren, t.presentation, t.contact_name, t.contact_email,
  t.contact_phone, t.contact_address, t.version, t.created_at, t.updated_at";

/// The territory `t`'s communes by name, as [`CommuneRow`]s.
const COMMUNES: &str = "(SELECT CAST(json_group_array(json_array(c.insee_code, c.name, c.kind, c.departement, c.region,
            c.population, c.postal_codes, c.parent_code) ORDER BY c.name_search) AS TEXT)
     FROM communes c JOIN territory_communes tc ON tc.insee_code = c.insee_code
     WHERE tc.territory_id = t.id)";

/// A page's SQL template with the territory's pieces in place:
/// `{TERRITORY_ROW}`, `{TERRITORY_COLUMNS}` and `{COMMUNES}`.
fn territory_sql(template: &str) -> String {
    template
        .replace("{TERRITORY_ROW}", TERRITORY_ROW)
        .replace("{TERRITORY_COLUMNS}", TERRITORY_COLUMNS)
        .replace("{COMMUNES}", COMMUNES)
}

/// The coming public meetings of the territory `t`'s bodies from `$2`, as
/// [`MeetingRow`]s (`storage::participation::upcoming_public_meetings`).
const PUBLIC_MEETINGS: &str = "(SELECT CAST(json_group_array(json_array(m.id, m.body_id, m.title, m.starts_at,
            m.place, m.online_link, m.agenda, m.minutes, CASE WHEN m.public THEN 1 ELSE 0 END, m.version,
            m.body_name) ORDER BY m.starts_at, m.id) AS TEXT)
     FROM (SELECT mt.id, mt.body_id, mt.title, mt.starts_at, mt.place, mt.online_link, mt.agenda,
             mt.minutes, mt.public, mt.version, b.name AS body_name
           FROM meetings mt JOIN bodies b ON b.id = mt.body_id
           WHERE b.territory_id = t.id AND mt.public = TRUE AND mt.starts_at >= $2
           ORDER BY mt.starts_at, mt.id LIMIT 50) m)";

/// A meeting as [`PUBLIC_MEETINGS`] lists it, with its body's name.
type MeetingRow = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    Flag,
    i64,
    String,
);

fn public_meeting(m: MeetingRow) -> DbResult<(Meeting, String)> {
    Ok((
        Meeting {
            id: m.0,
            body_id: m.1,
            title: m.2,
            starts_at: timestamp(&m.3)?,
            place: m.4,
            online_link: m.5,
            agenda: m.6,
            minutes: m.7,
            public: m.8 != 0,
            version: m.9,
        },
        m.10,
    ))
}

/// An event session's columns as [`SESSION_ROW_LIST`] reads them, from
/// `event_sessions s JOIN events e`, with its seat counts.
const SESSION_ROW_COLUMNS: &str =
    "e.id AS e_id, e.territory_id AS e_territory_id, e.title AS e_title, e.kind AS e_kind,
             e.status AS e_status, e.organiser AS e_organiser, e.themes AS e_themes,
             e.description AS e_description, e.linked_actions AS e_linked_actions,
             CASE WHEN e.programme_to_come THEN 1 ELSE 0 END AS e_programme_to_come,
             e.version AS e_version, e.action_id AS e_action_id,
             s.id, s.event_id, s.starts_at, s.ends_at, s.place_id, s.capacity, s.audience,
             s.audience_roles, CASE WHEN s.cancelled THEN 1 ELSE 0 END AS cancelled, s.place_text,
             (SELECT CAST(COALESCE(SUM(r.party_size), 0) AS BIGINT) FROM registrations r
               WHERE r.session_id = s.id AND r.status = 'confirmed') AS taken,
             (SELECT CAST(COALESCE(SUM(r.party_size), 0) AS BIGINT) FROM registrations r
               WHERE r.session_id = s.id AND r.status = 'waiting') AS waiting";

/// A JSON list of [`SessionRow`]s, by start then id, from a derived table
/// `x` of [`SESSION_ROW_COLUMNS`].
const SESSION_ROW_LIST: &str = "CAST(json_group_array(json_array(
            json_array(x.e_id, x.e_territory_id, x.e_title, x.e_kind, x.e_status, x.e_organiser,
              x.e_themes, x.e_description, x.e_linked_actions, x.e_programme_to_come, x.e_version,
              x.e_action_id),
            json_array(x.id, x.event_id, x.starts_at, x.ends_at, x.place_id, x.capacity, x.audience,
              x.audience_roles, x.cancelled, x.place_text, x.taken, x.waiting))
          ORDER BY x.starts_at, x.id) AS TEXT)";

/// How many event sessions the home shows.
pub const HOME_SESSIONS: i64 = 4;

/// A territory's public home in one statement: the territory, its
/// communes and QPV, its contracts, the stamp of its drop-in schedule and
/// its next event sessions as `storage::agenda::agenda_sessions` and
/// `fill_seat_counts` give them (events of the territory, from `$2`, by
/// start then id). The QPV are reached from the territory's communes (an
/// `IN` list): an `EXISTS` for each QPV of the country scanned them all,
/// 770 µs on SQLite with the 1,600 QPV of France against 41 µs.
const HOME: &str = "
WITH t AS (
  {TERRITORY_ROW}
)
SELECT
  {TERRITORY_COLUMNS},
  {COMMUNES} AS communes,
  (SELECT CAST(json_group_array(json_array(q.code, q.name) ORDER BY q.name, q.code) AS TEXT)
     FROM qpvs q
     WHERE q.code IN (SELECT qc.qpv_code FROM territory_communes tc
                      JOIN qpv_communes qc ON qc.insee_code = tc.insee_code
                      WHERE tc.territory_id = t.id)) AS qpvs,
  (SELECT CAST(json_group_array(json_array(k.id, k.title) ORDER BY k.id DESC) AS TEXT)
     FROM contracts k WHERE k.territory_id = t.id) AS contracts,
  {SCHEDULE_STAMP} AS schedule_stamp,
  (SELECT {SESSION_ROW_LIST}
     FROM (SELECT {SESSION_ROW_COLUMNS}
           FROM event_sessions s JOIN events e ON e.id = s.event_id
           WHERE s.territory_id = {TERRITORY} AND s.starts_at >= $2
           ORDER BY s.starts_at, s.id LIMIT {HOME_SESSIONS}) x) AS sessions
FROM t
";

static HOME_SQLITE: LazyLock<String> = LazyLock::new(|| home_sql(Backend::Sqlite));
static HOME_POSTGRES: LazyLock<String> = LazyLock::new(|| home_sql(Backend::Postgres));

fn home_sql(backend: Backend) -> String {
    let sql = territory_sql(HOME)
        .replace("{SESSION_ROW_LIST}", SESSION_ROW_LIST)
        .replace("{SESSION_ROW_COLUMNS}", SESSION_ROW_COLUMNS)
        .replace("{SCHEDULE_STAMP}", &schedule_stamp_sql("t.id"))
        .replace("{TERRITORY}", TERRITORY)
        .replace("{HOME_SESSIONS}", &HOME_SESSIONS.to_string());
    for_backend(&sql, backend)
}

type CommuneRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
    String,
    Option<String>,
);

/// An event session as [`HOME`] lists it: the event's columns and the
/// session's, each an array.
type SessionRow = (
    (
        i64,
        i64,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        Flag,
        i64,
        Option<i64>,
    ),
    SessionColumns,
);

/// The public home of the territory `slug` (never the regional owner),
/// its next event sessions from `from`, in one statement (see [`HOME`]).
pub async fn home(db: &Db, slug: &str, from: DateTime<Utc>) -> DbResult<Option<HomePage>> {
    macro_rules! read {
        ($pool:expr, $sql:expr) => {{
            let row = sqlx::query($sql)
                .bind(slug)
                .bind(from)
                .fetch_optional($pool)
                .await?;
            match row {
                None => None,
                Some(row) => Some((
                    <Territory as sqlx::FromRow<_>>::from_row(&row)?,
                    row.try_get::<Option<String>, _>("communes")?,
                    row.try_get::<Option<String>, _>("qpvs")?,
                    row.try_get::<Option<String>, _>("contracts")?,
                    row.try_get::<String, _>("schedule_stamp")?,
                    row.try_get::<Option<String>, _>("sessions")?,
                )),
            }
        }};
    }
    let read = match db {
        Db::Sqlite(pool) => read!(pool, HOME_SQLITE.as_str()),
        Db::Postgres(pool) => read!(pool, HOME_POSTGRES.as_str()),
    };
    let Some((territory, communes, qpvs, contracts, schedule_stamp, sessions)) = read else {
        return Ok(None);
    };
    let communes: Vec<CommuneRow> = list(communes)?;
    let qpvs: Vec<(String, String)> = list(qpvs)?;
    let sessions: Vec<SessionRow> = list(sessions)?;
    Ok(Some(HomePage {
        territory,
        communes: communes.into_iter().map(commune).collect(),
        qpvs: qpvs
            .into_iter()
            .map(|(code, name)| Qpv { code, name })
            .collect(),
        contracts: list(contracts)?,
        schedule_stamp,
        sessions: sessions
            .into_iter()
            .map(event_session)
            .collect::<DbResult<_>>()?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_gets_its_json_functions() {
        let sql = "SELECT CAST(json_group_array(json_array(a, b) ORDER BY a) AS TEXT)";
        assert_eq!(for_backend(sql, Backend::Sqlite), sql);
        assert_eq!(
            for_backend(sql, Backend::Postgres),
            "SELECT CAST(json_agg(json_build_array(a, b) ORDER BY a) AS TEXT)"
        );
    }

    #[test]
    fn exact_reals_are_written_out_per_backend() {
        let sql = "json_array(exact(a.score), exact(SUM(s.supply)), inexact(b))";
        assert_eq!(
            for_backend(sql, Backend::Sqlite),
            "json_array(nullif(quote(a.score), 'NULL'), nullif(quote(SUM(s.supply)), 'NULL'), inexact(b))"
        );
        assert_eq!(
            for_backend(sql, Backend::Postgres),
            "json_build_array(CAST(a.score AS TEXT), CAST(SUM(s.supply) AS TEXT), inexact(b))"
        );
        // Unbalanced: left for the database to refuse.
        assert_eq!(for_backend("exact(a", Backend::Sqlite), "exact(a");
    }

    #[test]
    fn reals_read_back_exactly() {
        // As SQLite's quote() and PostgreSQL write them; serde_json's own
        // number reading gives 0.025528949473361 for the last one.
        let read: Vec<Option<Real>> = serde_json::from_str(
            r#"["0.3", "3.00000000000000044409e-01", null, "0.025528949473361002"]"#,
        )
        .unwrap();
        assert_eq!(
            read,
            [
                Some(Real(0.3)),
                Some(Real(0.1 + 0.2)),
                None,
                Some(Real(0.025528949473361002))
            ]
        );
        assert!(serde_json::from_str::<Real>(r#""abc""#).is_err());
    }

    #[test]
    fn timestamps_from_either_backend() {
        let a = timestamp("2026-03-01T09:30:00.123456+01:00").unwrap();
        let b = timestamp("2026-03-01 08:30:00.123456+00:00").unwrap();
        assert_eq!(a, b);
    }
}
