//! One error type for the web layer, mapped once to HTTP: an HTML page for
//! people, JSON for the API (see `ApiError`). Internal errors are logged and
//! answered with an opaque 500.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::pages::ErrorPage;
use crate::storage::DbError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("page introuvable")]
    NotFound,
    #[error("connexion requise")]
    Unauthenticated,
    #[error("accès refusé")]
    Forbidden,
    #[error("formulaire expiré")]
    Csrf,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    /// Well-formed, but refused by a rule (a date out of range, a number
    /// that is not one): 422.
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("envoi trop volumineux")]
    TooLarge,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => AppError::NotFound,
            DbError::Conflict(c) => AppError::Conflict(format!("conflit d'enregistrement ({c})")),
            DbError::Stale => {
                AppError::Conflict("quelqu'un a enregistré une autre version entre-temps".into())
            }
            DbError::Other(e) => AppError::Internal(e),
        }
    }
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn title_and_message(&self) -> (&'static str, String) {
        match self {
            AppError::NotFound => ("Page introuvable", "Cette page n'existe pas ou a été déplacée.".into()),
            AppError::Unauthenticated => ("Connexion requise", "Connectez-vous pour accéder à cette page.".into()),
            AppError::Forbidden => (
                "Accès refusé",
                "Votre compte ne permet pas d'accéder à cette page. Si vous pensez que c'est une erreur, \
                 adressez-vous à la coordination de votre territoire."
                    .into(),
            ),
            AppError::Csrf => (
                "Formulaire expiré",
                "Ce formulaire a expiré ou ne provient pas de ce site. Revenez à la page précédente, \
                 rechargez-la, puis envoyez de nouveau."
                    .into(),
            ),
            AppError::BadRequest(m) => ("Demande incorrecte", m.clone()),
            AppError::Conflict(m) => ("Conflit", m.clone()),
            AppError::Unprocessable(m) => ("Données refusées", m.clone()),
            AppError::TooManyRequests(m) => ("Trop de tentatives", m.clone()),
            AppError::TooLarge => ("Envoi trop volumineux", "Le contenu envoyé dépasse la taille autorisée.".into()),
            AppError::Internal(_) => (
                "Erreur du serveur",
                "Une erreur inattendue s'est produite. Rien n'a été perdu de ce qui était déjà enregistré ; \
                 réessayez dans un instant."
                    .into(),
            ),
        }
    }

    /// The HTML page for this error.
    pub fn into_page(self) -> Response {
        if let AppError::Internal(e) = &self {
            tracing::error!(error = ?e, "internal error");
        }
        let (title, message) = self.title_and_message();
        let status = self.status();
        (status, ErrorPage::render(status.as_u16(), title, &message)).into_response()
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.into_page()
    }
}

/// The JSON body of an API error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiErrorBody {
    /// Machine-readable: `not_found`, `unauthenticated`, `forbidden`, …
    pub error: &'static str,
    /// A sentence for people, in French.
    pub message: String,
}

/// The API's error: same cases, answered as JSON.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        if let AppError::Internal(err) = &e {
            tracing::error!(error = ?err, "internal error");
        }
        let code = match &e {
            AppError::NotFound => "not_found",
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden => "forbidden",
            AppError::Csrf => "csrf",
            AppError::BadRequest(_) => "bad_request",
            AppError::Conflict(_) => "conflict",
            AppError::Unprocessable(_) => "unprocessable",
            AppError::TooManyRequests(_) => "too_many_requests",
            AppError::TooLarge => "payload_too_large",
            AppError::Internal(_) => "internal",
        };
        let status = e.status();
        let (_, message) = e.title_and_message();
        (
            status,
            Json(ApiErrorBody {
                error: code,
                message,
            }),
        )
            .into_response()
    }
}

/// The machine-readable code of an error status.
fn api_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthenticated",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "timeout",
        409 => "conflict",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        422 => "unprocessable",
        429 => "too_many_requests",
        s if s >= 500 => "internal",
        _ => "error",
    }
}

/// Middleware: every error answered under `/api/` is JSON
/// ([`ApiErrorBody`]), whoever wrote it: the extractors' plain-text
/// rejections (a query parameter that does not parse), the router's 404 and
/// 405, the CSRF check, the timeout and panic layers. Headers such as
/// `Allow` and `Retry-After` are kept.
pub async fn api_json_errors(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
    if !req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let plain = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/plain"))
        && !parts.headers.contains_key(CONTENT_ENCODING);
    let text = if plain && status.is_client_error() {
        axum::body::to_bytes(body, 16 * 1024)
            .await
            .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
            .unwrap_or_default()
    } else {
        String::new()
    };
    let message = if !text.is_empty() {
        text
    } else {
        match status.as_u16() {
            401 => "Connexion requise.".into(),
            403 => "Accès refusé.".into(),
            404 => "Ressource introuvable.".into(),
            405 => "Méthode non prise en charge pour cette adresse.".into(),
            s if s >= 500 => "Erreur inattendue du serveur.".into(),
            _ => "Demande incorrecte.".into(),
        }
    };
    parts.headers.remove(CONTENT_LENGTH);
    parts.headers.remove(CONTENT_ENCODING);
    parts.headers.insert(
        CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    let body = serde_json::to_vec(&ApiErrorBody {
        error: api_code(status),
        message,
    })
    .unwrap_or_default();
    Response::from_parts(parts, axum::body::Body::from(body))
}
