//! The regional roll-up: one row per territory with its contract, the
//! state of its plan, ARS funding, drop-ins and events, loaded for the
//! whole instance in a fixed number of queries (not one per territory),
//! filtered and sorted in Rust, exported as CSV or XLSX.
//!
//! **Public columns** (anyone, the open roll-up): territory, départements,
//! contract kind, status, period and end date, actions by status and the
//! share late, drop-ins held this year, people received (« non saisi »:
//! no attendance data exists yet), events this year, last update. All of
//! them can already be read, action by action, on the territories' public
//! pages. **Restricted columns**: ARS funding planned, committed and spent,
//! shown to regional staff and admins for every territory and to a
//! territory's own accounts for their territory only ([`Sight`]).

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use rust_xlsxwriter::{Format, Workbook, XlsxError};

use crate::domain::agenda::recurrence::{expand, OccurrenceStatus};
use crate::domain::budget::format_euros;
use crate::domain::contract::{names_ars, ActionStatus, ContractKind, ContractStatus};
use crate::plan::fr_date;
use crate::storage::region::{self as store, ActionTally, RollupContract, Stored};
use crate::storage::{Db, DbResult};

/// What a viewer may see of one territory's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sight {
    /// Every column.
    Full,
    /// The public columns only.
    Public,
}

/// The contract a row shows: the territory's current one.
#[derive(Debug, Clone)]
pub struct ContractFacts {
    pub id: i64,
    pub kind: String,
    pub title: String,
    pub status: String,
    pub period_start: Option<String>,
    pub period_end: Option<String>,
    /// Ends within twelve months from today (and has not ended).
    pub ending_soon: bool,
}

/// ARS funding of the contract's actions, every year of the plan, in cents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Funding {
    pub planned: i64,
    /// `None` when no line has a committed amount entered.
    pub committed: Option<i64>,
    pub spent: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct TerritoryRollup {
    pub territory_id: i64,
    pub slug: String,
    pub name: String,
    pub departements: Vec<String>,
    pub contract: Option<ContractFacts>,
    /// The territory's other contracts (ended, renewed…).
    pub other_contracts: usize,
    /// (status code, count) in [`ActionStatus::ALL`] order, zeros left out.
    pub actions_by_status: Vec<(String, usize)>,
    pub actions: usize,
    pub late: usize,
    pub funding: Funding,
    /// Drop-in dates of this year up to today, not cancelled.
    pub dropins_held: usize,
    /// Events with a session this year (neither cancelled).
    pub events: usize,
    /// The latest change of the contract or one of its actions.
    pub updated_at: Option<DateTime<Utc>>,
}

impl TerritoryRollup {
    /// Late actions in percent of the actions (0 when there are none).
    pub fn late_percent(&self) -> i64 {
        if self.actions == 0 {
            0
        } else {
            ((self.late * 100) as f64 / self.actions as f64).round() as i64
        }
    }

    pub fn late_words(&self) -> String {
        if self.actions == 0 {
            "aucune action".into()
        } else {
            format!(
                "{} sur {} ({} %)",
                self.late,
                self.actions,
                self.late_percent()
            )
        }
    }

