//! The yearly review (« bilan annuel ») and the end-of-contract evaluation
//! of a contract, read from the database ([`ReviewData::load`], a fixed
//! number of queries) and laid out as a [`Document`] ([`yearly`],
//! [`evaluation`]) that every format renders.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Europe::Paris;

use super::document::{Block, Cell, Chart, Document, Table};
use crate::db_run;
use crate::domain::agenda::recurrence::{expand, OccurrenceStatus};
use crate::domain::appraisal::Criterion;
use crate::domain::contract::{ActionStatus, ContractKind};
use crate::domain::dates::long_date;
use crate::domain::diagnosis::figures::{changes, Figure};
use crate::domain::participation::{body_kind_label, IdeaStatus};
use crate::domain::review::ReviewState;
use crate::plan::{is_late, FullPlan};
use crate::storage::agenda;
use crate::storage::appraisal::Question;
use crate::storage::contract::{Action, Contract};
use crate::storage::indicators::{Indicator, Measurement};
use crate::storage::reviews::Review;
use crate::storage::{Db, DbResult};
use crate::web::contract::charts::Sparkline;

/// Why a report cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The request cannot be served (a year outside the contract…): the
    /// message says why, in French.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Db(#[from] crate::storage::DbError),
    #[error(transparent)]
    Render(#[from] super::RenderError),
}

fn date(s: &str) -> Option<NaiveDate> {
    crate::domain::dates::iso_date(s)
}

fn paris_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Paris).date_naive()
}

/// The contract's period as dates, or why there is none.
pub fn contract_period(c: &Contract) -> Result<(NaiveDate, NaiveDate), ReportError> {
    match (
        c.period_start.as_deref().and_then(date),
        c.period_end.as_deref().and_then(date),
    ) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(ReportError::Refused(
            "Le contrat n'a pas de période : renseignez ses dates de début et de fin avant de produire un bilan.".into(),
        )),
    }
}

/// The years a review can be made for: those of the contract's period that
/// have begun.
pub fn review_years(c: &Contract, today: NaiveDate) -> Vec<i32> {
    match contract_period(c) {
        Ok((a, b)) => (a.year()..=b.year().min(today.year())).collect(),
        Err(_) => Vec::new(),
    }
}

/// Check a yearly review's year: within the contract's period and begun.
pub fn check_year(c: &Contract, year: i32, today: NaiveDate) -> Result<(), ReportError> {
    let (a, b) = contract_period(c)?;
    if year < a.year() || year > b.year() {
        return Err(ReportError::Refused(format!(
            "L'année {year} est hors de la période du contrat ({} – {}) : choisissez une année de {} à {}.",
            a.format("%d/%m/%Y"),
            b.format("%d/%m/%Y"),
            a.year(),
            b.year()
        )));
    }
    if year > today.year() {
        return Err(ReportError::Refused(format!(
            "L'année {year} n'a pas commencé : son bilan ne peut pas encore être fait."
        )));
    }
    Ok(())
}

fn review_state_label(s: &str) -> &'static str {
    ReviewState::parse(s)
        .map(ReviewState::label)
        .unwrap_or("à rédiger")
}

/// One held session of a drop-in or a meeting, with what was counted.
#[derive(Debug, Clone)]
struct Dated<T> {
    on: NaiveDate,
    what: T,
}

/// Everything a review reads.
pub struct ReviewData {
    pub territory: String,
    pub plan: FullPlan,
    /// Every measurement (computed ones included), by indicator.
    pub measurements: HashMap<i64, Vec<Measurement>>,
    pub reviews: HashMap<(i64, i64), Review>,
    /// (body id, name, kind)
    bodies: Vec<(i64, String, String)>,
    /// Meetings by body: (present, invited, decisions, follow-ups, done).
    meetings: HashMap<i64, Vec<Dated<MeetingCounts>>>,
    /// Drop-in sessions held: commune name → dates.
    dropin_sessions: Vec<Dated<String>>,
    /// People received: commune name → (date, count).
    dropin_people: Vec<Dated<(String, i64)>>,
    /// (event id, title) and sessions held: (registered, present).
    events: Vec<(i64, String)>,
    event_sessions: HashMap<i64, Vec<Dated<(i64, i64)>>>,
    /// Questionnaires: (id, title) and answers' dates.
    consultations: Vec<(i64, String)>,
    answers: HashMap<i64, Vec<NaiveDate>>,
    /// Ideas: (date, status); join requests: (date, status).
    ideas: Vec<(NaiveDate, String)>,
    joins: Vec<(NaiveDate, String)>,
    /// Diagnosis findings: (chapter, title, last change).
    findings: Vec<(String, String, NaiveDate)>,
    /// The diagnosis' headline figures by year: those kept at each
    /// computation, the current year's computed now.
    pub figures: BTreeMap<i32, Vec<Figure>>,
    pub questions: Vec<Question>,
    pub stakeholder_questionnaire: Option<(String, i64)>,
}

/// A meeting's (present, invited, decisions, follow-ups, follow-ups done).
type MeetingCounts = (i64, i64, i64, i64, i64);

type MeetingRow = (i64, DateTime<Utc>, i64, i64, i64, i64, i64);

