//! Referrals to services (migration 0025). Every change of a referral and
//! the notices it causes are written in one transaction: the notices are
//! queued in the outbox (`enqueue_in_tx!`) with the change, the service's
//! reminders withdrawn when it answers, and a status moves from `sent` by
//! a conditional update, so that two answers (or an answer and the expiry)
//! never both win.

use chrono::{DateTime, Utc};

use super::messages::NewMessage;
use super::{Db, DbError, DbResult};
use crate::db_run;
use crate::domain::referrals::{self as rules, EntryKind, ReferralInput, Status};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Referral {
    pub id: i64,
    pub territory_id: i64,
    pub entry_kind: String,
    pub entry_id: String,
    pub service_name: String,
    pub service_email: String,
    pub service_phone: String,
    pub theme: String,
    pub note: String,
    pub person_name: Option<String>,
    pub person_phone: Option<String>,
    pub person_email: Option<String>,
    pub status: String,
    pub answer: String,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl Referral {
    pub fn status(&self) -> Status {
        Status::parse(&self.status).unwrap_or(Status::Sent)
    }
    pub fn kind(&self) -> Option<EntryKind> {
        EntryKind::parse(&self.entry_kind)
    }
    pub fn theme(&self) -> crate::domain::agenda::activity::Theme {
        use crate::domain::agenda::activity::Theme;
        Theme::ALL
            .into_iter()
            .find(|t| t.code() == self.theme)
            .unwrap_or(Theme::Other)
    }
}

const COLS: &str = "id, territory_id, entry_kind, entry_id, service_name, service_email, service_phone, theme, \
                    note, person_name, person_phone, person_email, status, answer, created_by, created_at, \
                    expires_at, closed_at";

/// The directory entry a referral goes to, as found in the directory.
#[derive(Debug, Clone)]
pub struct Target {
    pub kind: EntryKind,
    pub id: String,
    pub name: String,
    pub email: String,
    pub phone: String,
}

/// The directory entry `kind:id` as the instance knows it: establishments
/// and professionals of the national registers, local services of this
/// territory. `None` for anything else (another territory's service, an
/// unknown number). Registers carry no e-mail: the sender types it.
pub async fn target(
    db: &Db,
    territory_id: i64,
    kind: EntryKind,
    id: &str,
) -> DbResult<Option<Target>> {
    Ok(match kind {
        EntryKind::Establishment => {
            super::directory::get_establishment(db, id)
                .await?
                .map(|e| Target {
                    kind,
                    id: e.finess,
                    name: e.name,
                    email: String::new(),
                    phone: e.phone,
                })
        }
        EntryKind::Professional => {
            super::directory::get_professional(db, id)
                .await?
                .map(|(p, places)| Target {
                    kind,
                    id: p.rpps,
                    name: format!(
                        "{} {} ({})",
                        p.first_name,
                        p.last_name,
                        p.profession_label.to_lowercase()
                    )
                    .trim()
                    .to_owned(),
                    email: String::new(),
                    phone: places
                        .into_iter()
                        .map(|pl| pl.phone)
                        .find(|p| !p.is_empty())
                        .unwrap_or_default(),
                })
        }
        EntryKind::Service => match id.parse::<i64>() {
            Ok(n) => super::services::get(db, territory_id, n)
                .await?
                .map(|s| Target {
                    kind,
                    id: s.id.to_string(),
                    name: s.name,
                    email: s.email,
                    phone: s.phone,
                }),
            Err(_) => None,
        },
    })
}

/// The territory's settings: (expiry days, reminder days).
pub async fn settings(db: &Db, territory_id: i64) -> DbResult<(i64, i64)> {
    let row: Option<(i32, i32)> = db_run!(db, pool => sqlx::query_as(
        "SELECT expiry_days, reminder_days FROM referral_settings WHERE territory_id = $1",
    )
    .bind(territory_id)
    .fetch_optional(pool)
    .await?);
    Ok(row
        .map(|(e, r)| (i64::from(e), i64::from(r)))
        .unwrap_or((rules::DEFAULT_EXPIRY_DAYS, rules::DEFAULT_REMINDER_DAYS)))
}

pub async fn save_settings(
    db: &Db,
    territory_id: i64,
    expiry_days: i64,
    reminder_days: i64,
) -> DbResult<()> {
    let (e, r) = (
        i32::try_from(expiry_days).unwrap_or(i32::MAX),
        i32::try_from(reminder_days).unwrap_or(i32::MAX),
    );
    db_run!(db, pool => {
        sqlx::query(
            "INSERT INTO referral_settings (territory_id, expiry_days, reminder_days, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (territory_id) DO UPDATE SET \
             expiry_days = excluded.expiry_days, reminder_days = excluded.reminder_days, \
             updated_at = excluded.updated_at",
        )
        .bind(territory_id)
        .bind(e)
        .bind(r)
        .bind(Utc::now())
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// A new referral, before it has an id.
pub struct NewReferral<'a> {
    pub territory_id: i64,
    pub target: &'a Target,
    pub input: &'a ReferralInput,
    pub created_by: Option<i64>,
    pub token_hash: String,
    /// The form's one-time key (a form sent twice makes one referral).
    pub submission_key: Option<String>,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What [`create`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    New(i64),
    /// The same form had been sent before: that referral, unchanged.
    Again(i64),
}

/// Record a referral and queue its notices (`notices` is given the new id)
/// in one transaction.
pub async fn create(
    db: &Db,
    r: &NewReferral<'_>,
    notices: impl Fn(i64) -> Vec<NewMessage>,
) -> DbResult<Created> {
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO referrals (territory_id, entry_kind, entry_id, service_name, service_email, service_phone, \
             theme, note, person_name, person_phone, person_email, consent_at, status, token_hash, created_by, \
             created_at, expires_at, submission_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'sent', $13, $14, $12, $15, $16) \
             ON CONFLICT (territory_id, submission_key) DO NOTHING RETURNING id",
        )
        .bind(r.territory_id)
        .bind(r.target.kind.as_str())
        .bind(&r.target.id)
        .bind(&r.target.name)
        .bind(&r.input.service_email)
        .bind(&r.target.phone)
        .bind(r.input.theme.code())
        .bind(&r.input.note)
        .bind(&r.input.person.name)
        .bind(&r.input.person.phone)
        .bind(&r.input.person.email)
        .bind(r.now)
        .bind(&r.token_hash)
        .bind(r.created_by)
        .bind(r.expires_at)
        .bind(&r.submission_key)
        .fetch_optional(&mut *tx)
        .await?;
        match id {
            Some(id) => {
                for m in notices(id) {
                    crate::enqueue_in_tx!(tx, &m)?;
                }
                tx.commit().await?;
                Created::New(id)
            }
            None => {
                let id: i64 = sqlx::query_scalar(
                    "SELECT id FROM referrals WHERE territory_id = $1 AND submission_key = $2",
                )
                .bind(r.territory_id)
                .bind(&r.submission_key)
                .fetch_one(&mut *tx)
                .await?;
                tx.rollback().await?;
                Created::Again(id)
            }
        }
    }))
}