    pub fn status_words(&self) -> String {
        self.actions_by_status
            .iter()
            .map(|(s, n)| format!("{n} {}", ActionStatus::label_of(s).to_lowercase()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn updated_words(&self) -> String {
        self.updated_at
            .map(|d| {
                d.with_timezone(&chrono_tz::Europe::Paris)
                    .format("%d/%m/%Y")
                    .to_string()
            })
            .unwrap_or_else(|| "—".into())
    }
}

/// The roll-up of every territory on `today` (Europe/Paris).
pub struct Rollup {
    pub today: NaiveDate,
    pub rows: Vec<TerritoryRollup>,
}

fn status_rank(s: &str) -> u8 {
    match ContractStatus::parse(s) {
        Some(ContractStatus::InForce) => 0,
        Some(ContractStatus::Signed) => 1,
        Some(ContractStatus::InPreparation) => 2,
        Some(ContractStatus::Renewed) => 3,
        Some(ContractStatus::Ended) => 4,
        None => 5,
    }
}

/// The period a roll-up counts this year's events and drop-ins in: from
/// the 1st of January of `today`'s year to the next (Europe/Paris).
pub fn year_bounds(today: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let year_start = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
    let next_year = NaiveDate::from_ymd_opt(today.year() + 1, 1, 1).unwrap_or(today);
    let paris = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(chrono_tz::Europe::Paris).earliest())
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    };
    (paris(year_start), paris(next_year))
}

/// Load the roll-up (`storage::region::stored`: eight queries whatever the
/// number of territories).
pub async fn load(db: &Db, today: NaiveDate) -> DbResult<Rollup> {
    let (from, to) = year_bounds(today);
    Ok(rollup(store::stored(db, from, to, today).await?, today))
}

/// The roll-up on `today` from what is stored (no I/O); `s.events` counted
/// over [`year_bounds`].
pub fn rollup(s: Stored, today: NaiveDate) -> Rollup {
    let year_start = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
    let Stored {
        territories,
        departements,
        contracts,
        actions,
        budget,
        events,
        series,
        exceptions,
    } = s;

    // Drop-ins held: this year's dates up to today, not cancelled.
    let mut exc_by_series: HashMap<i64, Vec<_>> = HashMap::new();
    for (sid, e) in exceptions {
        exc_by_series.entry(sid).or_default().push(e);
    }
    let mut held: HashMap<i64, usize> = HashMap::new();
    for s in &series {
        let Ok(schedule) = s.schedule() else { continue };
        let exc = exc_by_series.get(&s.id).map(Vec::as_slice).unwrap_or(&[]);
        let n = expand(&schedule, exc, year_start, today)
            .iter()
            .filter(|o| o.status != OccurrenceStatus::Cancelled)
            .count();
        *held.entry(s.territory_id).or_default() += n;
    }

    let mut deps: HashMap<i64, BTreeSet<String>> = HashMap::new();
    for (t, d) in departements {
        deps.entry(t).or_default().insert(d);
    }
    let mut contracts_of: HashMap<i64, Vec<RollupContract>> = HashMap::new();
    for c in contracts {
        contracts_of.entry(c.territory_id).or_default().push(c);
    }
    let mut actions_of: HashMap<i64, Vec<ActionTally>> = HashMap::new();
    for a in actions {
        actions_of.entry(a.contract_id).or_default().push(a);
    }
    let mut funding_of: HashMap<i64, Funding> = HashMap::new();
    for (contract, funder, org_kind, planned, committed, spent) in budget {
        if org_kind.as_deref() != Some("ars") && !names_ars(&funder) {
            continue;
        }
        let f = funding_of.entry(contract).or_default();
        f.planned += planned;
        if let Some(c) = committed {
            f.committed = Some(f.committed.unwrap_or(0) + c);
        }
        if let Some(s) = spent {
            f.spent = Some(f.spent.unwrap_or(0) + s);
        }
    }
    let events: HashMap<i64, usize> = events.into_iter().map(|(t, n)| (t, n as usize)).collect();
    let horizon = today.checked_add_months(Months::new(12)).unwrap_or(today);

    let rows = territories
        .into_iter()
        .map(|(id, slug, name)| {
            let mut mine = contracts_of.remove(&id).unwrap_or_default();
            // The current contract first: in force, signed, in preparation,
            // renewed, ended; the latest created among equals.
            mine.sort_by_key(|c| (status_rank(&c.status), std::cmp::Reverse(c.id)));
            let other_contracts = mine.len().saturating_sub(1);
            let main = mine.into_iter().next();
            let acts = main
                .as_ref()
                .and_then(|c| actions_of.get(&c.id))
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let actions_by_status = ActionStatus::ALL
                .iter()
                .map(|s| {
                    let n: i64 = acts
                        .iter()
                        .filter(|a| a.status == s.as_str())
                        .map(|a| a.count)
                        .sum();
                    (s.as_str().to_owned(), n as usize)
                })
                .filter(|(_, n)| *n > 0)
                .collect();
            let late = acts.iter().map(|a| a.late).sum::<i64>() as usize;
            let updated_at = main
                .as_ref()
                .map(|c| c.updated_at)
                .into_iter()
                .chain(acts.iter().filter_map(|a| a.updated_at))
                .max();
            let funding = main
                .as_ref()
                .and_then(|c| funding_of.get(&c.id).copied())
                .unwrap_or_default();
            let contract = main.map(|c| {
                let ends = c
                    .period_end
                    .as_deref()
                    .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
                let ended = matches!(
                    ContractStatus::parse(&c.status),
                    Some(ContractStatus::Ended | ContractStatus::Renewed)
                );
                ContractFacts {
                    id: c.id,
                    kind: c.kind,
                    title: c.title,
                    status: c.status,
                    period_start: c.period_start,
                    period_end: c.period_end,
                    ending_soon: !ended && ends.is_some_and(|d| d >= today && d <= horizon),
                }
            });
            TerritoryRollup {
                territory_id: id,
                slug,
                name,
                departements: deps.remove(&id).unwrap_or_default().into_iter().collect(),
                contract,
                other_contracts,
                actions: acts.iter().map(|a| a.count).sum::<i64>() as usize,
                actions_by_status,
                late,
                funding,
                dropins_held: held.get(&id).copied().unwrap_or(0),
                events: events.get(&id).copied().unwrap_or(0),
                updated_at,
            }
        })
        .collect();
    Rollup { today, rows }
}

/// The filters and order of the roll-up (query string, all optional).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct RollupQuery {
    /// A département code (`62`).
    #[serde(default)]
    pub departement: String,
    /// A contract kind code (`cls`).
    #[serde(default, rename = "type")]
    pub kind: String,
    /// A contract status code (`in_force`).
    #[serde(default, rename = "etat")]
    pub status: String,
    /// A column key ([`SORT_KEYS`]).
    #[serde(default)]
    pub tri: String,
    /// `desc` for descending.
    #[serde(default)]
    pub ordre: String,
}

