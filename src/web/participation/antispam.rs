//! Spam protection of the public participation forms, without any
//! third-party service:
//!
//! - a honeypot field (`site_web`), visually hidden and out of the tab order:
//!   people leave it empty, naive robots fill it;
//! - a signed timestamp (`_t` = `seconds.HMAC(secret, seconds)`): a form sent
//!   sooner than `Config::form_min_fill_secs` after it was shown, or more
//!   than a day later, or with a forged stamp, is refused (the person just
//!   sends again: what was typed is kept);
//! - the database rate limiter, per client address (keyed hash, not the
//!   address itself).

use std::net::SocketAddr;

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::storage::rate_limit;
use crate::web::AppState;

pub const HONEYPOT: &str = "site_web";
pub const STAMP: &str = "_t";

fn mac(secret: &[u8], what: &str) -> String {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("any key length");
    m.update(what.as_bytes());
    crate::web::session::b64(&m.finalize().into_bytes()[..18])
}

/// The value of the hidden `_t` field for a form shown at `unix` seconds.
pub fn stamp_at(secret: &[u8], unix: i64) -> String {
    format!("{unix}.{}", mac(secret, &format!("form-time|{unix}")))
}

pub fn stamp(st: &AppState) -> String {
    stamp_at(&st.secret, chrono::Utc::now().timestamp())
}

/// Why a submission was refused as automatic. The messages are for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    Honeypot,
    TooFast,
    Expired,
    TooMany,
}

impl Verdict {
    pub fn message(&self) -> &'static str {
        match self {
            Verdict::Ok => "",
            Verdict::Honeypot => "Le formulaire semble avoir été rempli automatiquement : laissez vide le champ « Ne pas remplir », puis envoyez de nouveau.",
            Verdict::TooFast => "Le formulaire a été envoyé très vite après son affichage. Relisez votre saisie (elle est conservée), puis envoyez de nouveau.",
            Verdict::Expired => "Le formulaire a expiré ou a été modifié. Votre saisie est conservée : envoyez de nouveau.",
            Verdict::TooMany => "Trop d’envois depuis votre connexion en peu de temps. Réessayez dans quelques minutes ; votre saisie est conservée.",
        }
    }
}

/// Check the honeypot and the stamp (no database access).
pub fn check_form(st: &AppState, honeypot: &str, stamp: &str) -> Verdict {
    if !honeypot.trim().is_empty() {
        return Verdict::Honeypot;
    }
    let Some((secs, sig)) = stamp.split_once('.') else {
        return Verdict::Expired;
    };
    let Ok(at) = secs.parse::<i64>() else {
        return Verdict::Expired;
    };
    let expected = mac(&st.secret, &format!("form-time|{at}"));
    if expected.len() != sig.len()
        || expected
            .bytes()
            .zip(sig.bytes())
            .fold(0u8, |a, (x, y)| a | (x ^ y))
            != 0
    {
        return Verdict::Expired;
    }
    let age = chrono::Utc::now().timestamp() - at;
    if age < st.config.form_min_fill_secs {
        return Verdict::TooFast;
    }
    if age > 24 * 3600 {
        return Verdict::Expired;
    }
    Verdict::Ok
}

fn rate_key(st: &AppState, ip: &str) -> String {
    mac(&st.secret, &format!("participation|{ip}"))
}

/// Count one submission of `bucket` from this client and refuse beyond
/// `limit` in ten minutes.
pub async fn rate_check(
    st: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    bucket: &str,
    limit: i64,
) -> crate::storage::DbResult<Verdict> {
    let ip = crate::web::admin::client_ip(st, peer, headers);
    let key = rate_key(st, &ip);
    // Check and record in one step: parallel submissions cannot all pass.
    match rate_limit::acquire(&st.db, bucket, &key, chrono::Duration::minutes(10), limit).await? {
        rate_limit::Acquired::Yes(_) => Ok(Verdict::Ok),
        rate_limit::Acquired::No { .. } => Ok(Verdict::TooMany),
    }
}

/// Everything at once: form checks first (no write for robots), then the rate.
pub async fn check(
    st: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    honeypot: &str,
    stamp: &str,
    bucket: &str,
    limit: i64,
) -> crate::storage::DbResult<Verdict> {
    let v = check_form(st, honeypot, stamp);
    if v != Verdict::Ok {
        return Ok(v);
    }
    rate_check(st, peer, headers, bucket, limit).await
}

/// Submissions per client address and ten minutes: answers to a questionnaire
/// (a shared computer in a community centre may send many) and other forms.
pub const ANSWER_LIMIT: i64 = 60;
pub const FORM_LIMIT: i64 = 10;
/// Registrations to events: a family, a social worker registering people.
pub const REGISTRATION_LIMIT: i64 = 30;
