//! Computed indicators: what the product recorded (drop-ins held and the
//! people received there, event sessions, registrations and presence,
//! meetings of bodies and their attendance, questionnaire answers, ideas)
//! turned into the measurements of the indicators whose source is a metric.
//!
//! Values are computed when read, from a few set-based queries per
//! territory ([`Facts::load`]), so they follow the data as it changes and
//! are never stored twice. They appear as measurements with the source
//! « Maillage » and id 0 (they cannot be deleted or typed over).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Europe::Paris;

use crate::db_run;
use crate::domain::agenda::recurrence::{expand, Exception, OccurrenceStatus, Schedule};
use crate::domain::evaluation::{running_values, Fact, Metric, SourceKind, COMPUTED_SOURCE};
use crate::storage::agenda;
use crate::storage::contract::Contract;
use crate::storage::indicators::{self, Indicator, Measurement};
use crate::storage::{Db, DbResult};

fn date(s: &str) -> Option<NaiveDate> {
    crate::domain::dates::iso_date(s)
}

fn paris_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Paris).date_naive()
}

/// Everything a territory's computed indicators count, keyed by the id of
/// what it belongs to (series, event, body, consultation).
#[derive(Debug, Default)]
pub struct Facts {
    /// Drop-in sessions held (one fact per occurrence not cancelled, up to
    /// today), by series.
    pub dropin_sessions: HashMap<i64, Vec<Fact>>,
    /// People received at drop-ins, by series.
    pub dropin_people: HashMap<i64, Vec<Fact>>,
    /// People helped (activity records), by series, on the drop-in's day.
    pub mediated: HashMap<i64, Vec<Fact>>,
    /// Referrals made (activity records), by series.
    pub referrals: HashMap<i64, Vec<Fact>>,
    /// Event sessions held (not cancelled, started by today), by event.
    pub event_sessions: HashMap<i64, Vec<Fact>>,
    /// Confirmed registrations (people, party size counted), by event, on
    /// the session's day.
    pub registrations: HashMap<i64, Vec<Fact>>,
    /// People marked present, by event.
    pub present: HashMap<i64, Vec<Fact>>,
    /// Meetings held, by body.
    pub meetings: HashMap<i64, Vec<Fact>>,
    /// Members present / invited, by body, on the meeting's day.
    pub attendance: HashMap<i64, Vec<Fact>>,
    /// Answers received, by questionnaire.
    pub answers: HashMap<i64, Vec<Fact>>,
    /// Ideas received (the whole territory).
    pub ideas: Vec<Fact>,
    /// The fiche action a series carries out.
    pub series_action: HashMap<i64, i64>,
    /// The fiche action an event carries out.
    pub event_action: HashMap<i64, i64>,
    pub series_ids: Vec<i64>,
    pub event_ids: Vec<i64>,
    pub body_ids: Vec<i64>,
    pub consultation_ids: Vec<i64>,
}

type Links = Vec<(i64, Option<i64>)>;
type People = Vec<(i64, String, i64)>;
type Sessions = Vec<(i64, DateTime<Utc>, i64, i64)>;
type Meetings = Vec<(i64, DateTime<Utc>, i64, i64)>;
type Stamps = Vec<(i64, DateTime<Utc>)>;
type Activity = Vec<(i64, String, i64, i64)>;

/// The rows a territory's facts are counted from, besides its drop-in
/// schedule (series rules and exceptions). Read by [`FactRows::read`], or
/// within a page's own statement (`storage::public_pages`).
#[derive(Debug, Default)]
pub struct FactRows {
    /// Every drop-in series (id, fiche action), by title then id.
    pub series_links: Links,
    /// Every event (id, fiche action), by id.
    pub event_links: Links,
    /// People received: (series, day, count).
    pub people: People,
    /// One row per session held (not cancelled): (event, start,
    /// confirmed registrations, present), party sizes counted.
    pub sessions: Sessions,
    /// One row per meeting: (body, start, members present, invited).
    pub meetings: Meetings,
    /// Questionnaire answers: (consultation, when).
    pub answers: Stamps,
    /// When each idea was received.
    pub ideas: Vec<DateTime<Utc>>,
    pub bodies: Vec<i64>,
    pub consultations: Vec<i64>,
    /// The mediators' activity records per drop-in date: (series, day,
    /// people, referrals).
    pub activity: Activity,
}