/// The sortable columns: (key, header).
pub const SORT_KEYS: [(&str, &str); 12] = [
    ("territoire", "Territoire"),
    ("type", "Contrat"),
    ("etat", "État"),
    ("fin", "Fin"),
    ("actions", "Actions"),
    ("retard", "En retard"),
    ("prevu", "ARS prévu"),
    ("engage", "ARS engagé"),
    ("realise", "ARS réalisé"),
    ("permanences", "Permanences tenues"),
    ("evenements", "Événements"),
    ("maj", "Mise à jour"),
];

impl RollupQuery {
    pub fn descending(&self) -> bool {
        self.ordre == "desc"
    }

    /// The query string for these filters with another order.
    pub fn with_sort(&self, key: &str, desc: bool) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("departement", &self.departement),
            ("type", &self.kind),
            ("etat", &self.status),
        ] {
            if !v.is_empty() {
                parts.push(format!("{k}={}", crate::web::pages::url_encode(v)));
            }
        }
        parts.push(format!("tri={key}"));
        if desc {
            parts.push("ordre=desc".into());
        }
        parts.join("&")
    }

    /// The filters alone (for export links).
    pub fn filters(&self) -> String {
        self.with_sort(&self.tri_or_default(), self.descending())
    }

    fn tri_or_default(&self) -> String {
        if SORT_KEYS.iter().any(|(k, _)| *k == self.tri) {
            self.tri.clone()
        } else {
            "territoire".into()
        }
    }

    fn keeps(&self, r: &TerritoryRollup) -> bool {
        (self.departement.is_empty() || r.departements.contains(&self.departement))
            && (self.kind.is_empty() || r.contract.as_ref().is_some_and(|c| c.kind == self.kind))
            && (self.status.is_empty()
                || r.contract.as_ref().is_some_and(|c| c.status == self.status))
    }

    /// The rows that pass the filters, in the asked order. Restricted
    /// columns sort as unknown where `sight` hides them, so the order
    /// never reveals them.
    pub fn apply<'a>(
        &self,
        rows: &'a [TerritoryRollup],
        sight: impl Fn(&TerritoryRollup) -> Sight,
    ) -> Vec<&'a TerritoryRollup> {
        let mut out: Vec<&TerritoryRollup> = rows.iter().filter(|r| self.keeps(r)).collect();
        let key = self.tri_or_default();
        let money = |r: &TerritoryRollup, f: fn(&Funding) -> Option<i64>| {
            if sight(r) == Sight::Full {
                f(&r.funding)
            } else {
                None
            }
        };
        // (Option<i64>, name): unknown values sort last either way.
        let value = |r: &TerritoryRollup| -> Option<i64> {
            match key.as_str() {
                "type" => r
                    .contract
                    .as_ref()
                    .and_then(|c| ContractKind::ALL.iter().position(|k| k.as_str() == c.kind))
                    .map(|p| p as i64),
                "etat" => r.contract.as_ref().map(|c| status_rank(&c.status) as i64),
                "fin" => r
                    .contract
                    .as_ref()
                    .and_then(|c| c.period_end.as_deref())
                    .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                    .map(|d| d.num_days_from_ce() as i64),
                "actions" => Some(r.actions as i64),
                "retard" => Some(r.late_percent()),
                "prevu" => money(r, |f| Some(f.planned)),
                "engage" => money(r, |f| f.committed),
                "realise" => money(r, |f| f.spent),
                "permanences" => Some(r.dropins_held as i64),
                "evenements" => Some(r.events as i64),
                "maj" => r.updated_at.map(|d| d.timestamp()),
                _ => None,
            }
        };
        let desc = self.descending();
        out.sort_by(|a, b| {
            let by_name = crate::domain::text::fold_accents(&a.name)
                .cmp(&crate::domain::text::fold_accents(&b.name));
            if key == "territoire" {
                return if desc { by_name.reverse() } else { by_name };
            }
            match (value(a), value(b)) {
                (Some(x), Some(y)) => {
                    let o = x.cmp(&y);
                    (if desc { o.reverse() } else { o }).then(by_name)
                }
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => by_name,
            }
        });
        out
    }
}

