//! What every HTML page shares: the layout context, display preferences,
//! form errors, and the error page.

use std::sync::Arc;

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Response};

use super::csrf::CsrfToken;
use super::error::AppError;
use super::session::{cookie, CurrentUser};

pub const PREFS_COOKIE: &str = "maillage_affichage";

/// Render a template into a response; a template error becomes a 500.
pub fn render<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => AppError::Internal(anyhow::anyhow!("template: {e}")).into_page(),
    }
}

/// Percent-encode a string for a query parameter.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Display preferences chosen with the accessibility tools (a cookie; no
/// account, no JavaScript needed).
#[derive(Debug, Clone, Copy, Default)]
pub struct Prefs {
    pub large_text: bool,
    pub contrast: bool,
}

impl Prefs {
    pub fn from_cookie(v: Option<&str>) -> Prefs {
        let v = v.unwrap_or("");
        Prefs {
            large_text: v.split('.').any(|p| p == "grand"),
            contrast: v.split('.').any(|p| p == "contraste"),
        }
    }

    pub fn to_cookie(self) -> String {
        let mut parts = Vec::new();
        if self.large_text {
            parts.push("grand");
        }
        if self.contrast {
            parts.push("contraste");
        }
        parts.join(".")
    }
}

#[derive(Debug, Clone)]
pub struct NavTerritory {
    pub slug: String,
    pub name: String,
}

/// The context of the base layout.
#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    pub prefs: Prefs,
    /// The current path, URL-encoded, to come back after changing a preference.
    pub back: String,
    pub user_name: Option<String>,
    pub is_admin: bool,
    pub reads_everything: bool,
    /// Token for the sign-out form (only when signed in).
    pub csrf: String,
    pub territory: Option<NavTerritory>,
    /// Back office pages get the back office navigation and `noindex`.
    pub back_office: bool,
}

impl Layout {
    pub fn html_class(&self) -> String {
        let mut c = Vec::new();
        if self.prefs.large_text {
            c.push("texte-grand");
        }
        if self.prefs.contrast {
            c.push("contraste");
        }
        c.join(" ")
    }
}

/// Extractor for everything a page needs to build its [`Layout`].
pub struct Ctx {
    pub user: Option<Arc<CurrentUser>>,
    pub prefs: Prefs,
    pub path: String,
    pub csrf: Option<CsrfToken>,
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Ctx {
            user: parts.extensions.get::<Arc<CurrentUser>>().cloned(),
            prefs: Prefs::from_cookie(cookie(&parts.headers, PREFS_COOKIE)),
            path: parts.uri.path().to_owned(),
            csrf: parts.extensions.get::<CsrfToken>().cloned(),
        })
    }
}

impl Ctx {
    /// The token for a form on this page.
    pub fn csrf(&self) -> String {
        self.csrf.as_ref().map(CsrfToken::value).unwrap_or_default()
    }

    pub fn layout(&self, title: impl Into<String>) -> Layout {
        Layout {
            title: title.into(),
            prefs: self.prefs,
            back: url_encode(&self.path),
            user_name: self.user.as_ref().map(|u| u.user.display_name.clone()),
            is_admin: self.user.as_ref().is_some_and(|u| u.is_admin()),
            reads_everything: self.user.as_ref().is_some_and(|u| u.reads_everything()),
            csrf: if self.user.is_some() {
                self.csrf()
            } else {
                String::new()
            },
            territory: None,
            back_office: false,
        }
    }

    pub fn public_layout(&self, title: impl Into<String>, slug: &str, name: &str) -> Layout {
        let mut l = self.layout(title);
        l.territory = Some(NavTerritory {
            slug: slug.to_owned(),
            name: name.to_owned(),
        });
        l
    }

    pub fn admin_layout(&self, title: impl Into<String>) -> Layout {
        let mut l = self.layout(title);
        l.back_office = true;
        l
    }
}

/// Messages of a refused form, by field name.
#[derive(Debug, Clone, Default)]
pub struct FormErrors(pub Vec<(&'static str, String)>);

impl FormErrors {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn push(&mut self, field: &'static str, msg: impl Into<String>) {
        self.0.push((field, msg.into()));
    }

    pub fn all(&self) -> &[(&'static str, String)] {
        &self.0
    }
}

/// Split text typed in a textarea into paragraphs (blank-line separated);
/// each is escaped by the template.
pub fn paragraphs(text: &str) -> Vec<String> {
    text.split("\n\n")
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub l: Layout,
    pub status: u16,
    pub message: String,
}

impl ErrorPage {
    /// Rendered without a request context: plain layout.
    pub fn render(status: u16, title: &str, message: &str) -> Html<String> {
        let page = ErrorPage {
            l: Layout {
                title: title.to_owned(),
                prefs: Prefs::default(),
                back: "/".into(),
                user_name: None,
                is_admin: false,
                reads_everything: false,
                csrf: String::new(),
                territory: None,
                back_office: false,
            },
            status,
            message: message.to_owned(),
        };
        Html(
            page.render()
                .unwrap_or_else(|_| format!("<h1>{status}</h1>")),
        )
    }
}

/// `244474` → `244 474` (narrow no-break space, as French typography wants).
pub fn thousands(n: i64) -> String {
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}
