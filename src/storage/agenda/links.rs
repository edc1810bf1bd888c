//! Drop-in series and events linked to the fiche action they carry out
//! (`action_id`, migration 0018): the actions a territory may choose from,
//! and, from an action, what carries it out.

use super::*;

/// A fiche action of the territory, as offered in the « Fiche action »
/// select and named on the public pages.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ActionChoice {
    pub id: i64,
    pub code: String,
    pub title: String,
    pub contract_id: i64,
    pub contract_title: String,
}

impl ActionChoice {
    /// « 1.2.3 — Titre ».
    pub fn label(&self) -> String {
        format!("{} — {}", self.code, self.title)
    }
}

/// `1.10.2` after `1.9.1`: codes compared number by number.
fn code_key(code: &str) -> Vec<(u64, String)> {
    code.split('.')
        .map(|p| (p.trim().parse().unwrap_or(u64::MAX), p.to_owned()))
        .collect()
}

const CHOICE_SELECT: &str =
    "SELECT a.id, a.code, a.title, c.id AS contract_id, c.title AS contract_title \
     FROM actions a JOIN contracts c ON c.id = a.contract_id";

/// The actions of every contract of a territory, newest contract first,
/// then by code.
pub async fn action_choices(db: &Db, territory_id: i64) -> DbResult<Vec<ActionChoice>> {
    let sql = format!("{CHOICE_SELECT} WHERE c.territory_id = $1");
    let mut rows = db_run!(db, pool => sqlx::query_as::<_, ActionChoice>(&sql)
        .bind(territory_id)
        .fetch_all(pool)
        .await?);
    sort_choices(&mut rows);
    Ok(rows)
}

/// Newest contract first, then by code (« 1.2 » before « 1.10 »).
pub fn sort_choices(rows: &mut [ActionChoice]) {
    rows.sort_by(|a, b| {
        b.contract_id
            .cmp(&a.contract_id)
            .then_with(|| code_key(&a.code).cmp(&code_key(&b.code)))
    });
}

/// One action, if it is the territory's.
pub async fn action_choice(
    db: &Db,
    territory_id: i64,
    action_id: i64,
) -> DbResult<Option<ActionChoice>> {
    let sql = format!("{CHOICE_SELECT} WHERE c.territory_id = $1 AND a.id = $2");
    Ok(db_run!(db, pool => sqlx::query_as::<_, ActionChoice>(&sql)
        .bind(territory_id)
        .bind(action_id)
        .fetch_optional(pool)
        .await?))
}

/// An action of another territory (a forged form) is refused:
/// `Conflict("action_id")`.
pub(super) async fn check_action(
    db: &Db,
    territory_id: i64,
    action_id: Option<i64>,
) -> DbResult<()> {
    match action_id {
        None => Ok(()),
        Some(id) => match action_choice(db, territory_id, id).await? {
            Some(_) => Ok(()),
            None => Err(DbError::Conflict("action_id".into())),
        },
    }
}

/// What carries out an action: its territory's drop-in series and events,
/// each as (id, title), by title.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkedToAction {
    pub series: Vec<(i64, String)>,
    pub events: Vec<(i64, String)>,
}

pub async fn linked_to_action(
    db: &Db,
    territory_id: i64,
    action_id: i64,
) -> DbResult<LinkedToAction> {
    let (series, events) = db_run!(db, pool => {
        let series: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, title FROM dropin_series WHERE territory_id = $1 AND action_id = $2 ORDER BY title, id",
        )
        .bind(territory_id)
        .bind(action_id)
        .fetch_all(pool)
        .await?;
        let events: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, title FROM events WHERE territory_id = $1 AND action_id = $2 ORDER BY title, id",
        )
        .bind(territory_id)
        .bind(action_id)
        .fetch_all(pool)
        .await?;
        (series, events)
    });
    Ok(LinkedToAction { series, events })
}

#[cfg(test)]
mod tests {
    use super::code_key;

    #[test]
    fn codes_sort_number_by_number() {
        let mut codes = vec!["1.10.1", "1.2.1", "2.1.1", "1.9.3"];
        codes.sort_by_key(|c| code_key(c));
        assert_eq!(codes, ["1.2.1", "1.9.3", "1.10.1", "2.1.1"]);
    }
}