impl ReviewData {
    /// Read a contract's data up to `today`.
    pub async fn load(db: &Db, contract: Contract, today: NaiveDate) -> DbResult<ReviewData> {
        let tid = contract.territory_id;
        let plan = FullPlan::load(db, contract).await?;
        let measurements = crate::evaluation::measurements_of_contract(
            db,
            &plan.contract,
            &plan.indicators,
            today,
        )
        .await?;
        let cid = plan.contract.id;
        let (
            territory,
            bodies,
            meetings,
            places,
            people,
            events,
            sessions,
            consultations,
            answers,
            ideas,
            joins,
            findings,
            questionnaire,
        ) = db_run!(db, pool => {
            let territory: String = sqlx::query_scalar("SELECT name FROM territories WHERE id = $1")
                .bind(tid).fetch_one(pool).await?;
            let bodies: Vec<(i64, String, String)> = sqlx::query_as(
                "SELECT id, name, kind FROM bodies WHERE territory_id = $1 ORDER BY name",
            ).bind(tid).fetch_all(pool).await?;
            let meetings: Vec<MeetingRow> = sqlx::query_as(
                "SELECT m.body_id, m.starts_at, \
                   (SELECT COUNT(*) FROM meeting_attendance a WHERE a.meeting_id = m.id AND a.present), \
                   (SELECT COUNT(*) FROM meeting_attendance a WHERE a.meeting_id = m.id AND a.invited), \
                   (SELECT COUNT(*) FROM meeting_decisions d WHERE d.meeting_id = m.id), \
                   (SELECT COUNT(*) FROM meeting_decisions d WHERE d.meeting_id = m.id AND d.follow_up <> ''), \
                   (SELECT COUNT(*) FROM meeting_decisions d WHERE d.meeting_id = m.id AND d.follow_up <> '' AND d.done) \
                 FROM meetings m JOIN bodies b ON b.id = m.body_id WHERE b.territory_id = $1",
            ).bind(tid).fetch_all(pool).await?;
            let places: Vec<(i64, String)> = sqlx::query_as(
                "SELECT p.id, c.name FROM places p JOIN communes c ON c.insee_code = p.insee_code WHERE p.territory_id = $1",
            ).bind(tid).fetch_all(pool).await?;
            let people: Vec<(String, String, i64)> = sqlx::query_as(
                "SELECT a.held_on, COALESCE(c.name, a.insee_code), a.received FROM dropin_attendance a \
                 JOIN dropin_series s ON s.id = a.series_id LEFT JOIN communes c ON c.insee_code = a.insee_code \
                 WHERE s.territory_id = $1",
            ).bind(tid).fetch_all(pool).await?;
            let events: Vec<(i64, String)> = sqlx::query_as(
                "SELECT id, title FROM events WHERE territory_id = $1 ORDER BY title, id",
            ).bind(tid).fetch_all(pool).await?;
            let sessions: Vec<(i64, DateTime<Utc>, i64, i64)> = sqlx::query_as(
                "SELECT s.event_id, s.starts_at, \
                   CAST(COALESCE(SUM(CASE WHEN r.status = 'confirmed' THEN r.party_size ELSE 0 END), 0) AS BIGINT), \
                   CAST(COALESCE(SUM(CASE WHEN r.status = 'confirmed' AND r.attended THEN r.party_size ELSE 0 END), 0) AS BIGINT) \
                 FROM event_sessions s JOIN events e ON e.id = s.event_id \
                 LEFT JOIN registrations r ON r.session_id = s.id \
                 WHERE e.territory_id = $1 AND NOT s.cancelled GROUP BY s.id, s.event_id, s.starts_at",
            ).bind(tid).fetch_all(pool).await?;
            let consultations: Vec<(i64, String)> = sqlx::query_as(
                "SELECT id, title FROM consultations WHERE territory_id = $1 ORDER BY opens_on, id",
            ).bind(tid).fetch_all(pool).await?;
            let answers: Vec<(i64, DateTime<Utc>)> = sqlx::query_as(
                "SELECT r.consultation_id, r.submitted_at FROM responses r \
                 JOIN consultations c ON c.id = r.consultation_id WHERE c.territory_id = $1",
            ).bind(tid).fetch_all(pool).await?;
            let ideas: Vec<(DateTime<Utc>, String)> = sqlx::query_as(
                "SELECT created_at, status FROM ideas WHERE territory_id = $1",
            ).bind(tid).fetch_all(pool).await?;
            let joins: Vec<(DateTime<Utc>, String)> = sqlx::query_as(
                "SELECT j.created_at, j.status FROM join_requests j JOIN bodies b ON b.id = j.body_id WHERE b.territory_id = $1",
            ).bind(tid).fetch_all(pool).await?;
            let findings: Vec<(String, String, DateTime<Utc>)> = sqlx::query_as(
                "SELECT chapter, title, updated_at FROM diagnosis_findings WHERE territory_id = $1 ORDER BY chapter, position",
            ).bind(tid).fetch_all(pool).await?;
            let questionnaire: Option<(String, i64)> = sqlx::query_as(
                "SELECT c.title, (SELECT COUNT(*) FROM responses r WHERE r.consultation_id = c.id) \
                 FROM contracts k JOIN consultations c ON c.id = k.evaluation_consultation_id WHERE k.id = $1",
            ).bind(cid).fetch_optional(pool).await?;
            (territory, bodies, meetings, places, people, events, sessions, consultations, answers, ideas, joins, findings, questionnaire)
        });

        // Drop-in sessions held, by the commune of their place that day.
        let place_commune: HashMap<i64, String> = places.into_iter().collect();
        let series = agenda::list_series(db, tid).await?;
        let mut exc: HashMap<i64, Vec<_>> = HashMap::new();
        for (sid, e) in agenda::exceptions(db, tid).await? {
            exc.entry(sid).or_default().push(e);
        }
        let mut dropin_sessions = Vec::new();
        for s in &series {
            let Ok(schedule) = s.schedule() else { continue };
            let e = exc.get(&s.id).map(Vec::as_slice).unwrap_or(&[]);
            for o in expand(&schedule, e, schedule.first_date(), today) {
                if o.status == OccurrenceStatus::Cancelled {
                    continue;
                }
                let place = o.place_id.unwrap_or(s.place_id);
                dropin_sessions.push(Dated {
                    on: o.date,
                    what: place_commune.get(&place).cloned().unwrap_or_default(),
                });
            }
        }
        let mut meeting_map: HashMap<i64, Vec<Dated<MeetingCounts>>> = HashMap::new();
        for (body, at, present, invited, decisions, follow, done) in meetings {
            let on = paris_day(at);
            if on <= today {
                meeting_map.entry(body).or_default().push(Dated {
                    on,
                    what: (present, invited, decisions, follow, done),
                });
            }
        }
        let mut event_sessions: HashMap<i64, Vec<Dated<(i64, i64)>>> = HashMap::new();
        for (event, at, registered, present) in sessions {
            let on = paris_day(at);
            if on <= today {
                event_sessions.entry(event).or_default().push(Dated {
                    on,
                    what: (registered, present),
                });
            }
        }
        let mut answer_map: HashMap<i64, Vec<NaiveDate>> = HashMap::new();
        for (c, at) in answers {
            answer_map.entry(c).or_default().push(paris_day(at));
        }
        let mut figures = crate::storage::diagnosis::figures_by_year(db, tid).await?;
        let diagnosis = crate::diagnosis::load(db, tid, false).await?;
        if !diagnosis.communes.is_empty() {
            figures.insert(today.year(), crate::diagnosis::headline_figures(&diagnosis));
        }
        let reviews = crate::storage::reviews::for_contract(db, cid).await?;
        let questions = crate::storage::appraisal::for_contract(db, cid).await?;
        Ok(ReviewData {
            territory,
            plan,
            measurements,
            reviews: reviews
                .into_iter()
                .map(|r| ((r.action_id, r.year), r))
                .collect(),
            bodies,
            meetings: meeting_map,
            dropin_sessions,
            dropin_people: people
                .into_iter()
                .filter_map(|(d, commune, n)| {
                    date(&d).filter(|d| *d <= today).map(|on| Dated {
                        on,
                        what: (commune, n),
                    })
                })
                .collect(),
            events,
            event_sessions,
            consultations,
            answers: answer_map,
            ideas: ideas
                .into_iter()
                .map(|(at, s)| (paris_day(at), s))
                .collect(),
            joins: joins
                .into_iter()
                .map(|(at, s)| (paris_day(at), s))
                .collect(),
            findings: findings
                .into_iter()
                .map(|(c, t, at)| (c, t, paris_day(at)))
                .collect(),
            figures,
            questions,
            stakeholder_questionnaire: questionnaire,
        })
    }
}

