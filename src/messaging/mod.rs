//! Sending the outbox (`storage::messages`): every server process runs
//! [`Outbox::run_loop`], which claims due messages (each goes to one
//! process), hands SMS to the configured provider and e-mails to the SMTP
//! relay, and records the receipt; failures are retried a bounded number
//! of times (`domain::messages::retry_delay`). Delivery reports come back
//! through `web::hooks` and [`receipt`].

pub mod receipt;
pub mod sms;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::domain::messages::{retry_delay, Channel};
use crate::mail::Mailer;
use crate::storage::messages::{self as store, Message};
use crate::storage::{Db, DbResult};
use sms::{SendError, SmsProvider};

/// Messages taken per claim; sent concurrently.
const BATCH: i64 = 20;
/// A claim older than this with no outcome is a process that died.
const STALE_AFTER: chrono::Duration = chrono::Duration::minutes(10);

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
}

pub struct Outbox {
    db: Db,
    sms: Option<Arc<dyn SmsProvider>>,
    mailer: Option<Arc<Mailer>>,
    worker: String,
    wake: Notify,
    /// Days before a session its SMS reminder goes out.
    pub reminder_days: u32,
}

impl Outbox {
    pub fn new(
        db: Db,
        sms: Option<Arc<dyn SmsProvider>>,
        mailer: Option<Arc<Mailer>>,
        reminder_days: u32,
    ) -> Outbox {
        let worker = format!(
            "{}-{}",
            std::process::id(),
            crate::tokens::random_token()
                .chars()
                .take(8)
                .collect::<String>()
        );
        Outbox {
            db,
            sms,
            mailer,
            worker,
            wake: Notify::new(),
            reminder_days,
        }
    }

    /// Whether text messages can go out at all.
    pub fn sms_enabled(&self) -> bool {
        self.sms.is_some()
    }

    /// Something was queued: send it now rather than at the next tick.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Send everything due at `now`, batch after batch.
    pub async fn run_once(&self, now: DateTime<Utc>) -> DbResult<Pass> {
        let abandoned = store::abandon_stale(&self.db, now - STALE_AFTER).await?;
        if abandoned > 0 {
            tracing::warn!(abandoned, "messages interrompus marqués en échec");
        }
        let mut pass = Pass::default();
        loop {
            let batch = store::claim_due(&self.db, &self.worker, now, BATCH).await?;
            if batch.is_empty() {
                return Ok(pass);
            }
            let mut set = tokio::task::JoinSet::new();
            for m in batch {
                let (sms, mailer) = (self.sms.clone(), self.mailer.clone());
                set.spawn(async move {
                    let outcome = deliver(sms.as_deref(), mailer.as_deref(), &m).await;
                    (m, outcome)
                });
            }
            while let Some(joined) = set.join_next().await {
                let Ok((m, (provider, outcome))) = joined else {
                    continue;
                };
                match outcome {
                    Ok(provider_ref) => {
                        store::mark_sent(
                            &self.db,
                            m.id,
                            provider,
                            provider_ref.as_deref(),
                            Utc::now(),
                        )
                        .await?;
                        pass.sent += 1;
                    }
                    Err(SendError::Retry(e)) => match retry_delay(m.attempts) {
                        Some(d) => {
                            store::mark_attempt_failed(&self.db, m.id, provider, &e, Some(now + d))
                                .await?;
                            pass.retried += 1;
                        }
                        None => {
                            let e = format!("{e} (abandonné après {} essais)", m.attempts);
                            store::mark_attempt_failed(&self.db, m.id, provider, &e, None).await?;
                            pass.failed += 1;
                        }
                    },
                    Err(SendError::Refused(e)) => {
                        store::mark_attempt_failed(&self.db, m.id, provider, &e, None).await?;
                        pass.failed += 1;
                    }
                }
            }
        }
    }

    /// Every 15 seconds, or as soon as something is queued (as long as the
    /// server runs, like the other housekeeping loops).
    pub async fn run_loop(self: Arc<Self>) {
        loop {
            if let Err(e) = self.run_once(Utc::now()).await {
                tracing::warn!(error = %e, "envoi des messages");
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(15)) => {}
            }
        }
    }
}

/// Hand one message over; the provider's name and reference, or why not.
async fn deliver(
    sms: Option<&dyn SmsProvider>,
    mailer: Option<&Mailer>,
    m: &Message,
) -> (&'static str, Result<Option<String>, SendError>) {
    match Channel::parse(&m.channel) {
        Some(Channel::Sms) => match sms {
            Some(p) => {
                let reference = format!("maillage-{}", m.id);
                let r = p.send(&m.recipient, &m.body, &reference).await;
                (p.name(), r.map(|a| a.provider_ref))
            }
            None => (
                "",
                Err(SendError::Refused(
                    "aucun fournisseur de SMS n'est configuré".into(),
                )),
            ),
        },
        Some(Channel::Email) => match mailer {
            Some(mailer) => (
                "smtp",
                mailer
                    .send(&m.recipient, &m.subject, &m.body)
                    .await
                    .map(|()| None)
                    .map_err(|e| SendError::Retry(format!("relais SMTP : {e}"))),
            ),
            None => (
                "",
                Err(SendError::Refused(
                    "aucun relais SMTP n'est configuré".into(),
                )),
            ),
        },
        None => (
            "",
            Err(SendError::Refused(format!(
                "canal inconnu « {} »",
                m.channel
            ))),
        ),
    }
}