pub async fn by_token(db: &Db, token: &str) -> DbResult<Referral> {
    let sql = format!("SELECT {COLS} FROM referrals WHERE token_hash = $1");
    let hash = crate::tokens::token_hash(token);
    db_run!(db, pool => sqlx::query_as::<_, Referral>(&sql).bind(&hash).fetch_optional(pool).await?)
        .ok_or(DbError::NotFound)
}

pub async fn get(db: &Db, territory_id: i64, id: i64) -> DbResult<Referral> {
    let sql = format!("SELECT {COLS} FROM referrals WHERE id = $1 AND territory_id = $2");
    db_run!(db, pool => sqlx::query_as::<_, Referral>(&sql).bind(id).bind(territory_id).fetch_optional(pool).await?)
        .ok_or(DbError::NotFound)
}

/// A territory's referrals, newest first; those of one sender when
/// `created_by` is given.
pub async fn list(
    db: &Db,
    territory_id: i64,
    created_by: Option<i64>,
    limit: i64,
) -> DbResult<Vec<Referral>> {
    let sql = format!(
        "SELECT {COLS} FROM referrals WHERE territory_id = $1 AND ($2 IS NULL OR created_by = $2) \
         ORDER BY created_at DESC, id DESC LIMIT $3"
    );
    Ok(db_run!(db, pool => sqlx::query_as::<_, Referral>(&sql)
        .bind(territory_id)
        .bind(created_by)
        .bind(limit)
        .fetch_all(pool)
        .await?))
}