/// A span of days: a year of the contract, or the whole contract.
#[derive(Debug, Clone, Copy)]
struct Span {
    from: NaiveDate,
    to: NaiveDate,
}

impl Span {
    fn has(&self, d: NaiveDate) -> bool {
        d >= self.from && d <= self.to
    }
}

fn year_span(year: i32) -> Span {
    Span {
        from: NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or_default(),
        to: NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or_default(),
    }
}

fn h(level: u8, text: impl Into<String>) -> Block {
    Block::Heading {
        level,
        text: text.into(),
    }
}

fn field(label: &str, text: &str) -> Block {
    Block::Field {
        label: label.into(),
        text: text.into(),
    }
}

fn table(caption: String, sheet: &str, header: &[&str], rows: Vec<Vec<Cell>>) -> Block {
    Block::Table(Table {
        caption,
        sheet: sheet.into(),
        header: header.iter().map(|s| s.to_string()).collect(),
        rows,
    })
}

fn opt_euros(c: Option<i64>) -> Cell {
    c.map(Cell::Euros).unwrap_or(Cell::Empty)
}

fn sum_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
    }
}

/// The last value measured by `on` and whether it reaches the target.
fn latest_by(ms: &[Measurement], on: NaiveDate) -> Option<&Measurement> {
    ms.iter()
        .filter(|m| date(&m.measured_on).is_some_and(|d| d <= on))
        .max_by(|a, b| a.measured_on.cmp(&b.measured_on))
}

/// Reaches its target: at or above it when the target is above the
/// baseline (or no baseline), at or below it otherwise.
fn on_target(ind: &Indicator, value: f64) -> Option<bool> {
    let target = ind.target?;
    Some(match ind.baseline {
        Some(b) if b > target => value <= target,
        _ => value >= target,
    })
}

fn status_of(a: &Action) -> &str {
    ActionStatus::label_of(&a.status)
}

struct Builder<'a> {
    d: &'a ReviewData,
    span: Span,
    /// The day figures are read at: the span's end, or today.
    as_of: NaiveDate,
    blocks: Vec<Block>,
}

