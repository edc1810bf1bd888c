//! The public regional page (`/region/`) in one statement: the roll-up's
//! parts (`storage::region::Stored`) and what the maps' cache is keyed on
//! (`storage::region::MapKey`). It replaces twelve statements (seven of
//! `region::load`, every drop-in series and exception, and the three of
//! the map's key).

use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;

use super::{for_backend, list, one, timestamp, Flag};
use crate::storage::agenda::{ExceptionRow, Series};
use crate::storage::region::{
    action_tally_sql, ActionTally, MapKey, RollupBudgetLine, RollupContract, Stored,
};
use crate::storage::{Backend, Db, DbResult};

/// What `/region/` reads.
#[derive(Debug)]
pub struct RegionPage {
    pub stored: Stored,
    pub map_key: MapKey,
}

/// `$1` and `$2` the period events are counted in, `$3` false, `$4` the
/// day actions are late on. Each list in
/// the order of its storage function (`storage::region::stored`,
/// `agenda::all_series` and `all_exceptions`, `region::map_key`).
const REGION_PAGE: &str = "
SELECT
  (SELECT CAST(json_group_array(json_array(t.id, t.slug, t.name) ORDER BY t.name, t.id) AS TEXT)
     FROM territories t WHERE t.kind <> 'region') AS territories,
  (SELECT CAST(json_group_array(json_array(d.territory_id, d.departement)
            ORDER BY d.territory_id, d.departement) AS TEXT)
     FROM (SELECT DISTINCT tc.territory_id, c.departement FROM territory_communes tc
           JOIN communes c ON c.insee_code = tc.insee_code WHERE c.departement IS NOT NULL) d) AS departements,
  (SELECT CAST(json_group_array(json_array(c.id, c.territory_id, c.kind, c.title, c.status, c.period_start,
            c.period_end, c.updated_at) ORDER BY c.territory_id, c.id) AS TEXT)
     FROM contracts c) AS contracts,
  (SELECT CAST(json_group_array(json_array(x.contract_id, x.status, x.count, x.late, x.updated_at)
            ORDER BY x.contract_id, x.status) AS TEXT)
     FROM ({ACTION_TALLY}) x) AS actions,
  (SELECT CAST(json_group_array(json_array(a.contract_id, b.funder, o.kind, b.amount_cents, b.committed_cents,
            b.spent_cents) ORDER BY b.id) AS TEXT)
     FROM budget_lines b JOIN actions a ON a.id = b.action_id
     LEFT JOIN organisations o ON o.id = b.funder_id) AS budget,
  (SELECT CAST(json_group_array(json_array(g.territory_id, g.n) ORDER BY g.territory_id) AS TEXT)
     FROM (SELECT e.territory_id, CAST(COUNT(DISTINCT e.id) AS BIGINT) AS n FROM events e
           JOIN event_sessions s ON s.event_id = e.id
           WHERE s.starts_at >= $1 AND s.starts_at < $2 AND s.cancelled = $3 AND e.status <> 'cancelled'
           GROUP BY e.territory_id) g) AS events,
  (SELECT CAST(json_group_array(json_array(s.id, s.territory_id, s.title, s.mediators, s.place_id, s.first_date,
            s.end_date, s.start_time, s.end_time, s.rrule, CASE WHEN s.skip_holidays THEN 1 ELSE 0 END,
            s.access, s.services, s.version, s.action_id) ORDER BY s.territory_id, s.id) AS TEXT)
     FROM dropin_series s) AS series,
  (SELECT CAST(json_group_array(json_array(e.series_id, e.original_date, e.kind, e.new_date, e.start_time,
            e.end_time, e.place_id, e.note) ORDER BY e.series_id, e.original_date) AS TEXT)
     FROM dropin_exceptions e) AS exceptions,
  (SELECT CAST(json_group_array(json_array(tc.territory_id, tc.insee_code)
            ORDER BY tc.territory_id, tc.insee_code) AS TEXT)
     FROM territory_communes tc) AS memberships,
  (SELECT CAST(json_array(r.computed_at) AS TEXT) FROM access_runs r
     ORDER BY r.computed_at DESC LIMIT 1) AS computed_at,
  (SELECT COUNT(*) FROM commune_geo g WHERE g.outline IS NOT NULL) AS outlines
";

