//! The outbox seen from the web: the coordination's list of messages with
//! their receipts (`/admin/t/{territory}/envois`), a number taken off the
//! SMS list on request, and the providers' delivery reports
//! (`/hooks/sms/{provider}/{secret}`).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use chrono::Utc;
use serde::Deserialize;

use crate::domain::messages::{Channel, Status};
use crate::domain::roles::Role;
use crate::domain::{dates, phone};
use crate::messaging::receipt;
use crate::storage::messages as store;
use crate::web::access::{Access, Routes, TerritoryCtx};
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::flash;
use crate::web::pages::{render, Ctx, FormErrors, Layout};
use crate::web::AppState;

pub fn routes(r: Routes) -> Routes {
    // Recipients are personal data: the coordination only, not regional staff.
    let coordination = Access::Personal(Role::Coordinator);
    r.get("/admin/t/{territory}/envois", coordination, list)
        .post(
            "/admin/t/{territory}/envois/desinscription",
            coordination,
            opt_out,
        )
        .post("/hooks/sms/{provider}/{secret}", Access::Hook, report)
}

pub struct Line {
    pub created: String,
    pub channel: &'static str,
    pub purpose: String,
    pub recipient: String,
    pub status: &'static str,
    pub status_code: String,
    pub attempts: i64,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "admin/messages.html")]
struct ListPage {
    l: Layout,
    slug: String,
    csrf: String,
    sms_enabled: bool,
    mail_enabled: bool,
    /// (channel label, [(status label, count)]).
    counts: Vec<(&'static str, Vec<(&'static str, i64)>)>,
    filter: String,
    /// (code, label, selected).
    filters: Vec<(&'static str, &'static str, bool)>,
    lines: Vec<Line>,
    phone: String,
    errors: FormErrors,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    statut: String,
}

pub fn purpose_label(p: &str) -> String {
    match p {
        "confirmation" => "confirmation".into(),
        "reminder" => "rappel".into(),
        "change" => "changement".into(),
        "cancellation" => "annulation".into(),
        "waiting-list" => "place libérée".into(),
        "referral" => "orientation".into(),
        "review" => "bilan annuel soumis".into(),
        "proposal" => "proposition de changement".into(),
        "meeting-invitation" => "invitation à une réunion".into(),
        "join-request" => "demande pour un groupe".into(),
        "join-answer" => "réponse à une demande".into(),
        "idea" => "boîte à idées".into(),
        "contact" => "message de contact".into(),
        "referral-reminder" => "relance d’orientation".into(),
        other => other.to_owned(),
    }
}

async fn page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    csrf: String,
    filter: &str,
    phone: String,
    errors: FormErrors,
) -> Result<ListPage, AppError> {
    let t = &tc.territory;
    let status = Status::parse(filter);
    let rows = store::for_territory(&st.db, t.id, status, 300).await?;
    let mut counts: Vec<(&'static str, Vec<(&'static str, i64)>)> = Vec::new();
    for (channel, s, n) in store::counts(&st.db, t.id).await? {
        let label = Channel::parse(&channel).map(Channel::label).unwrap_or("?");
        let status = Status::parse(&s).map(Status::label).unwrap_or("?");
        match counts.iter_mut().find(|(c, _)| *c == label) {
            Some((_, v)) => v.push((status, n)),
            None => counts.push((label, vec![(status, n)])),
        }
    }
    let lines = rows
        .into_iter()
        .map(|m| {
            let channel = Channel::parse(&m.channel);
            let status = Status::parse(&m.status).unwrap_or(Status::Failed);
            let when = match status {
                Status::Delivered => m
                    .delivered_at
                    .map(|d| format!("remis le {}", dates::paris_datetime(d))),
                Status::Sent => m
                    .sent_at
                    .map(|d| format!("envoyé le {}", dates::paris_datetime(d))),
                Status::Queued if m.not_before > Utc::now() => {
                    Some(format!("prévu le {}", dates::paris_datetime(m.not_before)))
                }
                _ => None,
            };
            let detail = [when.unwrap_or_default(), m.last_error.clone()]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" — ");
            Line {
                created: dates::paris_datetime(m.created_at),
                channel: channel.map(Channel::label).unwrap_or("?"),
                purpose: purpose_label(&m.purpose),
                recipient: match channel {
                    Some(Channel::Sms) => phone::masked(&m.recipient),
                    _ => mask_email(&m.recipient),
                },
                status: status.label(),
                status_code: status.as_str().to_owned(),
                attempts: m.attempts,
                detail,
            }
        })
        .collect();
    Ok(ListPage {
        l: ctx.admin_layout("Messages envoyés"),
        slug: t.slug.clone(),
        csrf,
        sms_enabled: st.outbox.sms_enabled(),
        mail_enabled: st.mailer.is_some(),
        counts,
        filter: status.map(|s| s.as_str().to_owned()).unwrap_or_default(),
        filters: Status::ALL
            .iter()
            .map(|s| (s.as_str(), s.label(), status == Some(*s)))
            .collect(),
        lines,
        phone,
        errors,
    })
}