impl<'a> Builder<'a> {
    fn actions_in_order(&self) -> Vec<(&'a crate::storage::contract::Axis, Vec<&'a Action>)> {
        let p = &self.d.plan.plan;
        p.axes
            .iter()
            .map(|x| {
                let mut acts: Vec<&Action> = Vec::new();
                for o in p.objectives.iter().filter(|o| o.axis_id == x.id) {
                    let mut mine: Vec<&Action> = p
                        .actions
                        .iter()
                        .filter(|a| a.objective_id == o.id)
                        .collect();
                    mine.sort_by_key(|a| a.position);
                    acts.extend(mine);
                }
                (x, acts)
            })
            .collect()
    }

    /// Budget lines of an action within the span's years.
    fn budget_lines(&self, a: &Action) -> Vec<&'a crate::storage::actions::BudgetLine> {
        self.d
            .plan
            .related
            .budget_of(a.id)
            .iter()
            .filter(|l| {
                l.year >= self.span.from.year() as i64 && l.year <= self.span.to.year() as i64
            })
            .collect()
    }

    fn summary(&mut self) {
        let d = self.d;
        self.blocks.push(h(1, "Synthèse"));
        // Actions by status.
        let mut by_status: BTreeMap<usize, (String, i64)> = BTreeMap::new();
        for a in &d.plan.plan.actions {
            let rank = ActionStatus::ALL
                .iter()
                .position(|s| s.as_str() == a.status)
                .unwrap_or(99);
            by_status
                .entry(rank)
                .or_insert_with(|| (status_of(a).to_owned(), 0))
                .1 += 1;
        }
        let total = d.plan.plan.actions.len() as i64;
        let mut rows: Vec<Vec<Cell>> = by_status
            .into_values()
            .map(|(label, n)| vec![Cell::Text(label), Cell::Int(n)])
            .collect();
        rows.push(vec![Cell::text("Total"), Cell::Int(total)]);
        self.blocks.push(table(
            "Fiches action par statut".into(),
            "Synthèse",
            &["Statut", "Fiches action"],
            rows,
        ));
        // Late actions.
        let late: Vec<String> = d
            .plan
            .plan
            .actions
            .iter()
            .filter(|a| is_late(a, &d.plan.related, self.as_of))
            .map(|a| format!("{} — {}", a.code, a.title))
            .collect();
        self.blocks.push(field(
            "Fiches action en retard",
            &if late.is_empty() {
                "aucune".to_owned()
            } else {
                format!("{} fiche(s)", late.len())
            },
        ));
        if !late.is_empty() {
            self.blocks.push(Block::List(late));
        }
        // Budget by funder.
        let mut funders: BTreeMap<String, (i64, Option<i64>, Option<i64>)> = BTreeMap::new();
        for a in &d.plan.plan.actions {
            for l in self.budget_lines(a) {
                let f = funders.entry(l.funder.clone()).or_default();
                f.0 += l.amount_cents;
                f.1 = sum_opt(f.1, l.committed_cents);
                f.2 = sum_opt(f.2, l.spent_cents);
            }
        }
        let mut tot = (0, None, None);
        let mut rows = Vec::new();
        for (funder, (p, c, s)) in funders {
            tot.0 += p;
            tot.1 = sum_opt(tot.1, c);
            tot.2 = sum_opt(tot.2, s);
            rows.push(vec![
                Cell::Text(funder),
                Cell::Euros(p),
                opt_euros(c),
                opt_euros(s),
            ]);
        }
        rows.push(vec![
            Cell::text("Total"),
            Cell::Euros(tot.0),
            opt_euros(tot.1),
            opt_euros(tot.2),
        ]);
        self.blocks.push(table(
            "Budget par financeur (prévu, engagé, réalisé)".into(),
            "Synthèse",
            &["Financeur", "Prévu", "Engagé", "Réalisé"],
            rows,
        ));
        // Indicators on target.
        let (mut with_target, mut reached) = (0, 0);
        for ind in &d.plan.indicators {
            if ind.target.is_none() {
                continue;
            }
            with_target += 1;
            let ms = d
                .measurements
                .get(&ind.id)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            if latest_by(ms, self.as_of).and_then(|m| on_target(ind, m.value)) == Some(true) {
                reached += 1;
            }
        }
        self.blocks.push(table(
            "Indicateurs et cibles".into(),
            "Synthèse",
            &["Indicateurs", "Avec une cible", "Cible atteinte"],
            vec![vec![
                Cell::Int(d.plan.indicators.len() as i64),
                Cell::Int(with_target),
                Cell::Int(reached),
            ]],
        ));
    }

    fn indicator_rows(&self, inds: &[&Indicator]) -> Vec<Vec<Cell>> {
        inds.iter()
            .map(|ind| {
                let ms = self
                    .d
                    .measurements
                    .get(&ind.id)
                    .map(Vec::as_slice)
                    .unwrap_or(&[]);
                let last = latest_by(ms, self.as_of);
                vec![
                    Cell::Text(ind.label.clone()),
                    Cell::Text(ind.source().label().to_owned()),
                    Cell::Text(ind.unit.clone()),
                    ind.baseline.map(Cell::Number).unwrap_or(Cell::Empty),
                    ind.target.map(Cell::Number).unwrap_or(Cell::Empty),
                    last.map(|m| Cell::Number(m.value)).unwrap_or(Cell::Empty),
                    last.map(|m| Cell::Text(m.measured_on.clone()))
                        .map(|c| match c {
                            Cell::Text(s) => Cell::Text(crate::plan::fr_date(&s)),
                            c => c,
                        })
                        .unwrap_or(Cell::Empty),
                    Cell::text(match last.and_then(|m| on_target(ind, m.value)) {
                        Some(true) => "oui",
                        Some(false) => "non",
                        None => "",
                    }),
                ]
            })
            .collect()
    }

    fn chart(&self, ind: &Indicator) -> Option<Block> {
        let ms = self.d.measurements.get(&ind.id)?;
        let points: Vec<(NaiveDate, f64)> = ms
            .iter()
            .filter_map(|m| date(&m.measured_on).map(|d| (d, m.value)))
            .filter(|(d, _)| *d <= self.as_of)
            .collect();
        if points.is_empty() {
            return None;
        }
        let id = format!("indicateur-{}", ind.id);
        let s = Sparkline {
            id: &id,
            label: &ind.label,
            unit: &ind.unit,
            points: &points,
            target: ind.target,
            baseline: ind.baseline,
        };
        Some(Block::Chart(Chart {
            svg: s.svg(),
            alt: s.alt(),
            caption: format!("Évolution de « {} »", ind.label),
        }))
    }

    fn axes(&mut self, review_year: Option<i32>) {
        let d = self.d;
        for (axis, actions) in self.actions_in_order() {
            self.blocks
                .push(h(1, format!("Axe {} — {}", axis.code, axis.title)));
            let sheet = format!("Axe {}", axis.code);
            // The axis table: one row per action.
            let rows = actions
                .iter()
                .map(|a| {
                    let planned: i64 = self.budget_lines(a).iter().map(|l| l.amount_cents).sum();
                    vec![
                        Cell::Text(a.code.clone()),
                        Cell::Text(a.title.clone()),
                        Cell::text(status_of(a)),
                        Cell::Percent(a.progress as f64),
                        Cell::text(if is_late(a, &d.plan.related, self.as_of) {
                            "oui"
                        } else {
                            "non"
                        }),
                        Cell::Euros(planned),
                        Cell::text(
                            review_year
                                .and_then(|y| d.reviews.get(&(a.id, y as i64)))
                                .map(|r| review_state_label(&r.state))
                                .unwrap_or(if review_year.is_some() {
                                    "à rédiger"
                                } else {
                                    ""
                                }),
                        ),
                    ]
                })
                .collect();
            self.blocks.push(table(
                format!("Fiches action de l'axe {}", axis.code),
                &sheet,
                &[
                    "Code",
                    "Fiche action",
                    "Statut",
                    "Avancement",
                    "En retard",
                    "Budget prévu",
                    "Bilan de l'année",
                ],
                rows,
            ));
            for a in actions {
                self.action(a, &sheet, review_year);
            }
        }
    }

    fn action(&mut self, a: &Action, sheet: &str, review_year: Option<i32>) {
        let d = self.d;
        self.blocks.push(h(2, format!("{} — {}", a.code, a.title)));
        let lead = a
            .lead_person_id
            .and_then(|p| d.plan.related.people.get(&p))
            .map(|p| p.full_name.clone())
            .unwrap_or_default();
        let lead = match (a.lead_org.trim(), lead.as_str()) {
            ("", "") => String::new(),
            (o, "") => o.to_owned(),
            ("", p) => p.to_owned(),
            (o, p) => format!("{o} ({p})"),
        };
        self.blocks.push(field(
            "Statut et avancement",
            &format!("{}, {} %", status_of(a), a.progress),
        ));
        self.blocks.push(field("Pilote", &lead));
        let inds: Vec<&Indicator> = d
            .plan
            .indicators
            .iter()
            .filter(|i| i.action_id == Some(a.id))
            .collect();
        if !inds.is_empty() {
            self.blocks.push(table(
                format!("Indicateurs de la fiche {}", a.code),
                sheet,
                &[
                    "Indicateur",
                    "Source",
                    "Unité",
                    "Départ",
                    "Cible",
                    "Dernière valeur",
                    "Mesurée le",
                    "Cible atteinte",
                ],
                self.indicator_rows(&inds),
            ));
            for ind in &inds {
                if let Some(c) = self.chart(ind) {
                    self.blocks.push(c);
                }
            }
        }
        let lines = self.budget_lines(a);
        if !lines.is_empty() {
            let rows = lines
                .iter()
                .map(|l| {
                    vec![
                        Cell::Int(l.year),
                        Cell::Text(l.funder.clone()),
                        Cell::Euros(l.amount_cents),
                        opt_euros(l.committed_cents),
                        opt_euros(l.spent_cents),
                    ]
                })
                .collect();
            self.blocks.push(table(
                format!("Budget de la fiche {}", a.code),
                sheet,
                &["Année", "Financeur", "Prévu", "Engagé", "Réalisé"],
                rows,
            ));
        }
        let years: Vec<i32> = match review_year {
            Some(y) => vec![y],
            None => (self.span.from.year()..=self.span.to.year()).collect(),
        };
        for y in years {
            let label = if review_year.is_some() {
                "Bilan de l'année".to_owned()
            } else {
                format!("Bilan {y}")
            };
            match d.reviews.get(&(a.id, y as i64)) {
                Some(r) => {
                    self.blocks
                        .push(h(3, format!("{label} ({})", review_state_label(&r.state))));
                    self.blocks.push(field("Ce qui a été réalisé", &r.done));
                    self.blocks
                        .push(field("Difficultés rencontrées", &r.difficulties));
                    self.blocks
                        .push(field("Ce qui change l'an prochain", &r.next_year));
                    self.blocks.push(field(
                        "Statut en fin d'année",
                        ActionStatus::label_of(&r.year_end_status),
                    ));
                    if !r.review_comment.is_empty() {
                        self.blocks
                            .push(field("Avis de la coordination", &r.review_comment));
                    }
                }
                None if review_year.is_some() => {
                    self.blocks.push(h(3, label));
                    self.blocks.push(Block::Paragraph(
                        "Le bilan de cette fiche n'a pas encore été rédigé.".into(),
                    ));
                }
                None => {}
            }
        }
    }

    fn governance(&mut self) {
        let d = self.d;
        self.blocks.push(h(1, "Gouvernance"));
        let mut rows = Vec::new();
        for (id, name, kind) in &d.bodies {
            let ms: Vec<&Dated<_>> = d
                .meetings
                .get(id)
                .map(|v| v.iter().filter(|m| self.span.has(m.on)).collect())
                .unwrap_or_default();
            let (mut present, mut invited, mut decisions, mut follow, mut done) = (0, 0, 0, 0, 0);
            for m in &ms {
                let (p, i, dcs, f, dn) = m.what;
                present += p;
                invited += i;
                decisions += dcs;
                follow += f;
                done += dn;
            }
            rows.push(vec![
                Cell::Text(name.clone()),
                Cell::text(body_kind_label(kind)),
                Cell::Int(ms.len() as i64),
                if invited > 0 {
                    Cell::Percent(present as f64 * 100.0 / invited as f64)
                } else {
                    Cell::Empty
                },
                Cell::Int(decisions),
                Cell::Int(done),
                Cell::Int(follow - done),
            ]);
        }
        self.blocks.push(table(
            "Réunions des instances".into(),
            "Gouvernance",
            &[
                "Instance",
                "Type",
                "Réunions tenues",
                "Taux de présence",
                "Décisions",
                "Suites faites",
                "Suites à faire",
            ],
            rows,
        ));
    }

    fn agenda(&mut self) {
        let d = self.d;
        self.blocks.push(h(1, "Agenda et permanences"));
        let mut communes: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        for s in d.dropin_sessions.iter().filter(|s| self.span.has(s.on)) {
            communes.entry(s.what.clone()).or_default().0 += 1;
        }
        for p in d.dropin_people.iter().filter(|p| self.span.has(p.on)) {
            communes.entry(p.what.0.clone()).or_default().1 += p.what.1;
        }
        let (mut ts, mut tp) = (0, 0);
        let mut rows: Vec<Vec<Cell>> = communes
            .into_iter()
            .map(|(c, (s, p))| {
                ts += s;
                tp += p;
                vec![Cell::Text(c), Cell::Int(s), Cell::Int(p)]
            })
            .collect();
        rows.push(vec![Cell::text("Total"), Cell::Int(ts), Cell::Int(tp)]);
        self.blocks.push(table(
            "Permanences tenues et personnes reçues, par commune".into(),
            "Agenda",
            &["Commune", "Permanences tenues", "Personnes reçues"],
            rows,
        ));
        let mut rows = Vec::new();
        for (id, title) in &d.events {
            let ss: Vec<&Dated<(i64, i64)>> = d
                .event_sessions
                .get(id)
                .map(|v| v.iter().filter(|s| self.span.has(s.on)).collect())
                .unwrap_or_default();
            if ss.is_empty() {
                continue;
            }
            let registered: i64 = ss.iter().map(|s| s.what.0).sum();
            let present: i64 = ss.iter().map(|s| s.what.1).sum();
            rows.push(vec![
                Cell::Text(title.clone()),
                Cell::Int(ss.len() as i64),
                Cell::Int(registered),
                Cell::Int(present),
            ]);
        }
        self.blocks.push(table(
            "Événements : séances tenues, inscriptions et présence".into(),
            "Agenda",
            &["Événement", "Séances tenues", "Inscriptions", "Présents"],
            rows,
        ));
    }

    fn participation(&mut self) {
        let d = self.d;
        self.blocks.push(h(1, "Participation"));
        let rows = d
            .consultations
            .iter()
            .map(|(id, title)| {
                let n = d
                    .answers
                    .get(id)
                    .map(|v| v.iter().filter(|on| self.span.has(**on)).count())
                    .unwrap_or(0);
                (title, n)
            })
            .filter(|(_, n)| *n > 0)
            .map(|(t, n)| vec![Cell::Text(t.clone()), Cell::Int(n as i64)])
            .collect();
        self.blocks.push(table(
            "Questionnaires et réponses reçues".into(),
            "Participation",
            &["Questionnaire", "Réponses"],
            rows,
        ));
        let mut rows = Vec::new();
        for s in IdeaStatus::ALL {
            let n = d
                .ideas
                .iter()
                .filter(|(on, st)| self.span.has(*on) && st == s.as_str())
                .count();
            rows.push(vec![Cell::text(s.label()), Cell::Int(n as i64)]);
        }
        self.blocks.push(table(
            "Boîte à idées : ce que sont devenues les idées reçues".into(),
            "Participation",
            &["Suite donnée", "Idées"],
            rows,
        ));
        let mut rows = Vec::new();
        for (code, label) in [
            ("pending", "En attente"),
            ("accepted", "Acceptées"),
            ("declined", "Refusées"),
        ] {
            let n = d
                .joins
                .iter()
                .filter(|(on, st)| self.span.has(*on) && st == code)
                .count();
            rows.push(vec![Cell::text(label), Cell::Int(n as i64)]);
        }
        self.blocks.push(table(
            "Demandes pour rejoindre un groupe de travail".into(),
            "Participation",
            &["Suite donnée", "Demandes"],
            rows,
        ));
    }

    /// The diagnosis: the findings written during the span, and its
    /// headline figures: for a year, those that changed since the previous
    /// year; for the whole contract, each figure year by year.
    fn diagnosis(&mut self, year: Option<i32>) {
        let d = self.d;
        let changed: Vec<String> = d
            .findings
            .iter()
            .filter(|(_, _, on)| self.span.has(*on))
            .map(|(chapter, title, _)| {
                let chapter = match chapter.as_str() {
                    "population" => "Population",
                    "offre" => "Offre de soins",
                    "accessibilite" => "Accessibilité",
                    _ => "Participation",
                };
                format!("{chapter} : {title}")
            })
            .collect();
        let years: Vec<i32> = d
            .figures
            .keys()
            .copied()
            .filter(|y| (self.span.from.year()..=self.span.to.year()).contains(y))
            .collect();
        if d.findings.is_empty() && years.is_empty() {
            return;
        }
        self.blocks.push(h(1, "Diagnostic local de santé"));
        match year {
            Some(year) => self.figures_of_year(year),
            None => self.figures_by_year(&years),
        }
        self.blocks.push(h(2, "Constats"));
        if changed.is_empty() {
            self.blocks.push(Block::Paragraph(
                "Aucun constat du diagnostic n'a été ajouté ni modifié sur la période.".into(),
            ));
        } else {
            self.blocks.push(Block::Paragraph(format!(
                "{} constat(s) du diagnostic ajouté(s) ou modifié(s) sur la période :",
                changed.len()
            )));
            self.blocks.push(Block::List(changed));
        }
    }

    /// The figures that changed from the previous year to `year`.
    fn figures_of_year(&mut self, year: i32) {
        let d = self.d;
        self.blocks
            .push(h(2, format!("Chiffres qui ont changé depuis {}", year - 1)));
        let (Some(after), Some(before)) = (d.figures.get(&year), d.figures.get(&(year - 1))) else {
            self.blocks.push(Block::Paragraph(format!(
                "Les chiffres du diagnostic de {} n'ont pas été conservés : la comparaison \
                 d'une année sur l'autre commence avec la première année calculée.",
                if d.figures.contains_key(&year) {
                    year - 1
                } else {
                    year
                }
            )));
            return;
        };
        let moved = changes(before, after);
        if moved.is_empty() {
            self.blocks.push(Block::Paragraph(format!(
                "Aucun des {} chiffres suivis n'a changé depuis {}.",
                after.len(),
                year - 1
            )));
            return;
        }
        let number = |v: Option<f64>| v.map(Cell::Number).unwrap_or(Cell::Empty);
        let rows = moved
            .iter()
            .map(|c| {
                vec![
                    Cell::text(&c.label),
                    number(c.before),
                    number(c.after),
                    Cell::text(c.delta_text()),
                ]
            })
            .collect();
        self.blocks.push(Block::Paragraph(format!(
            "{} chiffre(s) sur {} suivis ont changé.",
            moved.len(),
            after.len()
        )));
        self.blocks.push(table(
            format!("Chiffres du diagnostic : {} et {year}", year - 1),
            "Diagnostic",
            &[
                "Chiffre",
                &(year - 1).to_string(),
                &year.to_string(),
                "Évolution",
            ],
            rows,
        ));
    }

    /// Every figure, one column per year kept.
    fn figures_by_year(&mut self, years: &[i32]) {
        let d = self.d;
        self.blocks
            .push(h(2, "Chiffres du diagnostic année par année"));
        if years.is_empty() {
            self.blocks.push(Block::Paragraph(
                "Aucun chiffre du diagnostic n'a été conservé sur la période du contrat.".into(),
            ));
            return;
        }
        // Every key in the order of its latest year, then those gone.
        let mut keys: Vec<(String, String)> = Vec::new();
        for y in years.iter().rev() {
            for f in &d.figures[y] {
                if !keys.iter().any(|(k, _)| *k == f.key) {
                    keys.push((f.key.clone(), f.label.clone()));
                }
            }
        }
        let rows = keys
            .iter()
            .map(|(key, label)| {
                let mut row = vec![Cell::text(label)];
                for y in years {
                    row.push(
                        d.figures[y]
                            .iter()
                            .find(|f| f.key == *key)
                            .map(|f| Cell::Number(f.rounded()))
                            .unwrap_or(Cell::Empty),
                    );
                }
                row
            })
            .collect();
        let year_labels: Vec<String> = years.iter().map(i32::to_string).collect();
        let mut header = vec!["Chiffre"];
        header.extend(year_labels.iter().map(String::as_str));
        self.blocks.push(table(
            "Chiffres du diagnostic par année".into(),
            "Diagnostic",
            &header,
            rows,
        ));
    }
}