/// Money for a cell: an amount, « non saisi », or « non communiqué »
/// where the viewer may not see it.
pub fn money_cell(sight: Sight, cents: Option<i64>) -> String {
    match (sight, cents) {
        (Sight::Public, _) => "non communiqué".into(),
        (Sight::Full, Some(c)) => format_euros(c),
        (Sight::Full, None) => "non saisi".into(),
    }
}

pub fn period_words(c: &ContractFacts) -> String {
    match (&c.period_start, &c.period_end) {
        (Some(s), Some(e)) => format!("du {} au {}", fr_date(s), fr_date(e)),
        (Some(s), None) => format!("depuis le {}", fr_date(s)),
        (None, Some(e)) => format!("jusqu'au {}", fr_date(e)),
        (None, None) => "période non renseignée".into(),
    }
}

/// The export's columns; the last three are restricted.
const HEADERS: [&str; 16] = [
    "Territoire",
    "Départements",
    "Contrat",
    "Type de contrat",
    "État",
    "Début",
    "Fin",
    "Fin dans les 12 mois",
    "Actions",
    "Actions par état",
    "Actions en retard",
    "Part en retard (%)",
    "Permanences tenues cette année",
    "Personnes reçues cette année",
    "Événements cette année",
    "Dernière mise à jour",
];
const FUNDING_HEADERS: [&str; 3] = ["ARS prévu (€)", "ARS engagé (€)", "ARS réalisé (€)"];

fn euros_number(c: i64) -> String {
    format!("{},{:02}", c / 100, c % 100)
}