/// `marie.dupont@example.org` → `m…@example.org`.
fn mask_email(a: &str) -> String {
    match a.split_once('@') {
        Some((user, domain)) => {
            format!("{}…@{domain}", user.chars().next().unwrap_or('?'))
        }
        None => "…".into(),
    }
}

async fn list(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    csrf: CsrfToken,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let p = page(
        &st,
        &ctx,
        &tc,
        csrf.value(),
        &q.statut,
        String::new(),
        FormErrors::default(),
    )
    .await?;
    Ok(render(&p))
}

#[derive(Deserialize)]
pub struct OptOutForm {
    #[serde(default)]
    phone: String,
}

/// Someone called to ask for no more texts.
async fn opt_out(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    csrf: CsrfToken,
    Form(f): Form<OptOutForm>,
) -> Result<Response, AppError> {
    match phone::parse(&f.phone) {
        Ok(number) => {
            let withdrawn = store::opt_out(&st.db, &number, Utc::now()).await?;
            tracing::info!(by = %tc.user.user.email, number = %phone::masked(&number), "désinscription des SMS");
            let msg = match withdrawn {
                0 => format!(
                    "Plus aucun SMS ne sera envoyé au {}.",
                    phone::display(&number)
                ),
                n => format!(
                    "Plus aucun SMS ne sera envoyé au {} ; {n} SMS en attente retiré(s).",
                    phone::display(&number)
                ),
            };
            Ok(flash::see_other(
                &format!("/admin/t/{}/envois", tc.territory.slug),
                &msg,
            ))
        }
        Err(e) => {
            let mut errors = FormErrors::default();
            errors.0.push(("phone", e.to_string()));
            let p = page(&st, &ctx, &tc, csrf.value(), "", f.phone, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&p)).into_response())
        }
    }
}

/// A provider's delivery report. 404 unless the provider is the configured
/// one and the secret matches (compared in constant time); 400 for a body
/// that is not a report; 200 otherwise, even for a reference we do not know
/// (the provider would retry forever).
async fn report(
    State(st): State<AppState>,
    Path((provider, secret)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Some(sms) = st.config.sms.as_ref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let expected = sms.callback_secret.as_deref().unwrap_or("");
    if expected.is_empty()
        || provider != sms.provider
        || !crate::tokens::constant_time_eq(secret.as_bytes(), expected.as_bytes())
    {
        return StatusCode::NOT_FOUND.into_response();
    }
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "JSON attendu").into_response();
    };
    let reports = match provider.as_str() {
        "brevo" => receipt::brevo(&json),
        _ => receipt::webhook(&json),
    };
    let reports = match reports {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_REQUEST, e).into_response(),
    };
    let now = Utc::now();
    for r in reports {
        if let Some(number) = &r.opt_out {
            if let Ok(n) = phone::parse(number) {
                if let Err(e) = store::opt_out(&st.db, &n, now).await {
                    return AppError::from(e).into_response();
                }
            }
        }
        if r.status == Status::Sent {
            continue;
        }
        match store::record_receipt(&st.db, &provider, &r.provider_ref, r.status, &r.detail, now)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!(provider, reference = %r.provider_ref, "accusé de réception d'un message inconnu")
            }
            Err(e) => return AppError::from(e).into_response(),
        }
    }
    StatusCode::OK.into_response()
}
