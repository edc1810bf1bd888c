//! « Êtes-vous sûr·e ? »: every cancel or delete goes through a confirmation
//! step, whatever page its button sits on.
//!
//! Destructive actions are POST routes whose last segment says so
//! (`…/supprimer`, `…/suppression`, `…/retirer`, `…/effacer`,
//! `…/annulation`, `…/fin`, `…/arreter`). A form posted there without `confirme=oui` is
//! not run: the server answers a confirmation page that posts the same fields
//! again with `confirme=oui` (a danger button) or leads back. No JavaScript
//! needed; `maillage.js` may ask in a dialog instead and add the field.
//! The check runs after the CSRF check and the route's access check
//! (`web::access` layers it inside the guard of destructive POST routes), so
//! the page only ever replays a form that this site built, to someone who
//! may act.

use askama::Template;
use axum::body::{to_bytes, Body};
use axum::extract::{FromRequestParts, Request};
use axum::http::header::{CONTENT_TYPE, REFERER};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::pages::{render, Ctx, Layout};

/// Fields replayed by the confirmation page are read from a form of at most
/// this size (destructive forms are a handful of hidden fields).
const MAX_FORM: usize = 64 * 1024;

/// What a destructive route's last segment asks, or `None` for other routes.
pub fn question(path: &str) -> Option<(&'static str, &'static str)> {
    let last = path.trim_end_matches('/').rsplit('/').next()?;
    Some(match last {
        "supprimer" | "suppression" => ("Confirmer la suppression", "Oui, supprimer"),
        "retirer" => ("Confirmer le retrait de l'accès", "Oui, retirer l'accès"),
        "effacer" => (
            "Confirmer l'effacement des données de cette personne",
            "Oui, effacer ses données",
        ),
        "annulation" => ("Confirmer l'annulation", "Oui, annuler"),
        "fin" => ("Confirmer la fin du mandat", "Oui, mettre fin au mandat"),
        "arreter" => ("Confirmer l'arrêt", "Oui, arrêter"),
        _ => return None,
    })
}

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    l: Layout,
    action: String,
    button: &'static str,
    /// What is being removed, when the form names it (`_objet`).
    subject: String,
    fields: Vec<(String, String)>,
    back: String,
}

pub async fn layer(req: Request, next: Next) -> Response {
    let Some((title, button)) = question(req.uri().path()) else {
        return next.run(req).await;
    };
    let urlencoded = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !urlencoded {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_FORM).await else {
        return super::error::AppError::BadRequest("Formulaire trop long.".into()).into_page();
    };
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    if fields.iter().any(|(k, v)| k == "confirme" && v == "oui") {
        return next
            .run(Request::from_parts(parts, Body::from(bytes)))
            .await;
    }
    let path = parts.uri.path().to_owned();
    let back = parts
        .headers
        .get(REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(local_referer)
        .unwrap_or_else(|| parent(&path));
    let Ok(ctx) = Ctx::from_request_parts(&mut parts, &()).await;
    let l = if path.starts_with("/admin") {
        ctx.admin_layout(title)
    } else {
        ctx.layout(title)
    };
    let subject = fields
        .iter()
        .find(|(k, _)| k == "_objet")
        .map(|(_, v)| v.chars().take(300).collect())
        .unwrap_or_default();
    render(&ConfirmPage {
        l,
        action: parts.uri.to_string(),
        button,
        subject,
        fields: fields
            .into_iter()
            .filter(|(k, _)| k != "confirme")
            .collect(),
        back,
    })
    .into_response()
}

/// The path of a same-site Referer (scheme and host dropped), if it is one.
fn local_referer(r: &str) -> Option<String> {
    let rest = r
        .strip_prefix("http://")
        .or_else(|| r.strip_prefix("https://"))?;
    let path = &rest[rest.find('/')?..];
    (path.starts_with('/') && !path.starts_with("//") && !path.chars().any(|c| c.is_control()))
        .then(|| path.to_owned())
}

fn parent(path: &str) -> String {
    match path.trim_end_matches('/').rsplit_once('/') {
        Some((p, _)) if !p.is_empty() => p.to_owned(),
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destructive_routes_are_recognised_by_their_last_segment() {
        assert!(question("/admin/t/x/documents/3/supprimer").is_some());
        assert!(question("/admin/t/x/seances/3/annulation").is_some());
        assert!(question("/admin/t/x/membres/3/fin").is_some());
        assert!(question("/admin/t/x/seances/3/inscriptions").is_none());
        assert!(question("/admin/t/x/finances").is_none());
    }

    #[test]
    fn the_way_back_stays_on_this_site() {
        assert_eq!(
            local_referer("http://127.0.0.1:8080/admin/t/x/").as_deref(),
            Some("/admin/t/x/")
        );
        assert_eq!(local_referer("https://evil.example//x"), None);
        assert_eq!(
            parent("/admin/t/x/documents/3/supprimer"),
            "/admin/t/x/documents/3"
        );
    }
}