fn text_cells(r: &TerritoryRollup) -> Vec<String> {
    let c = r.contract.as_ref();
    vec![
        r.name.clone(),
        r.departements.join(", "),
        c.map(|c| c.title.clone()).unwrap_or_default(),
        c.map(|c| ContractKind::label_of(&c.kind).to_owned())
            .unwrap_or_else(|| "aucun contrat".into()),
        c.map(|c| ContractStatus::label_of(&c.status).to_owned())
            .unwrap_or_default(),
        c.and_then(|c| c.period_start.as_deref().map(fr_date))
            .unwrap_or_default(),
        c.and_then(|c| c.period_end.as_deref().map(fr_date))
            .unwrap_or_default(),
        if c.is_some_and(|c| c.ending_soon) {
            "oui".into()
        } else {
            "non".into()
        },
        r.actions.to_string(),
        r.status_words(),
        r.late.to_string(),
        r.late_percent().to_string(),
        r.dropins_held.to_string(),
        "non saisi".into(),
        r.events.to_string(),
        r.updated_words(),
    ]
}

/// CSV for spreadsheets set to French: `;`, UTF-8 with a BOM. The funding
/// columns are there when `with_funding` (the viewer sees them for at
/// least one territory); elsewhere they read « non communiqué ».
pub fn to_csv(
    rows: &[&TerritoryRollup],
    sight: impl Fn(&TerritoryRollup) -> Sight,
    with_funding: bool,
) -> Result<Vec<u8>, csv::Error> {
    let mut w = crate::csv_export::CsvExport::new(b';');
    let mut head: Vec<&str> = HEADERS.to_vec();
    if with_funding {
        head.extend(FUNDING_HEADERS);
    }
    w.row(head)?;
    for r in rows {
        let mut cells = text_cells(r);
        if with_funding {
            let s = sight(r);
            let cell = |v: Option<i64>| match (s, v) {
                (Sight::Full, Some(c)) => euros_number(c),
                (Sight::Full, None) => "non saisi".to_owned(),
                (Sight::Public, _) => "non communiqué".to_owned(),
            };
            cells.push(cell(Some(r.funding.planned)));
            cells.push(cell(r.funding.committed));
            cells.push(cell(r.funding.spent));
        }
        w.row(&cells)?;
    }
    w.finish()
}

/// The workbook: one sheet « Territoires », counts and amounts as numbers.
pub fn to_xlsx(
    rows: &[&TerritoryRollup],
    sight: impl Fn(&TerritoryRollup) -> Sight,
    with_funding: bool,
) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.00 €");
    let ws = wb.add_worksheet().set_name("Territoires")?;
    let mut head: Vec<&str> = HEADERS.to_vec();
    if with_funding {
        head.extend(FUNDING_HEADERS);
    }
    for (c, h) in head.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (i, r) in rows.iter().enumerate() {
        let row = i as u32 + 1;
        for (c, v) in text_cells(r).iter().enumerate() {
            let c = c as u16;
            match c {
                8 => ws.write_number(row, c, r.actions as f64)?,
                10 => ws.write_number(row, c, r.late as f64)?,
                11 => ws.write_number(row, c, r.late_percent() as f64)?,
                12 => ws.write_number(row, c, r.dropins_held as f64)?,
                14 => ws.write_number(row, c, r.events as f64)?,
                _ => ws.write_string(row, c, v)?,
            };
        }
        if with_funding {
            let s = sight(r);
            for (k, v) in [
                Some(r.funding.planned),
                r.funding.committed,
                r.funding.spent,
            ]
            .into_iter()
            .enumerate()
            {
                let c = (HEADERS.len() + k) as u16;
                match (s, v) {
                    (Sight::Full, Some(cents)) => {
                        ws.write_number_with_format(row, c, cents as f64 / 100.0, &money)?
                    }
                    (Sight::Full, None) => ws.write_string(row, c, "non saisi")?,
                    (Sight::Public, _) => ws.write_string(row, c, "non communiqué")?,
                };
            }
        }
    }
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, rows.len() as u32, head.len() as u16 - 1)?;
    wb.save_to_buffer()
}
