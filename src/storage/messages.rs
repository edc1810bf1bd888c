//! The outbox of SMS and e-mail notices, with their receipts (see
//! migration 0023 and `messaging`).

use chrono::{DateTime, Utc};

use super::{Db, DbResult};
use crate::db_run;
use crate::domain::messages::{Channel, Status};

/// A notice to queue.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub territory_id: Option<i64>,
    pub channel: Channel,
    /// E.164 for SMS, an address for e-mail.
    pub recipient: String,
    pub subject: String,
    pub body: String,
    /// `confirmation`, `reminder`, `change`, `cancellation`…
    pub purpose: String,
    /// Names the notice: queueing the same key twice keeps the first.
    pub dedupe_key: String,
    pub not_before: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Message {
    pub id: i64,
    pub territory_id: Option<i64>,
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub purpose: String,
    pub dedupe_key: String,
    pub status: String,
    pub attempts: i64,
    pub not_before: DateTime<Utc>,
    pub provider: String,
    pub provider_ref: Option<String>,
    pub last_error: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
}

const COLS: &str =
    "id, territory_id, channel, recipient, subject, body, purpose, dedupe_key, status, \
     attempts, not_before, provider, provider_ref, last_error, created_at, sent_at, delivered_at";

/// Why a message was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queued {
    Yes(i64),
    /// The same notice was queued before.
    Already,
    /// The number asked for no more texts.
    OptedOut,
}

/// Queue one notice ($1 territory, $2 channel, $3 recipient, $4 subject,
/// $5 body, $6 purpose, $7 key, $8 not before, $9 now): nothing when the
/// key was queued before, or for an SMS to a number that opted out.
pub const ENQUEUE_SQL: &str =
    "INSERT INTO outbound_messages (territory_id, channel, recipient, subject, body, purpose, dedupe_key, \
     status, attempts, not_before, created_at) \
     SELECT $1, $2, $3, $4, $5, $6, $7, 'queued', 0, $8, $9 \
     WHERE NOT (CAST($2 AS TEXT) = 'sms' AND EXISTS \
       (SELECT 1 FROM sms_opt_outs o WHERE o.phone = CAST($3 AS TEXT))) \
     ON CONFLICT (dedupe_key) DO NOTHING";

/// Queue a notice, once per `dedupe_key`; SMS to a number that opted out
/// are not queued.
pub async fn enqueue(db: &Db, m: &NewMessage) -> DbResult<Queued> {
    if m.channel == Channel::Sms && is_opted_out(db, &m.recipient).await? {
        return Ok(Queued::OptedOut);
    }
    let id: Option<i64> = db_run!(db, pool => sqlx::query_scalar(
        &format!("{ENQUEUE_SQL} RETURNING id"),
    )
    .bind(m.territory_id)
    .bind(m.channel.as_str())
    .bind(&m.recipient)
    .bind(&m.subject)
    .bind(&m.body)
    .bind(&m.purpose)
    .bind(&m.dedupe_key)
    .bind(m.not_before)
    .bind(Utc::now())
    .fetch_optional(pool)
    .await?);
    Ok(id.map(Queued::Yes).unwrap_or(Queued::Already))
}

/// [`enqueue`] inside an open write transaction `$tx` (so that a notice is
/// queued with the change it tells of, or not at all): once per key, never
/// to a number that opted out. Evaluates to the rows inserted (0 or 1).
#[macro_export]
macro_rules! enqueue_in_tx {
    ($tx:expr, $m:expr) => {{
        let m: &$crate::storage::messages::NewMessage = $m;
        sqlx::query($crate::storage::messages::ENQUEUE_SQL)
            .bind(m.territory_id)
            .bind(m.channel.as_str())
            .bind(&m.recipient)
            .bind(&m.subject)
            .bind(&m.body)
            .bind(&m.purpose)
            .bind(&m.dedupe_key)
            .bind(m.not_before)
            .bind(chrono::Utc::now())
            .execute(&mut *$tx)
            .await
            .map(|r| r.rows_affected())
    }};
}

