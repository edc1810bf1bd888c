//! The drop-ins' public page of a territory in one statement: the
//! territory, its communes, the stamp of its drop-in schedule (the schedule
//! itself comes from the process's cache, `web::agenda::world_cache`) and,
//! for the view by place, the actions a series may carry out and the series
//! whose appointments can be booked. It replaces five statements
//! (`territories::get_by_slug`, `schedule_stamp`, `territories::communes`,
//! `action_choices`, `enabled_slot_configs`).

use std::sync::LazyLock;

use sqlx::Row;

use super::{commune, for_backend, list, territory_sql, CommuneRow};
use crate::storage::agenda::{schedule_stamp_sql, sort_choices, ActionChoice};
use crate::storage::communes::Commune;
use crate::storage::territories::Territory;
use crate::storage::{Backend, Db, DbResult};

/// What the drop-ins' page shows besides the schedule.
#[derive(Debug)]
pub struct PermanencesPage {
    pub territory: Territory,
    /// By name.
    pub communes: Vec<Commune>,
    pub schedule_stamp: String,
    /// The actions of the territory's contracts, as `action_choices` gives
    /// them (empty unless asked for).
    pub actions: Vec<ActionChoice>,
    /// The series whose slot booking is on, by id (empty unless asked
    /// for), as `enabled_slot_configs` gives them.
    pub bookable: Vec<i64>,
}

/// `$1` the territory's slug, `$2` 1 to read the actions and the bookable
/// series.
const PERMANENCES: &str = "
WITH t AS (
  {TERRITORY_ROW}
)
SELECT
  {TERRITORY_COLUMNS},
  {COMMUNES} AS communes,
  {SCHEDULE_STAMP} AS schedule_stamp,
  CASE WHEN $2 = 1 THEN
    (SELECT CAST(json_group_array(json_array(a.id, a.code, a.title, c.id, c.title)) AS TEXT)
       FROM actions a JOIN contracts c ON c.id = a.contract_id WHERE c.territory_id = t.id)
  END AS actions,
  CASE WHEN $2 = 1 THEN
    (SELECT CAST(json_group_array(sc.series_id ORDER BY sc.series_id) AS TEXT)
       FROM dropin_slot_settings sc JOIN dropin_series s ON s.id = sc.series_id
       WHERE s.territory_id = t.id AND sc.enabled = TRUE)
  END AS bookable
FROM t
";

fn permanences_sql(backend: Backend) -> String {
    let sql = territory_sql(PERMANENCES).replace("{SCHEDULE_STAMP}", &schedule_stamp_sql("t.id"));
    for_backend(&sql, backend)
}

static PERMANENCES_SQLITE: LazyLock<String> = LazyLock::new(|| permanences_sql(Backend::Sqlite));
static PERMANENCES_POSTGRES: LazyLock<String> =
    LazyLock::new(|| permanences_sql(Backend::Postgres));

/// The columns of one row of [`PERMANENCES`], as read from either backend.
macro_rules! permanences_page_row {
    ($row:expr) => {{
        let row = $row;
        let text = |name: &str| row.try_get::<Option<String>, _>(name);
        (
            <Territory as sqlx::FromRow<_>>::from_row(row)?,
            row.try_get::<String, _>("schedule_stamp")?,
            [text("communes")?, text("actions")?, text("bookable")?],
        )
    }};
}

/// The drop-ins' page of the territory `slug` (never the regional owner),
/// with the actions and bookable series when `by_place`, in one statement
/// (see [`PERMANENCES`]). `None` when the territory is unknown.
pub async fn permanences_page(
    db: &Db,
    slug: &str,
    by_place: bool,
) -> DbResult<Option<PermanencesPage>> {
    let read = page_row!(
        db,
        PERMANENCES_SQLITE,
        PERMANENCES_POSTGRES,
        [slug, i64::from(by_place)],
        permanences_page_row
    );
    let Some((territory, schedule_stamp, [communes, actions, bookable])) = read else {
        return Ok(None);
    };
    let communes: Vec<CommuneRow> = list(communes)?;
    let actions: Vec<(i64, String, String, i64, String)> = list(actions)?;
    let mut actions: Vec<ActionChoice> = actions
        .into_iter()
        .map(
            |(id, code, title, contract_id, contract_title)| ActionChoice {
                id,
                code,
                title,
                contract_id,
                contract_title,
            },
        )
        .collect();
    sort_choices(&mut actions);
    Ok(Some(PermanencesPage {
        territory,
        communes: communes.into_iter().map(commune).collect(),
        schedule_stamp,
        actions,
        bookable: list(bookable)?,
    }))
}
