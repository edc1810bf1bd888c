//! What the regional roll-up (`crate::region`) is computed from: every
//! territory of the instance with its contracts, their actions counted by
//! status (and the late ones among them), ARS funding lines, events of the
//! year and drop-in series. [`stored`] reads it part by part (the CSV and XLSX
//! exports); `storage::public_pages::region_page` reads the same with the
//! map's key in one statement.

use chrono::{DateTime, NaiveDate, Utc};

use super::agenda::{self, Series};
use super::{diagnosis, Db, DbResult};
use crate::db_run;
use crate::domain::agenda::recurrence::Exception;

/// A contract as the roll-up reads it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RollupContract {
    pub id: i64,
    pub territory_id: i64,
    pub kind: String,
    pub title: String,
    pub status: String,
    pub period_start: Option<String>,
    pub period_end: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// A contract's actions of one status, counted in the database: how many,
/// how many are late on the day asked ([`LATE`]), and their latest change.
/// The instance's actions are not read one by one: with 50,000 of them the
/// regional page read 2.6 MB of them on each request (31 pages/s).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ActionTally {
    pub contract_id: i64,
    pub status: String,
    pub count: i64,
    pub late: i64,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Whether the action `a` is late on the day `{TODAY}` (`YYYY-MM-DD`), as
/// `plan::is_late_on` says: neither done nor abandoned, and its end or an
/// unfinished step's due date before that day (dates are stored
/// `YYYY-MM-DD`, which compare as text). `{FALSE}` is bound `false`.
const LATE: &str = "(a.status NOT IN ('done', 'abandoned')
   AND ((length(a.period_end) = 10 AND a.period_end < {TODAY})
        OR EXISTS (SELECT 1 FROM action_steps st WHERE st.action_id = a.id
                   AND st.done = {FALSE} AND length(st.due_on) = 10 AND st.due_on < {TODAY})))";

/// The actions counted by contract and status ([`ActionTally`]'s columns),
/// with the parameters `today` (the day of [`LATE`]) and `falsy` (bound
/// `false`), e.g. `"$1"` and `"$2"`.
pub(crate) fn action_tally_sql(today: &str, falsy: &str) -> String {
    "SELECT a.contract_id, a.status,
       CAST(COUNT(*) AS BIGINT) AS count,
       CAST(SUM(CASE WHEN {LATE} THEN 1 ELSE 0 END) AS BIGINT) AS late,
       MAX(a.updated_at) AS updated_at
FROM actions a GROUP BY a.contract_id, a.status"
        .replace("{LATE}", LATE)
        .replace("{TODAY}", today)
        .replace("{FALSE}", falsy)
}

/// A funding line of an action: (contract, funder, funder's kind, planned,
/// committed, spent), in cents.
pub type RollupBudgetLine = (i64, String, Option<String>, i64, Option<i64>, Option<i64>);

/// Everything the roll-up reads, in the orders given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stored {
    /// (id, slug, name) of every territory but the regional owner, by name.
    pub territories: Vec<(i64, String, String)>,
    /// (territory, département), by both.
    pub departements: Vec<(i64, String)>,
    /// By territory, then id.
    pub contracts: Vec<RollupContract>,
    /// By contract, then status.
    pub actions: Vec<ActionTally>,
    /// By line id.
    pub budget: Vec<RollupBudgetLine>,
    /// (territory, events with a session in the period, neither cancelled).
    pub events: Vec<(i64, i64)>,
    /// By territory, then id.
    pub series: Vec<Series>,
    /// By series, then date.
    pub exceptions: Vec<(i64, Exception)>,
}

const CONTRACT_COLS: &str =
    "id, territory_id, kind, title, status, period_start, period_end, updated_at";

/// The roll-up's parts, events counted from `from` to `to` (excluded),
/// actions late on `today`.
pub async fn stored(
    db: &Db,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    today: NaiveDate,
) -> DbResult<Stored> {
    let contracts_sql = format!("SELECT {CONTRACT_COLS} FROM contracts ORDER BY territory_id, id");
    let actions_sql = format!(
        "{} ORDER BY a.contract_id, a.status",
        action_tally_sql("$1", "$2")
    );
    let today = crate::domain::dates::iso(today);
    let stored = db_run!(db, pool => Stored {
        territories: sqlx::query_as(
            "SELECT id, slug, name FROM territories WHERE kind <> 'region' ORDER BY name, id",
        ).fetch_all(pool).await?,
        departements: sqlx::query_as(
            "SELECT DISTINCT tc.territory_id, c.departement FROM territory_communes tc \
             JOIN communes c ON c.insee_code = tc.insee_code WHERE c.departement IS NOT NULL \
             ORDER BY 1, 2",
        ).fetch_all(pool).await?,
        contracts: sqlx::query_as(&contracts_sql).fetch_all(pool).await?,
        actions: sqlx::query_as(&actions_sql).bind(&today).bind(false).fetch_all(pool).await?,
        budget: sqlx::query_as(
            "SELECT a.contract_id, b.funder, o.kind, b.amount_cents, b.committed_cents, b.spent_cents \
             FROM budget_lines b JOIN actions a ON a.id = b.action_id \
             LEFT JOIN organisations o ON o.id = b.funder_id ORDER BY b.id",
        ).fetch_all(pool).await?,
        events: sqlx::query_as(
            "SELECT e.territory_id, CAST(COUNT(DISTINCT e.id) AS BIGINT) FROM events e \
             JOIN event_sessions s ON s.event_id = e.id \
             WHERE s.starts_at >= $1 AND s.starts_at < $2 AND s.cancelled = $3 AND e.status <> 'cancelled' \
             GROUP BY e.territory_id ORDER BY 1",
        ).bind(from).bind(to).bind(false).fetch_all(pool).await?,
        series: Vec::new(),
        exceptions: Vec::new(),
    });
    Ok(Stored {
        series: agenda::all_series(db).await?,
        exceptions: agenda::all_exceptions(db).await?,
        ..stored
    })
}

/// What the regional maps are drawn from besides the roll-up, and their
/// cache keyed on (`web::region::map`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MapKey {
    /// (territory, commune), by both.
    pub memberships: Vec<(i64, String)>,
    /// When the accessibility scores were last computed.
    pub computed_at: Option<DateTime<Utc>>,
    /// Communes with an outline.
    pub outlines: i64,
}

pub async fn map_key(db: &Db) -> DbResult<MapKey> {
    Ok(MapKey {
        memberships: diagnosis::territory_memberships(db).await?,
        computed_at: diagnosis::latest_run(db).await?.map(|r| r.computed_at),
        outlines: diagnosis::outline_count(db).await?,
    })
}