/// The prefix of a referral's reminders' keys in the outbox.
pub fn reminder_prefix(id: i64) -> String {
    format!("referral:{id}:reminder:")
}

/// Why a status change did not happen.
#[derive(Debug, PartialEq, Eq)]
pub enum Closed {
    /// It had moved on already (answered, expired or cancelled).
    Already(Status),
}

/// Move a referral from `sent` to `to` (with the service's text), withdraw
/// its queued reminders and queue `notices`, in one transaction. `Err`
/// when it was no longer open: nothing is written then.
pub async fn close(
    db: &Db,
    id: i64,
    to: Status,
    answer: &str,
    now: DateTime<Utc>,
    notices: &[NewMessage],
) -> DbResult<Result<(), Closed>> {
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let moved = sqlx::query(
            "UPDATE referrals SET status = $1, answer = $2, closed_at = $3 WHERE id = $4 AND status = 'sent'",
        )
        .bind(to.as_str())
        .bind(answer)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 0 {
            let status: Option<String> = sqlx::query_scalar("SELECT status FROM referrals WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            tx.rollback().await?;
            let status = status.ok_or(DbError::NotFound)?;
            Err(Closed::Already(Status::parse(&status).unwrap_or(Status::Sent)))
        } else {
            crate::cancel_queued_in_tx!(tx, &reminder_prefix(id))?;
            for m in notices {
                crate::enqueue_in_tx!(tx, m)?;
            }
            tx.commit().await?;
            Ok(())
        }
    }))
}

/// Open referrals past their expiry at `now`, oldest first.
pub async fn due_to_expire(db: &Db, now: DateTime<Utc>, limit: i64) -> DbResult<Vec<Referral>> {
    let sql = format!(
        "SELECT {COLS} FROM referrals WHERE status = 'sent' AND expires_at <= $1 ORDER BY expires_at, id LIMIT $2"
    );
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, Referral>(&sql).bind(now).bind(limit).fetch_all(pool).await?),
    )
}

/// Counts by service and outcome: one row per (entry, status).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ServiceCount {
    pub entry_kind: String,
    pub entry_id: String,
    pub service_name: String,
    pub status: String,
    pub n: i64,
}

/// A territory's referrals counted by service and outcome, for those made
/// from `from` (inclusive) to `to` (exclusive).
pub async fn counts_by_service(
    db: &Db,
    territory_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> DbResult<Vec<ServiceCount>> {
    Ok(db_run!(db, pool => sqlx::query_as::<_, ServiceCount>(
        "SELECT entry_kind, entry_id, MAX(service_name) AS service_name, status, COUNT(*) AS n FROM referrals \
         WHERE territory_id = $1 AND created_at >= $2 AND created_at < $3 \
         GROUP BY entry_kind, entry_id, status ORDER BY MAX(service_name), entry_id, status",
    )
    .bind(territory_id)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?))
}

/// Every territory's referrals counted by outcome (regional aggregates),
/// for those made from `from` (inclusive) to `to` (exclusive):
/// (territory id, status, count).
pub async fn counts_by_territory(
    db: &Db,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> DbResult<Vec<(i64, String, i64)>> {
    Ok(db_run!(db, pool => sqlx::query_as(
        "SELECT territory_id, status, COUNT(*) FROM referrals WHERE created_at >= $1 AND created_at < $2 \
         GROUP BY territory_id, status",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?))
}

/// Erase the person's name and contact from referrals closed before
/// `before` (the counts stay). Returns how many were erased.
pub async fn purge_people(db: &Db, before: DateTime<Utc>) -> DbResult<u64> {
    Ok(db_run!(db, pool => sqlx::query(
        "UPDATE referrals SET person_name = NULL, person_phone = NULL, person_email = NULL, note = '' \
         WHERE status <> 'sent' AND closed_at < $1 \
         AND (person_name IS NOT NULL OR person_phone IS NOT NULL OR person_email IS NOT NULL)",
    )
    .bind(before)
    .execute(pool)
    .await?
    .rows_affected()))
}
