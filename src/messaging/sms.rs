//! Text messages go out through a provider behind [`SmsProvider`]: Brevo's
//! transactional SMS API (a French provider with delivery reports) or a
//! generic HTTP webhook for any other gateway. Chosen in the configuration
//! (`sms-provider`), off by default.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::Deserialize;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The provider took the message; its own reference, for delivery reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub provider_ref: Option<String>,
}

/// Why a message did not go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Worth another try later: no answer, a server error, too many
    /// requests, no credit left, credentials refused (they can be fixed).
    Retry(String),
    /// The provider refused this message for good (a bad number).
    Refused(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Retry(m) | SendError::Refused(m) => f.write_str(m),
        }
    }
}

pub trait SmsProvider: Send + Sync {
    /// Short name, stored with each message (`brevo`, `webhook`).
    fn name(&self) -> &'static str;
    /// Send `text` to `to` (E.164). `reference` is ours, unique per message.
    fn send<'a>(
        &'a self,
        to: &'a str,
        text: &'a str,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<Accepted, SendError>>;
}

/// How SMS are configured (`sms-*` settings).
#[derive(Clone, Default)]
pub struct SmsSettings {
    /// `brevo` or `webhook`.
    pub provider: String,
    /// Brevo: the API base (default `https://api.brevo.com/v3`); webhook:
    /// the URL messages are posted to.
    pub url: Option<String>,
    /// Brevo's API key, or the webhook's bearer token.
    pub api_key: Option<String>,
    /// Sender name shown on phones (3–11 letters or digits).
    pub sender: String,
    /// Secret part of the delivery-report address
    /// (`/hooks/sms/{provider}/{secret}`); without it no report is asked for.
    pub callback_secret: Option<String>,
    /// Days before a session its reminder goes out (1 or 2).
    pub reminder_days: u32,
}

impl std::fmt::Debug for SmsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsSettings")
            .field("provider", &self.provider)
            .field("url", &self.url)
            .field("sender", &self.sender)
            .field("reminder_days", &self.reminder_days)
            .finish_non_exhaustive()
    }
}

impl SmsSettings {
    /// Check the settings and build the provider; `public_url` is where
    /// delivery reports come back.
    pub fn build(&self, public_url: &str) -> anyhow::Result<Box<dyn SmsProvider>> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        let callback = self.callback_secret.as_ref().map(|s| {
            format!(
                "{}/hooks/sms/{}/{s}",
                public_url.trim_end_matches('/'),
                self.provider
            )
        });
        match self.provider.as_str() {
            "brevo" => {
                let api_key = self
                    .api_key
                    .clone()
                    .filter(|k| !k.is_empty())
                    .ok_or_else(|| {
                        anyhow::anyhow!("sms-provider = brevo : la clé d'API (sms-api-key) manque")
                    })?;
                let sender = self.sender.trim();
                let ok = (3..=11).contains(&sender.chars().count())
                    && sender.chars().all(|c| c.is_ascii_alphanumeric());
                if !ok {
                    anyhow::bail!(
                        "sms-sender « {sender} » : de 3 à 11 lettres ou chiffres, sans espace ni accent"
                    );
                }
                Ok(Box::new(Brevo {
                    client,
                    base: self
                        .url
                        .clone()
                        .unwrap_or_else(|| "https://api.brevo.com/v3".into())
                        .trim_end_matches('/')
                        .to_owned(),
                    api_key,
                    sender: sender.to_owned(),
                    callback,
                }))
            }
            "webhook" => {
                let url = self
                    .url
                    .clone()
                    .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
                    .ok_or_else(|| anyhow::anyhow!("sms-provider = webhook : l'adresse (sms-url, http:// ou https://) manque"))?;
                Ok(Box::new(Webhook {
                    client,
                    url,
                    token: self.api_key.clone().filter(|k| !k.is_empty()),
                    callback,
                }))
            }
            other => anyhow::bail!("sms-provider « {other} » inconnu : brevo ou webhook"),
        }
    }
}

