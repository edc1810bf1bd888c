//! A stand-in for Brevo's transactional SMS API, written from its API
//! reference (`POST /v3/transactionalSMS/sms`, `api-key` header, JSON with
//! `sender`, `recipient` (digits with the country code), `content`; 201 with
//! a `messageId`; 400 with `code` and `message`). Used by
//! `tests/it/messages.rs` and `benches/messages.rs`.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

/// A stand-in for Brevo, written from its API reference.
#[derive(Clone, Default)]
pub struct FakeBrevo {
    pub received: Arc<Mutex<Vec<Value>>>,
    /// Answer 500 to this many requests first.
    pub fail_first: Arc<AtomicUsize>,
    pub next_id: Arc<AtomicU64>,
}

async fn send_sms(
    State(f): State<FakeBrevo>,
    headers: HeaderMap,
    body: String,
) -> axum::response::Response {
    if headers.get("api-key").and_then(|v| v.to_str().ok()) != Some("cle-de-test") {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"code": "unauthorized", "message": "Key not found"})),
        )
            .into_response();
    }
    let Ok(v) = serde_json::from_str::<Value>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"code": "bad_request", "message": "Invalid JSON"})),
        )
            .into_response();
    };
    for field in ["sender", "recipient", "content"] {
        if !v[field].is_string() {
            return (
                StatusCode::BAD_REQUEST,
                Json(
                    json!({"code": "missing_parameter", "message": format!("{field} is missing")}),
                ),
            )
                .into_response();
        }
    }
    let recipient = v["recipient"].as_str().unwrap_or_default();
    if !(6..=15).contains(&recipient.len()) || !recipient.chars().all(|c| c.is_ascii_digit()) {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"code": "invalid_parameter", "message": "Invalid phone number"})),
        )
            .into_response();
    }
    f.received.lock().unwrap().push(v);
    if f.fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return (StatusCode::INTERNAL_SERVER_ERROR, "upstream error").into_response();
    }
    let id = 1_511_882_900_000_000 + f.next_id.fetch_add(1, Ordering::SeqCst);
    (
        StatusCode::CREATED,
        Json(json!({"reference": format!("ref{id}"), "messageId": id, "smsCount": 1, "usedCredits": 0.045, "remainingCredits": 82.85})),
    )
        .into_response()
}

/// Start the fake on port 0; returns its API base (`http://…/v3`).
pub async fn fake_brevo(f: FakeBrevo) -> String {
    let app = axum::Router::new()
        .route("/v3/transactionalSMS/sms", axum::routing::post(send_sms))
        .with_state(f);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/v3")
}
