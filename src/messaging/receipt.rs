//! Delivery reports, as each provider posts them, read into one shape.

use serde_json::Value;

use crate::domain::messages::Status;

/// What a report says about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The provider's reference of the message (as stored in `provider_ref`).
    pub provider_ref: String,
    /// `Sent` means « nothing new » (an intermediate event).
    pub status: Status,
    /// Why it failed, in French.
    pub detail: String,
    /// The number asked for no more texts (STOP).
    pub opt_out: Option<String>,
}

fn string_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Brevo's transactional SMS events: `messageId`, `msg_status` (`sent`,
/// `delivered`, `soft_bounce`, `hard_bounce`…), `to`. One event or a batch.
pub fn brevo(body: &Value) -> Result<Vec<Report>, String> {
    let events: Vec<&Value> = match body {
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![body],
        _ => return Err("un objet JSON (ou une liste d'objets) est attendu".into()),
    };
    events
        .into_iter()
        .map(|e| {
            let provider_ref =
                string_of(e.get("messageId")).ok_or_else(|| "« messageId » manque".to_owned())?;
            let event = string_of(e.get("msg_status"))
                .or_else(|| string_of(e.get("event")))
                .ok_or_else(|| "« msg_status » manque".to_owned())?
                .to_lowercase();
            let to = string_of(e.get("to")).map(|t| {
                if t.starts_with('+') {
                    t
                } else {
                    format!("+{t}")
                }
            });
            let (status, detail, opt_out) = match event.as_str() {
                "delivered" => (Status::Delivered, String::new(), None),
                "soft_bounce" | "soft_bounced" | "softbounce" => (
                    Status::Failed,
                    "non remis : téléphone injoignable (éteint, hors réseau ou mémoire pleine)"
                        .into(),
                    None,
                ),
                "hard_bounce" | "hard_bounced" | "hardbounce" => (
                    Status::Failed,
                    "non remis : numéro invalide ou inexistant".into(),
                    None,
                ),
                "rejected" | "blocked" | "blacklisted" | "error" => (
                    Status::Failed,
                    format!("refusé par le fournisseur ({event})"),
                    None,
                ),
                "unsubscribe" | "unsubscribed" | "unsubscription" | "stop" => {
                    (Status::Sent, String::new(), to)
                }
                _ => (Status::Sent, String::new(), None),
            };
            Ok(Report {
                provider_ref,
                status,
                detail,
                opt_out,
            })
        })
        .collect()
}

/// The generic webhook's reports: `{"reference" or "id", "status":
/// "delivered" | "failed" | "sent", "error", "stop": "+33…"}`.
pub fn webhook(body: &Value) -> Result<Vec<Report>, String> {
    let events: Vec<&Value> = match body {
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![body],
        _ => return Err("un objet JSON (ou une liste d'objets) est attendu".into()),
    };
    events
        .into_iter()
        .map(|e| {
            let provider_ref = string_of(e.get("id"))
                .or_else(|| string_of(e.get("reference")))
                .ok_or_else(|| "« id » ou « reference » manque".to_owned())?;
            let status = match string_of(e.get("status")).as_deref() {
                Some("delivered") => Status::Delivered,
                Some("failed") => Status::Failed,
                Some("sent") | Some("queued") | Some("accepted") => Status::Sent,
                Some(other) => return Err(format!("statut « {other} » inconnu")),
                None => return Err("« status » manque".into()),
            };
            let detail = if status == Status::Failed {
                string_of(e.get("error"))
                    .map(|m| format!("non remis : {}", m.chars().take(200).collect::<String>()))
                    .unwrap_or_else(|| "non remis".into())
            } else {
                String::new()
            };
            Ok(Report {
                provider_ref,
                status,
                detail,
                opt_out: string_of(e.get("stop")),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn brevo_events() {
        let r = brevo(&json!({"id": 26570, "to": "33612345678", "messageId": 123, "msg_status": "delivered",
            "sms_count": 1, "date": "2026-12-03 10:00:00", "type": "transactional", "reference": "ab1"}))
        .unwrap();
        assert_eq!(r[0].provider_ref, "123");
        assert_eq!(r[0].status, Status::Delivered);
        let r = brevo(&json!([{"messageId": 5, "msg_status": "hard_bounce"}, {"messageId": 6, "msg_status": "sent"}]))
            .unwrap();
        assert_eq!(r[0].status, Status::Failed);
        assert!(r[0].detail.contains("numéro invalide"));
        assert_eq!(r[1].status, Status::Sent);
        let r = brevo(&json!({"messageId": 7, "msg_status": "unsubscribed", "to": "33612345678"}))
            .unwrap();
        assert_eq!(r[0].opt_out.as_deref(), Some("+33612345678"));
        assert!(brevo(&json!({"msg_status": "delivered"})).is_err());
        assert!(brevo(&json!("x")).is_err());
    }

    #[test]
    fn webhook_events() {
        let r = webhook(&json!({"reference": "maillage-4", "status": "failed", "error": "absent"}))
            .unwrap();
        assert_eq!(r[0].provider_ref, "maillage-4");
        assert_eq!(r[0].detail, "non remis : absent");
        assert!(webhook(&json!({"id": "1", "status": "lu"})).is_err());
    }
}