impl FactRows {
    pub async fn read(db: &Db, territory_id: i64) -> DbResult<FactRows> {
        Ok(db_run!(db, pool => {
            let series_links: Links = sqlx::query_as(
                "SELECT id, action_id FROM dropin_series WHERE territory_id = $1 ORDER BY title, id",
            ).bind(territory_id).fetch_all(pool).await?;
            let event_links: Links = sqlx::query_as(
                "SELECT id, action_id FROM events WHERE territory_id = $1 ORDER BY id",
            ).bind(territory_id).fetch_all(pool).await?;
            let people: People = sqlx::query_as(
                "SELECT a.series_id, a.held_on, a.received FROM dropin_attendance a \
                 JOIN dropin_series s ON s.id = a.series_id WHERE s.territory_id = $1",
            ).bind(territory_id).fetch_all(pool).await?;
            let sessions: Sessions = sqlx::query_as(
                "SELECT s.event_id, s.starts_at, \
                   CAST(COALESCE(SUM(CASE WHEN r.status = 'confirmed' THEN r.party_size ELSE 0 END), 0) AS BIGINT), \
                   CAST(COALESCE(SUM(CASE WHEN r.status = 'confirmed' AND r.attended THEN r.party_size ELSE 0 END), 0) AS BIGINT) \
                 FROM event_sessions s JOIN events e ON e.id = s.event_id \
                 LEFT JOIN registrations r ON r.session_id = s.id \
                 WHERE e.territory_id = $1 AND NOT s.cancelled \
                 GROUP BY s.id, s.event_id, s.starts_at",
            ).bind(territory_id).fetch_all(pool).await?;
            let meetings: Meetings = sqlx::query_as(
                "SELECT m.body_id, m.starts_at, \
                   CAST(COALESCE(SUM(CASE WHEN a.present THEN 1 ELSE 0 END), 0) AS BIGINT), \
                   CAST(COALESCE(SUM(CASE WHEN a.invited THEN 1 ELSE 0 END), 0) AS BIGINT) \
                 FROM meetings m JOIN bodies b ON b.id = m.body_id \
                 LEFT JOIN meeting_attendance a ON a.meeting_id = m.id \
                 WHERE b.territory_id = $1 GROUP BY m.id, m.body_id, m.starts_at",
            ).bind(territory_id).fetch_all(pool).await?;
            let answers: Stamps = sqlx::query_as(
                "SELECT r.consultation_id, r.submitted_at FROM responses r \
                 JOIN consultations c ON c.id = r.consultation_id WHERE c.territory_id = $1",
            ).bind(territory_id).fetch_all(pool).await?;
            let ideas: Vec<DateTime<Utc>> = sqlx::query_scalar(
                "SELECT created_at FROM ideas WHERE territory_id = $1",
            ).bind(territory_id).fetch_all(pool).await?;
            let bodies: Vec<i64> = sqlx::query_scalar("SELECT id FROM bodies WHERE territory_id = $1 ORDER BY id")
                .bind(territory_id).fetch_all(pool).await?;
            let consultations: Vec<i64> = sqlx::query_scalar(
                "SELECT id FROM consultations WHERE territory_id = $1 ORDER BY id",
            ).bind(territory_id).fetch_all(pool).await?;
            let activity: Activity = sqlx::query_as(
                "SELECT series_id, held_on, COUNT(*), \
                   CAST(COALESCE(SUM(CASE WHEN referral THEN 1 ELSE 0 END), 0) AS BIGINT) \
                 FROM activity_records WHERE territory_id = $1 GROUP BY series_id, held_on",
            ).bind(territory_id).fetch_all(pool).await?;
            FactRows { series_links, event_links, people, sessions, meetings, answers, ideas, bodies, consultations, activity }
        }))
    }
}