/// [`cancel_queued_prefix`] inside an open write transaction `$tx`.
#[macro_export]
macro_rules! cancel_queued_in_tx {
    ($tx:expr, $prefix:expr) => {{
        let prefix: &str = $prefix;
        let pattern = format!(
            "{}%",
            prefix
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        sqlx::query(
            "UPDATE outbound_messages SET status = 'cancelled' WHERE dedupe_key LIKE $1 ESCAPE '\\' AND status = 'queued'",
        )
        .bind(pattern)
        .execute(&mut *$tx)
        .await
        .map(|r| r.rows_affected())
    }};
}

/// Queue many notices at once (a territory's reminders): multi-row
/// inserts in one transaction, the same rules as [`enqueue`] (a key
/// already queued is kept, numbers that opted out get nothing). Returns
/// how many were queued.
pub async fn enqueue_many(db: &Db, messages: &[NewMessage]) -> DbResult<u64> {
    const ROWS: usize = 400;
    const COLS: usize = 9;
    let now = Utc::now();
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let mut queued = 0u64;
        for chunk in messages.chunks(ROWS) {
            let values: Vec<String> = (0..chunk.len())
                .map(|r| {
                    let marks: Vec<String> = (1..=COLS).map(|c| format!("${}", r * COLS + c)).collect();
                    format!("({})", marks.join(", "))
                })
                .collect();
            // VALUES columns are column1… on both backends.
            let sql = format!(
                "INSERT INTO outbound_messages (territory_id, channel, recipient, subject, body, purpose, \
                 dedupe_key, status, attempts, not_before, created_at) \
                 SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6, v.column7, 'queued', 0, \
                 v.column8, v.column9 FROM (VALUES {}) AS v \
                 WHERE NOT (v.column2 = 'sms' AND EXISTS (SELECT 1 FROM sms_opt_outs o WHERE o.phone = v.column3)) \
                 ON CONFLICT (dedupe_key) DO NOTHING",
                values.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for m in chunk {
                q = q
                    .bind(m.territory_id)
                    .bind(m.channel.as_str())
                    .bind(&m.recipient)
                    .bind(&m.subject)
                    .bind(&m.body)
                    .bind(&m.purpose)
                    .bind(&m.dedupe_key)
                    .bind(m.not_before)
                    .bind(now);
            }
            queued += q.execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        queued
    }))
}

/// Take up to `limit` messages due at `now` for this worker. One UPDATE
/// that re-checks `status = 'queued'`: when two processes race for the same
/// rows, each row goes to one of them (PostgreSQL re-reads a row another
/// transaction changed; SQLite has one writer at a time). The attempt is
/// counted at the claim, so a crash cannot retry forever.
pub async fn claim_due(
    db: &Db,
    worker: &str,
    now: DateTime<Utc>,
    limit: i64,
) -> DbResult<Vec<Message>> {
    let lock = match db {
        Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        Db::Sqlite(_) => "",
    };
    let sql = format!(
        "UPDATE outbound_messages SET status = 'sending', claimed_by = $1, claimed_at = $2, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM outbound_messages WHERE status = 'queued' AND not_before <= $2 \
         ORDER BY not_before, id LIMIT $3{lock}) AND status = 'queued' RETURNING {COLS}"
    );
    Ok(db_run!(db, pool => sqlx::query_as::<_, Message>(&sql)
        .bind(worker)
        .bind(now)
        .bind(limit)
        .fetch_all(pool)
        .await?))
}

/// The provider took the message.
pub async fn mark_sent(
    db: &Db,
    id: i64,
    provider: &str,
    provider_ref: Option<&str>,
    at: DateTime<Utc>,
) -> DbResult<()> {
    db_run!(db, pool => sqlx::query(
        "UPDATE outbound_messages SET status = 'sent', provider = $1, provider_ref = $2, sent_at = $3, \
         last_error = '' WHERE id = $4 AND status = 'sending'",
    )
    .bind(provider)
    .bind(provider_ref)
    .bind(at)
    .bind(id)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(())
}

/// A failed attempt: queued again for `next`, or failed for good (`None`).
pub async fn mark_attempt_failed(
    db: &Db,
    id: i64,
    provider: &str,
    error: &str,
    next: Option<DateTime<Utc>>,
) -> DbResult<()> {
    let error: String = error.chars().take(500).collect();
    db_run!(db, pool => {
        match next {
            Some(at) => sqlx::query(
                "UPDATE outbound_messages SET status = 'queued', not_before = $1, provider = $2, last_error = $3, \
                 claimed_by = NULL WHERE id = $4 AND status = 'sending'",
            )
            .bind(at)
            .bind(provider)
            .bind(&error)
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected(),
            None => sqlx::query(
                "UPDATE outbound_messages SET status = 'failed', provider = $1, last_error = $2 \
                 WHERE id = $3 AND status = 'sending'",
            )
            .bind(provider)
            .bind(&error)
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected(),
        }
    });
    Ok(())
}

/// Messages left `sending` since before `before` by a process that died:
/// the provider may have taken them, so they are not sent again but marked
/// failed with the reason. Returns how many.
pub async fn abandon_stale(db: &Db, before: DateTime<Utc>) -> DbResult<u64> {
    Ok(db_run!(db, pool => sqlx::query(
        "UPDATE outbound_messages SET status = 'failed', \
         last_error = 'envoi interrompu (arrêt du serveur) : état inconnu, non renvoyé pour ne pas l’envoyer deux fois' \
         WHERE status = 'sending' AND claimed_at < $1",
    )
    .bind(before)
    .execute(pool)
    .await?
    .rows_affected()))
}

/// A delivery report from the provider. Returns false when no message of
/// this provider carries that reference. A report never takes a message
/// back (a late « sent » after « delivered » is ignored).
pub async fn record_receipt(
    db: &Db,
    provider: &str,
    provider_ref: &str,
    status: Status,
    detail: &str,
    at: DateTime<Utc>,
) -> DbResult<bool> {
    // Only a final report changes a message, and only one not final yet.
    let set = match status {
        Status::Delivered => "status = 'delivered', delivered_at = $1",
        Status::Failed => "status = 'failed', last_error = $1",
        _ => "",
    };
    if !set.is_empty() {
        let sql = format!(
            "UPDATE outbound_messages SET {set} WHERE provider = $2 AND provider_ref = $3 \
             AND status IN ('sending', 'sent')"
        );
        let n = db_run!(db, pool => {
            let q = sqlx::query(&sql);
            let q = if status == Status::Delivered { q.bind(at) } else { q.bind(detail) };
            q.bind(provider).bind(provider_ref).execute(pool).await?.rows_affected()
        });
        if n > 0 {
            return Ok(true);
        }
    }
    // An intermediate report, or one about a message already final: is the
    // reference ours at all?
    let known: i64 = db_run!(db, pool => sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbound_messages WHERE provider = $1 AND provider_ref = $2",
    )
    .bind(provider)
    .bind(provider_ref)
    .fetch_one(pool)
    .await?);
    Ok(known > 0)
}