fn cover(d: &ReviewData, title: String) -> (String, String, Vec<Block>) {
    let c = &d.plan.contract;
    let period = match (
        c.period_start.as_deref().and_then(date),
        c.period_end.as_deref().and_then(date),
    ) {
        (Some(a), Some(b)) => format!("du {} au {}", long_date(a), long_date(b)),
        _ => "période non renseignée".into(),
    };
    let subtitle = format!("{} — {}", d.territory, c.title);
    let mut blocks = vec![
        field("Territoire", &d.territory),
        field(
            "Contrat",
            &format!("{} : {}", ContractKind::label_of(&c.kind), c.title),
        ),
        field("Période", &period),
    ];
    let signatories: Vec<String> = c.signatory_list().iter().map(|s| s.to_string()).collect();
    if !signatories.is_empty() {
        blocks.push(field("Signataires", ""));
        blocks.push(Block::List(signatories));
    }
    (title, subtitle, blocks)
}

/// The yearly review of `year` (checked with [`check_year`] first).
pub fn yearly(d: &ReviewData, year: i32, today: NaiveDate) -> Document {
    let span = year_span(year);
    let (title, subtitle, cover) = cover(d, format!("Bilan annuel {year}"));
    let mut b = Builder {
        d,
        span,
        as_of: span.to.min(today),
        blocks: cover,
    };
    b.summary();
    b.axes(Some(year));
    b.governance();
    b.agenda();
    b.participation();
    b.diagnosis(Some(year));
    Document {
        title,
        subtitle,
        generated_on: today,
        blocks: b.blocks,
    }
}