impl Facts {
    /// Read a territory's facts up to `today` (Europe/Paris).
    pub async fn load(db: &Db, territory_id: i64, today: NaiveDate) -> DbResult<Facts> {
        let series = agenda::list_series(db, territory_id).await?;
        let mut exc: HashMap<i64, Vec<_>> = HashMap::new();
        for (sid, e) in agenda::exceptions(db, territory_id).await? {
            exc.entry(sid).or_default().push(e);
        }
        let schedules: Vec<(i64, Schedule)> = series
            .iter()
            .filter_map(|s| Some((s.id, s.schedule().ok()?)))
            .collect();
        let rows = FactRows::read(db, territory_id).await?;
        Ok(Facts::build(
            schedules
                .iter()
                .map(|(id, sch)| (*id, sch, exc.get(id).map(Vec::as_slice).unwrap_or(&[]))),
            rows,
            today,
        ))
    }

    /// The facts from a territory's drop-in schedules (series id, rule,
    /// exceptions) and its other rows.
    pub fn build<'a>(
        schedules: impl Iterator<Item = (i64, &'a Schedule, &'a [Exception])>,
        rows: FactRows,
        today: NaiveDate,
    ) -> Facts {
        let mut f = Facts::default();
        for (id, schedule, e) in schedules {
            let from = schedule.first_date();
            let held: Vec<Fact> = expand(schedule, e, from, today)
                .into_iter()
                .filter(|o| o.status != OccurrenceStatus::Cancelled)
                .map(|o| Fact::one(o.date))
                .collect();
            f.dropin_sessions.insert(id, held);
        }
        let FactRows {
            series_links,
            event_links,
            people,
            sessions,
            meetings,
            answers,
            ideas,
            bodies,
            consultations,
            activity,
        } = rows;
        f.series_ids = series_links.iter().map(|(s, _)| *s).collect();
        f.series_action = series_links
            .into_iter()
            .filter_map(|(s, a)| a.map(|a| (s, a)))
            .collect();
        for (e, a) in event_links {
            f.event_ids.push(e);
            if let Some(a) = a {
                f.event_action.insert(e, a);
            }
        }
        for (sid, held_on, received) in people {
            if let Some(d) = date(&held_on).filter(|d| *d <= today) {
                f.dropin_people
                    .entry(sid)
                    .or_default()
                    .push(Fact::count(d, received as f64));
            }
        }
        for (eid, starts, registered, present) in sessions {
            let d = paris_day(starts);
            if d > today {
                continue;
            }
            f.event_sessions.entry(eid).or_default().push(Fact::one(d));
            f.registrations
                .entry(eid)
                .or_default()
                .push(Fact::count(d, registered as f64));
            f.present
                .entry(eid)
                .or_default()
                .push(Fact::count(d, present as f64));
        }
        for (bid, starts, present, invited) in meetings {
            let d = paris_day(starts);
            if d > today {
                continue;
            }
            f.meetings.entry(bid).or_default().push(Fact::one(d));
            f.attendance.entry(bid).or_default().push(Fact {
                on: d,
                value: present as f64,
                base: invited as f64,
            });
        }
        for (cid, at) in answers {
            f.answers
                .entry(cid)
                .or_default()
                .push(Fact::one(paris_day(at)));
        }
        f.ideas = ideas
            .into_iter()
            .map(|at| Fact::one(paris_day(at)))
            .collect();
        f.body_ids = bodies;
        f.consultation_ids = consultations;
        for (sid, held_on, people, referred) in activity {
            if let Some(d) = date(&held_on).filter(|d| *d <= today) {
                f.mediated
                    .entry(sid)
                    .or_default()
                    .push(Fact::count(d, people as f64));
                f.referrals
                    .entry(sid)
                    .or_default()
                    .push(Fact::count(d, referred as f64));
            }
        }
        f
    }

    /// The facts a computed indicator counts: its chosen sources, or those
    /// linked to its action, or (for the contract's own indicators) all of
    /// the territory.
    pub fn of(
        &self,
        metric: Metric,
        action_id: Option<i64>,
        sources: &[(String, i64)],
    ) -> Vec<Fact> {
        let kind = metric.source_kind();
        let chosen: Vec<i64> = sources
            .iter()
            .filter(|(k, _)| k == kind.as_str())
            .map(|(_, id)| *id)
            .collect();
        let ids: Vec<i64> = if !chosen.is_empty() {
            chosen
        } else {
            match (kind, action_id) {
                (SourceKind::Series, Some(a)) => linked(&self.series_action, a),
                (SourceKind::Series, None) => self.series_ids.clone(),
                (SourceKind::Event, Some(a)) => linked(&self.event_action, a),
                (SourceKind::Event, None) => self.event_ids.clone(),
                (SourceKind::Body, _) => self.body_ids.clone(),
                (SourceKind::Consultation, _) => self.consultation_ids.clone(),
                (SourceKind::Territory, _) => Vec::new(),
            }
        };
        let map = match metric {
            Metric::DropinSessions => &self.dropin_sessions,
            Metric::DropinPeople => &self.dropin_people,
            Metric::EventsHeld => &self.event_sessions,
            Metric::Registrations => &self.registrations,
            Metric::PeoplePresent => &self.present,
            Metric::MeetingsHeld => &self.meetings,
            Metric::MeetingAttendance => &self.attendance,
            Metric::QuestionnaireAnswers => &self.answers,
            Metric::IdeasReceived => return self.ideas.clone(),
            Metric::MediatedPeople => &self.mediated,
            Metric::MediationReferrals => &self.referrals,
        };
        ids.iter()
            .filter_map(|id| map.get(id))
            .flatten()
            .copied()
            .collect()
    }
}

