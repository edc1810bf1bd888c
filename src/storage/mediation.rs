//! Regional aggregates of the mediators' work (issue 16): per territory,
//! the slot bookings and their outcomes, walk-ins, people helped (activity
//! records) and referrals by outcome, over a period. Counts only, never a
//! person: regional staff see these, not the lists. A fixed number of
//! grouped queries, whatever the number of territories.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::{Db, DbResult};
use crate::db_run;
use crate::domain::agenda::slots::NoShow;
use crate::domain::referrals::Status;

/// One territory's figures over the period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TerritoryMediation {
    pub territory_id: i64,
    pub slug: String,
    pub name: String,
    /// Bookings not cancelled (booked, present, absent, excused).
    pub bookings: i64,
    pub cancelled: i64,
    pub checked: NoShow,
    pub walk_ins: i64,
    /// Activity records: people helped, and how many were referred.
    pub helped: i64,
    pub helped_referred: i64,
    /// Referrals made in the period, by outcome (order of [`Status::ALL`]).
    pub referrals: [i64; 5],
}

impl TerritoryMediation {
    pub fn referrals_total(&self) -> i64 {
        self.referrals.iter().sum()
    }
    pub fn is_empty(&self) -> bool {
        self.bookings + self.cancelled + self.walk_ins + self.helped + self.referrals_total() == 0
    }
}

fn day(d: NaiveDate) -> String {
    crate::domain::dates::iso(d)
}

/// Every territory of the instance (those without any activity too), by
/// name; dates from `from` (inclusive) to `to` (exclusive), Paris days for
/// drop-in dates and the matching instants for referrals.
pub async fn regional(
    db: &Db,
    from: NaiveDate,
    to: NaiveDate,
    from_at: DateTime<Utc>,
    to_at: DateTime<Utc>,
) -> DbResult<Vec<TerritoryMediation>> {
    let (from_s, to_s) = (day(from), day(to));
    let territories: Vec<(i64, String, String)> = db_run!(db, pool => sqlx::query_as(
        "SELECT id, slug, name FROM territories ORDER BY name",
    )
    .fetch_all(pool)
    .await?);
    let bookings: Vec<(i64, String, i64)> = db_run!(db, pool => sqlx::query_as(
        "SELECT s.territory_id, b.status, COUNT(*) FROM slot_bookings b \
         JOIN dropin_series s ON s.id = b.series_id \
         WHERE b.occurrence_date >= $1 AND b.occurrence_date < $2 GROUP BY s.territory_id, b.status",
    )
    .bind(&from_s)
    .bind(&to_s)
    .fetch_all(pool)
    .await?);
    let walk_ins: Vec<(i64, i64)> = db_run!(db, pool => sqlx::query_as(
        "SELECT s.territory_id, CAST(SUM(o.walk_ins) AS BIGINT) FROM slot_occurrences o \
         JOIN dropin_series s ON s.id = o.series_id \
         WHERE o.occurrence_date >= $1 AND o.occurrence_date < $2 GROUP BY s.territory_id",
    )
    .bind(&from_s)
    .bind(&to_s)
    .fetch_all(pool)
    .await?);
    let helped: Vec<(i64, i64, i64)> = db_run!(db, pool => sqlx::query_as(
        "SELECT territory_id, COUNT(*), CAST(SUM(CASE WHEN referral THEN 1 ELSE 0 END) AS BIGINT) \
         FROM activity_records WHERE held_on >= $1 AND held_on < $2 GROUP BY territory_id",
    )
    .bind(&from_s)
    .bind(&to_s)
    .fetch_all(pool)
    .await?);
    let referrals = super::referrals::counts_by_territory(db, from_at, to_at).await?;

    let mut out: BTreeMap<i64, TerritoryMediation> = territories
        .into_iter()
        .map(|(id, slug, name)| {
            (
                id,
                TerritoryMediation {
                    territory_id: id,
                    slug,
                    name,
                    ..Default::default()
                },
            )
        })
        .collect();
    for (t, status, n) in bookings {
        let Some(row) = out.get_mut(&t) else { continue };
        match status.as_str() {
            "cancelled" => row.cancelled += n,
            other => {
                row.bookings += n;
                match other {
                    "present" => row.checked.present += n,
                    "absent" => row.checked.absent += n,
                    "excused" => row.checked.excused += n,
                    _ => {}
                }
            }
        }
    }
    for (t, n) in walk_ins {
        if let Some(row) = out.get_mut(&t) {
            row.walk_ins += n;
        }
    }
    for (t, n, referred) in helped {
        if let Some(row) = out.get_mut(&t) {
            row.helped += n;
            row.helped_referred += referred;
        }
    }
    for (t, status, n) in referrals {
        let (Some(row), Some(i)) = (
            out.get_mut(&t),
            Status::ALL.iter().position(|s| s.as_str() == status),
        ) else {
            continue;
        };
        row.referrals[i] += n;
    }
    let mut rows: Vec<TerritoryMediation> = out.into_values().collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(rows)
}