/// Withdraw a notice not sent yet (a reminder of a cancelled registration).
pub async fn cancel_queued(db: &Db, dedupe_key: &str) -> DbResult<bool> {
    Ok(db_run!(db, pool => sqlx::query(
        "UPDATE outbound_messages SET status = 'cancelled' WHERE dedupe_key = $1 AND status = 'queued'",
    )
    .bind(dedupe_key)
    .execute(pool)
    .await?
    .rows_affected())
        > 0)
}

/// Withdraw the queued notices whose key starts with `prefix` (a
/// registration's reminders, whatever the session's time).
pub async fn cancel_queued_prefix(db: &Db, prefix: &str) -> DbResult<u64> {
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let n = crate::cancel_queued_in_tx!(tx, prefix)?;
        tx.commit().await?;
        n
    }))
}

pub async fn get(db: &Db, id: i64) -> DbResult<Option<Message>> {
    let sql = format!("SELECT {COLS} FROM outbound_messages WHERE id = $1");
    Ok(db_run!(db, pool => sqlx::query_as::<_, Message>(&sql).bind(id).fetch_optional(pool).await?))
}

pub async fn by_key(db: &Db, dedupe_key: &str) -> DbResult<Option<Message>> {
    let sql = format!("SELECT {COLS} FROM outbound_messages WHERE dedupe_key = $1");
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, Message>(&sql).bind(dedupe_key).fetch_optional(pool).await?),
    )
}

/// A territory's messages, newest first, optionally of one status.
pub async fn for_territory(
    db: &Db,
    territory_id: i64,
    status: Option<Status>,
    limit: i64,
) -> DbResult<Vec<Message>> {
    let filter = if status.is_some() {
        " AND status = $3"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {COLS} FROM outbound_messages WHERE territory_id = $1{filter} ORDER BY created_at DESC, id DESC LIMIT $2"
    );
    Ok(db_run!(db, pool => {
        let mut q = sqlx::query_as::<_, Message>(&sql).bind(territory_id).bind(limit);
        if let Some(s) = status {
            q = q.bind(s.as_str());
        }
        q.fetch_all(pool).await?
    }))
}

/// A territory's messages counted by channel and status.
pub async fn counts(db: &Db, territory_id: i64) -> DbResult<Vec<(String, String, i64)>> {
    Ok(db_run!(db, pool => sqlx::query_as(
        "SELECT channel, status, COUNT(*) FROM outbound_messages WHERE territory_id = $1 \
         GROUP BY channel, status ORDER BY channel, status",
    )
    .bind(territory_id)
    .fetch_all(pool)
    .await?))
}

/// Whether this number asked for no more texts.
pub async fn is_opted_out(db: &Db, phone: &str) -> DbResult<bool> {
    let n: i64 = db_run!(db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM sms_opt_outs WHERE phone = $1")
        .bind(phone)
        .fetch_one(pool)
        .await?);
    Ok(n > 0)
}

/// No more texts to this number: recorded, and its queued texts withdrawn.
/// Returns how many queued texts were withdrawn.
pub async fn opt_out(db: &Db, phone: &str, at: DateTime<Utc>) -> DbResult<u64> {
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query("INSERT INTO sms_opt_outs (phone, created_at) VALUES ($1, $2) ON CONFLICT (phone) DO NOTHING")
            .bind(phone)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        let n = sqlx::query(
            "UPDATE outbound_messages SET status = 'cancelled', last_error = 'désinscription des SMS' \
             WHERE channel = 'sms' AND recipient = $1 AND status = 'queued'",
        )
        .bind(phone)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        n
    }))
}

/// Messages of a territory older than `before` are deleted (they hold
/// phone numbers and addresses). Returns how many.
pub async fn purge(db: &Db, before: DateTime<Utc>) -> DbResult<u64> {
    Ok(db_run!(db, pool => sqlx::query(
        "DELETE FROM outbound_messages WHERE created_at < $1 AND status IN ('sent', 'delivered', 'failed', 'cancelled')",
    )
    .bind(before)
    .execute(pool)
    .await?
    .rows_affected()))
}