fn linked(map: &HashMap<i64, i64>, action: i64) -> Vec<i64> {
    let mut v: Vec<i64> = map
        .iter()
        .filter(|(_, a)| **a == action)
        .map(|(s, _)| *s)
        .collect();
    v.sort_unstable();
    v
}

/// The period an indicator counts: its own, else its action's, else the
/// contract's; an open end stops at `today`. `None` when nothing gives a
/// start.
pub fn period_of(
    ind: &Indicator,
    action_period: Option<(Option<&str>, Option<&str>)>,
    contract: &Contract,
    today: NaiveDate,
) -> Option<(NaiveDate, NaiveDate)> {
    let (a_start, a_end) = action_period.unwrap_or((None, None));
    let start = ind
        .period_start
        .as_deref()
        .or(a_start)
        .or(contract.period_start.as_deref())
        .and_then(date)?;
    let end = ind
        .period_end
        .as_deref()
        .or(a_end)
        .or(contract.period_end.as_deref())
        .and_then(date)
        .unwrap_or(today);
    Some((start, end))
}

/// The computed measurements of a contract's computed indicators, by
/// indicator id. `action_periods` gives each action's period (start, end).
pub async fn computed_measurements(
    db: &Db,
    contract: &Contract,
    inds: &[Indicator],
    today: NaiveDate,
) -> DbResult<HashMap<i64, Vec<Measurement>>> {
    let computed: Vec<&Indicator> = inds.iter().filter(|i| i.is_computed()).collect();
    if computed.is_empty() {
        return Ok(HashMap::new());
    }
    let facts = Facts::load(db, contract.territory_id, today).await?;
    let sources = indicators::sources_of_contract(db, contract.id).await?;
    let periods: HashMap<i64, (Option<String>, Option<String>)> = db_run!(db, pool => {
        let rows: Vec<(i64, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT id, period_start, period_end FROM actions WHERE contract_id = $1",
        ).bind(contract.id).fetch_all(pool).await?;
        rows.into_iter().map(|(id, s, e)| (id, (s, e))).collect()
    });
    Ok(compute(
        &facts, contract, &computed, &sources, &periods, today,
    ))
}

/// The computed measurements of an action's indicators from facts read
/// elsewhere (the public fiche reads [`FactRows`] and the chosen sources in
/// its own statement, and takes the drop-in schedules from the process's
/// cache): the same values as [`computed_measurements`].
pub fn computed_for_action<'a>(
    schedules: impl Iterator<Item = (i64, &'a Schedule, &'a [Exception])>,
    rows: FactRows,
    sources: &HashMap<i64, Vec<(String, i64)>>,
    contract: &Contract,
    action: &crate::storage::contract::Action,
    inds: &[Indicator],
    today: NaiveDate,
) -> HashMap<i64, Vec<Measurement>> {
    let facts = Facts::build(schedules, rows, today);
    let periods = HashMap::from([(
        action.id,
        (action.period_start.clone(), action.period_end.clone()),
    )]);
    let computed: Vec<&Indicator> = inds.iter().filter(|i| i.is_computed()).collect();
    compute(&facts, contract, &computed, sources, &periods, today)
}