static REGION_PAGE_SQLITE: LazyLock<String> = LazyLock::new(|| region_sql(Backend::Sqlite));
static REGION_PAGE_POSTGRES: LazyLock<String> = LazyLock::new(|| region_sql(Backend::Postgres));

fn region_sql(backend: Backend) -> String {
    let tally = action_tally_sql("$4", "$3");
    for_backend(&REGION_PAGE.replace("{ACTION_TALLY}", &tally), backend)
}

type ContractRow = (
    i64,
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
);

type SeriesRow = (
    i64,
    i64,
    String,
    String,
    i64,
    String,
    Option<String>,
    String,
    String,
    String,
    Flag,
    String,
    String,
    i64,
    Option<i64>,
);

type ExceptionJson = (
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    String,
);

/// The row of [`REGION_PAGE`]: its text columns and the outlines counted.
macro_rules! region_row {
    ($row:expr) => {{
        let row = $row;
        let text = |name: &str| row.try_get::<Option<String>, _>(name);
        (
            [
                text("territories")?,
                text("departements")?,
                text("contracts")?,
                text("actions")?,
                text("budget")?,
                text("events")?,
                text("series")?,
                text("exceptions")?,
                text("memberships")?,
                text("computed_at")?,
            ],
            row.try_get::<i64, _>("outlines")?,
        )
    }};
}

/// `/region/`'s data in one statement (see [`REGION_PAGE`]), events
/// counted from `from` to `to` (excluded), actions late on `today`.
pub async fn region_page(
    db: &Db,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    today: NaiveDate,
) -> DbResult<RegionPage> {
    let today = crate::domain::dates::iso(today);
    // A statement without FROM: always one row.
    let (texts, outlines) = page_row!(
        db,
        REGION_PAGE_SQLITE,
        REGION_PAGE_POSTGRES,
        [from, to, false, today.as_str()],
        region_row
    )
    .unwrap_or_default();
    let [territories, departements, contracts, actions, budget, events, series, exceptions, memberships, computed_at] =
        texts;
    let contracts: Vec<ContractRow> = list(contracts)?;
    let actions: Vec<(i64, String, i64, i64, String)> = list(actions)?;
    let series: Vec<SeriesRow> = list(series)?;
    let exceptions: Vec<ExceptionJson> = list(exceptions)?;
    let stored = Stored {
        territories: list(territories)?,
        departements: list(departements)?,
        contracts: contracts
            .into_iter()
            .map(|c| {
                Ok(RollupContract {
                    id: c.0,
                    territory_id: c.1,
                    kind: c.2,
                    title: c.3,
                    status: c.4,
                    period_start: c.5,
                    period_end: c.6,
                    updated_at: timestamp(&c.7)?,
                })
            })
            .collect::<DbResult<_>>()?,
        actions: actions
            .into_iter()
            .map(|a| {
                Ok(ActionTally {
                    contract_id: a.0,
                    status: a.1,
                    count: a.2,
                    late: a.3,
                    updated_at: Some(timestamp(&a.4)?),
                })
            })
            .collect::<DbResult<_>>()?,
        budget: list::<RollupBudgetLine>(budget)?,
        events: list(events)?,
        series: series
            .into_iter()
            .map(|s| Series {
                id: s.0,
                territory_id: s.1,
                title: s.2,
                mediators: s.3,
                place_id: s.4,
                first_date: s.5,
                end_date: s.6,
                start_time: s.7,
                end_time: s.8,
                rrule: s.9,
                skip_holidays: s.10 != 0,
                access: s.11,
                services: s.12,
                version: s.13,
                action_id: s.14,
            })
            .collect(),
        exceptions: exceptions
            .into_iter()
            .filter_map(|e| {
                ExceptionRow {
                    series_id: e.0,
                    original_date: e.1,
                    kind: e.2,
                    new_date: e.3,
                    start_time: e.4,
                    end_time: e.5,
                    place_id: e.6,
                    note: e.7,
                }
                .into_domain()
            })
            .collect(),
    };
    let computed_at: Option<(String,)> = one(computed_at)?;
    Ok(RegionPage {
        stored,
        map_key: MapKey {
            memberships: list(memberships)?,
            computed_at: computed_at.map(|(t,)| timestamp(&t)).transpose()?,
            outlines,
        },
    })
}
