//! Flash messages: « Enregistré », « Séance annulée »… shown once on the page
//! a form redirects to (post/redirect/get).
//!
//! The message travels in a short-lived cookie set with the 303 redirect; the
//! next page's layout shows it ([`super::pages::Ctx`] reads it) and the
//! [`layer`] clears the cookie on that page's response. No server state, so
//! it works with several processes. The micro-cache never serves a request
//! that carries the cookie (the page must show the message).

use axum::extract::Request;
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::pages::url_encode;
use super::session::cookie;

pub const FLASH_COOKIE: &str = "maillage_message";
/// Longer messages are cut: the cookie stays small.
const MAX_CHARS: usize = 300;

/// A 303 redirect to `to` that shows `message` on the page it leads to.
/// `to` must be a local path built by the server (never user input).
pub fn see_other(to: &str, message: &str) -> Response {
    let mut resp = (StatusCode::SEE_OTHER, [(LOCATION, to.to_owned())]).into_response();
    if let Some(v) = cookie_value(message) {
        resp.headers_mut().append(SET_COOKIE, v);
    }
    resp
}

/// Add the flash cookie to a response (usually a redirect built elsewhere).
pub fn with_message(mut resp: Response, message: &str) -> Response {
    if let Some(v) = cookie_value(message) {
        resp.headers_mut().append(SET_COOKIE, v);
    }
    resp
}

fn cookie_value(message: &str) -> Option<HeaderValue> {
    let text: String = message.chars().take(MAX_CHARS).collect();
    // Not HttpOnly-sensitive, but kept HttpOnly all the same: scripts never
    // need it. Max-Age is short: a message never shows on a later visit.
    HeaderValue::from_str(&format!(
        "{FLASH_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age=120",
        url_encode(&text)
    ))
    .ok()
}

/// The message carried by a request, decoded.
pub fn read(headers: &axum::http::HeaderMap) -> Option<String> {
    let raw = cookie(headers, FLASH_COOKIE)?;
    let bytes = percent_decode(raw);
    let text = String::from_utf8_lossy(&bytes).trim().to_owned();
    (!text.is_empty()).then(|| text.chars().take(MAX_CHARS).collect())
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// What a back-office form that redirected said nothing more precise about.
fn default_message(path: &str) -> &'static str {
    match path.trim_end_matches('/').rsplit('/').next().unwrap_or("") {
        "connexion" => "Vous êtes connecté·e.",
        "deconnexion" => "Vous êtes déconnecté·e.",
        "supprimer" | "suppression" => "Suppression effectuée.",
        "retirer" => "Accès retiré.",
        "effacer" => "Données effacées.",
        "annulation" => "Annulation enregistrée ; les personnes inscrites qui ont laissé une adresse sont prévenues.",
        "fin" => "Fin du mandat enregistrée.",
        "arreter" => "Série arrêtée : ses dates passées restent dans l'historique.",
        _ => "Modifications enregistrées.",
    }
}

/// Clears the flash cookie once a page (not a redirect) has been answered to
/// a request that carried it; gives every back-office form that saved and
/// redirected a message when its handler left none (« after every save »);
/// a redirect that carries a query (`?enregistre=1`, `?fait=role`) leads to
/// a page that says it itself.
pub async fn layer(req: Request, next: Next) -> Response {
    let had = cookie(req.headers(), FLASH_COOKIE).is_some();
    let back_office_post =
        req.method() == axum::http::Method::POST && req.uri().path().starts_with("/admin/");
    let path = req.uri().path().to_owned();
    let mut resp = next.run(req).await;
    if back_office_post
        && resp.status() == StatusCode::SEE_OTHER
        && !resp
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .any(|v| v.as_bytes().starts_with(FLASH_COOKIE.as_bytes()))
        && !resp
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|l| l.contains('?'))
    {
        if let Some(v) = cookie_value(default_message(&path)) {
            resp.headers_mut().append(SET_COOKIE, v);
        }
        return resp;
    }
    if had && !resp.status().is_redirection() {
        resp.headers_mut().append(
            SET_COOKIE,
            HeaderValue::from_static(
                "maillage_message=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0",
            ),
        );
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_survives_the_cookie_round_trip() {
        let v = cookie_value("Séance annulée ; « 3 personnes » prévenues").unwrap();
        let s = v.to_str().unwrap();
        let value = s.split(';').next().unwrap();
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            axum::http::header::COOKIE,
            HeaderValue::from_str(value).unwrap(),
        );
        assert_eq!(
            read(&headers).as_deref(),
            Some("Séance annulée ; « 3 personnes » prévenues")
        );
    }

    #[test]
    fn a_broken_cookie_does_not_panic() {
        for raw in [
            "maillage_message=%",
            "maillage_message=%4",
            "maillage_message=%zz%e9",
        ] {
            let mut headers = axum::http::HeaderMap::new();
            headers.insert(
                axum::http::header::COOKIE,
                HeaderValue::from_str(raw).unwrap(),
            );
            let _ = read(&headers);
        }
    }
}