/// The computed measurements of a contract's own indicators (those of no
/// action) from facts read elsewhere (the public contract page reads
/// [`FactRows`] and the chosen sources in its own statement, and takes the
/// drop-in schedules from the process's cache): the same values as
/// [`computed_measurements`] gives them.
pub fn computed_for_contract<'a>(
    schedules: impl Iterator<Item = (i64, &'a Schedule, &'a [Exception])>,
    rows: FactRows,
    sources: &HashMap<i64, Vec<(String, i64)>>,
    contract: &Contract,
    inds: &[Indicator],
    today: NaiveDate,
) -> HashMap<i64, Vec<Measurement>> {
    let facts = Facts::build(schedules, rows, today);
    // An action's period only matters to that action's indicators.
    let periods = HashMap::new();
    let computed: Vec<&Indicator> = inds
        .iter()
        .filter(|i| i.is_computed() && i.action_id.is_none())
        .collect();
    compute(&facts, contract, &computed, sources, &periods, today)
}

/// The pure part of [`computed_measurements`] (benchmarked on its own).
pub fn compute(
    facts: &Facts,
    contract: &Contract,
    inds: &[&Indicator],
    sources: &HashMap<i64, Vec<(String, i64)>>,
    periods: &HashMap<i64, (Option<String>, Option<String>)>,
    today: NaiveDate,
) -> HashMap<i64, Vec<Measurement>> {
    let mut out = HashMap::new();
    let stamp = format!("calculé le {}", today.format("%d/%m/%Y"));
    for ind in inds {
        let Some(metric) = ind.source().metric() else {
            continue;
        };
        let action_period = ind
            .action_id
            .and_then(|a| periods.get(&a))
            .map(|(s, e)| (s.as_deref(), e.as_deref()));
        let Some((from, to)) = period_of(ind, action_period, contract, today) else {
            out.insert(ind.id, Vec::new());
            continue;
        };
        let no_sources = Vec::new();
        let facts = facts.of(
            metric,
            ind.action_id,
            sources.get(&ind.id).unwrap_or(&no_sources),
        );
        let values = running_values(metric, &facts, from, to, today);
        out.insert(
            ind.id,
            values
                .into_iter()
                .map(|(d, v)| Measurement {
                    id: 0,
                    indicator_id: ind.id,
                    measured_on: d.format("%Y-%m-%d").to_string(),
                    value: v,
                    source: COMPUTED_SOURCE.to_owned(),
                    comment: stamp.clone(),
                })
                .collect(),
        );
    }
    out
}

/// Every measurement of a contract's indicators — typed ones as stored,
/// computed ones as computed today — by indicator then date.
pub async fn measurements_of_contract(
    db: &Db,
    contract: &Contract,
    inds: &[Indicator],
    today: NaiveDate,
) -> DbResult<HashMap<i64, Vec<Measurement>>> {
    let mut ms = indicators::measurements_of_contract(db, contract.id).await?;
    for (id, computed) in computed_measurements(db, contract, inds, today).await? {
        ms.insert(id, computed);
    }
    Ok(ms)
}

/// The indicators of one action with their measurements, computed ones
/// included.
pub async fn for_action(
    db: &Db,
    contract: &Contract,
    action_id: i64,
    today: NaiveDate,
) -> DbResult<Vec<(Indicator, Vec<Measurement>)>> {
    let mut v = indicators::for_action(db, action_id).await?;
    if v.iter().any(|(i, _)| i.is_computed()) {
        let inds: Vec<Indicator> = v.iter().map(|(i, _)| i.clone()).collect();
        let mut computed = computed_measurements(db, contract, &inds, today).await?;
        for (i, ms) in &mut v {
            if let Some(c) = computed.remove(&i.id) {
                *ms = c;
            }
        }
    }
    Ok(v)
}

/// The source chosen for an indicator as a form value (`series:12`).
pub fn source_ref_of(sources: &HashMap<i64, Vec<(String, i64)>>, indicator_id: i64) -> String {
    sources
        .get(&indicator_id)
        .and_then(|v| v.first())
        .map(|(k, id)| format!("{k}:{id}"))
        .unwrap_or_default()
}