/// What an HTTP status means for a retry.
fn classify(status: reqwest::StatusCode, body: &str) -> SendError {
    let msg = format!(
        "réponse {} du fournisseur : {}",
        status.as_u16(),
        body.chars().take(300).collect::<String>()
    );
    if status.is_server_error() || matches!(status.as_u16(), 401 | 402 | 403 | 408 | 429) {
        SendError::Retry(msg)
    } else {
        SendError::Refused(msg)
    }
}

fn transport(e: reqwest::Error) -> SendError {
    SendError::Retry(if e.is_timeout() {
        "le fournisseur n'a pas répondu à temps".into()
    } else {
        format!("fournisseur injoignable : {e}")
    })
}

/// Brevo's transactional SMS: `POST {base}/transactionalSMS/sms` with the
/// `api-key` header; 201 gives a `messageId`, which Brevo's delivery
/// reports (posted to `webUrl`) carry back.
pub struct Brevo {
    client: reqwest::Client,
    base: String,
    api_key: String,
    sender: String,
    callback: Option<String>,
}

#[derive(Deserialize)]
struct BrevoAccepted {
    #[serde(rename = "messageId")]
    message_id: Option<serde_json::Value>,
    reference: Option<String>,
}

impl SmsProvider for Brevo {
    fn name(&self) -> &'static str {
        "brevo"
    }

    fn send<'a>(
        &'a self,
        to: &'a str,
        text: &'a str,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<Accepted, SendError>> {
        Box::pin(async move {
            let unicode = crate::domain::messages::sms_parts(text).1;
            let mut body = serde_json::json!({
                "sender": self.sender,
                "recipient": to.trim_start_matches('+'),
                "content": text,
                "type": "transactional",
                "tag": reference,
                "unicodeEnabled": unicode,
            });
            if let Some(cb) = &self.callback {
                body["webUrl"] = serde_json::Value::String(cb.clone());
            }
            let resp = self
                .client
                .post(format!("{}/transactionalSMS/sms", self.base))
                .header("api-key", &self.api_key)
                .header("accept", "application/json")
                .json(&body)
                .send()
                .await
                .map_err(transport)?;
            let status = resp.status();
            let text = resp.text().await.map_err(transport)?;
            if !status.is_success() {
                return Err(classify(status, &text));
            }
            let accepted: BrevoAccepted = serde_json::from_str(&text).map_err(|e| {
                // Taken but unreadable: not retried (it may have gone).
                SendError::Refused(format!("réponse illisible du fournisseur : {e}"))
            })?;
            let provider_ref = match accepted.message_id {
                Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                Some(serde_json::Value::String(s)) => Some(s),
                _ => accepted.reference,
            };
            Ok(Accepted { provider_ref })
        })
    }
}

/// Any gateway that takes `POST {url}` with `{"to", "text", "reference",
/// "callback"}` (JSON, optional bearer token) and answers 2xx, optionally
/// with `{"id": …}`; its reports come back to `callback` as
/// `{"reference" or "id", "status": "delivered" | "failed", "error"}`.
pub struct Webhook {
    client: reqwest::Client,
    url: String,
    token: Option<String>,
    callback: Option<String>,
}

#[derive(Deserialize)]
struct WebhookAccepted {
    id: Option<serde_json::Value>,
}

impl SmsProvider for Webhook {
    fn name(&self) -> &'static str {
        "webhook"
    }

    fn send<'a>(
        &'a self,
        to: &'a str,
        text: &'a str,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<Accepted, SendError>> {
        Box::pin(async move {
            let mut req = self.client.post(&self.url).json(&serde_json::json!({
                "to": to,
                "text": text,
                "reference": reference,
                "callback": self.callback,
            }));
            if let Some(t) = &self.token {
                req = req.bearer_auth(t);
            }
            let resp = req.send().await.map_err(transport)?;
            let status = resp.status();
            let text = resp.text().await.map_err(transport)?;
            if !status.is_success() {
                return Err(classify(status, &text));
            }
            let id = serde_json::from_str::<WebhookAccepted>(&text)
                .ok()
                .and_then(|a| a.id)
                .map(|v| match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                });
            Ok(Accepted {
                provider_ref: Some(id.unwrap_or_else(|| reference.to_owned())),
            })
        })
    }
}