/// The end-of-contract evaluation: the evaluation questions by criterion
/// with their answers and indicators, then every year of the contract.
pub fn evaluation(d: &ReviewData, today: NaiveDate) -> Result<Document, ReportError> {
    let (from, to) = contract_period(&d.plan.contract)?;
    let span = Span { from, to };
    let (title, subtitle, cover) = cover(d, "Évaluation du contrat".into());
    let mut b = Builder {
        d,
        span,
        as_of: to.min(today),
        blocks: cover,
    };
    b.blocks.push(h(1, "Questions évaluatives"));
    for criterion in Criterion::ALL {
        let (code, label) = (criterion.as_str(), criterion.label());
        let qs: Vec<&Question> = d.questions.iter().filter(|q| q.criterion == code).collect();
        if qs.is_empty() {
            continue;
        }
        b.blocks.push(h(2, label));
        for q in qs {
            b.blocks.push(h(3, q.question.clone()));
            b.blocks.push(field("Réponse", &q.answer));
            let inds: Vec<&Indicator> = q
                .indicators
                .iter()
                .filter_map(|id| d.plan.indicators.iter().find(|i| i.id == *id))
                .collect();
            if !inds.is_empty() {
                let rows = b.indicator_rows(&inds);
                b.blocks.push(table(
                    format!("Indicateurs de la question « {} »", q.question),
                    "Questions",
                    &[
                        "Indicateur",
                        "Source",
                        "Unité",
                        "Départ",
                        "Cible",
                        "Dernière valeur",
                        "Mesurée le",
                        "Cible atteinte",
                    ],
                    rows,
                ));
            }
        }
    }
    if let Some((title, n)) = &d.stakeholder_questionnaire {
        b.blocks.push(field(
            "Questionnaire des parties prenantes",
            &format!("« {title} » : {n} réponse(s)"),
        ));
    }
    b.summary();
    // Year by year: drop-ins, events, meetings, answers.
    b.blocks.push(h(1, "Année par année"));
    let mut rows = Vec::new();
    for y in from.year()..=to.year().min(today.year()) {
        let s = year_span(y);
        let sessions = d.dropin_sessions.iter().filter(|x| s.has(x.on)).count() as i64;
        let people: i64 = d
            .dropin_people
            .iter()
            .filter(|x| s.has(x.on))
            .map(|x| x.what.1)
            .sum();
        let events: i64 = d
            .event_sessions
            .values()
            .flatten()
            .filter(|x| s.has(x.on))
            .count() as i64;
        let meetings: i64 = d
            .meetings
            .values()
            .flatten()
            .filter(|x| s.has(x.on))
            .count() as i64;
        let answers: i64 = d
            .answers
            .values()
            .flatten()
            .filter(|on| s.has(**on))
            .count() as i64;
        rows.push(vec![
            Cell::Int(y as i64),
            Cell::Int(sessions),
            Cell::Int(people),
            Cell::Int(events),
            Cell::Int(meetings),
            Cell::Int(answers),
        ]);
    }
    b.blocks.push(table(
        "Activité par année".into(),
        "Années",
        &[
            "Année",
            "Permanences tenues",
            "Personnes reçues",
            "Séances d'événements",
            "Réunions d'instances",
            "Réponses aux questionnaires",
        ],
        rows,
    ));
    b.axes(None);
    b.governance();
    b.agenda();
    b.participation();
    b.diagnosis(None);
    Ok(Document {
        title,
        subtitle,
        generated_on: today,
        blocks: b.blocks,
    })
}
