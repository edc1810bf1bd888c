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
    /// The current path (not encoded): the menu and the breadcrumb follow it.
    pub path: String,
    /// A message left by the form that led here (« Enregistré. »).
    pub flash: Option<String>,
}

/// An entry of the territory's main menu.
pub struct MenuItem {
    pub href: String,
    pub label: &'static str,
    pub current: bool,
}

/// A step of the breadcrumb; the last one (the page itself) has no link.
pub struct Crumb {
    pub href: Option<String>,
    pub label: String,
}

/// The main menu of a territory's public site: path segment, label.
const MENU: [(&str, &str); 6] = [
    ("permanences", "Permanences"),
    ("agenda", "Agenda"),
    ("annuaire", "Annuaire"),
    ("participer", "Participer"),
    ("contrat", "Le contrat"),
    ("contact", "Contact"),
];

/// Which menu entry a public path belongs to.
fn public_section(segment: &str) -> Option<&'static str> {
    Some(match segment {
        "permanences" | "permanences.ics" => "permanences",
        "agenda" | "agenda.ics" | "evenements" | "inscriptions" => "agenda",
        "annuaire" => "annuaire",
        "participer" | "groupes" | "consultations" | "idees" => "participer",
        "contrat" | "actions" | "documents" | "diagnostic" => "contrat",
        "contact" => "contact",
        _ => return None,
    })
}

/// Which back-office area a path belongs to: segment of its home, label.
fn admin_section(segment: &str) -> Option<(&'static str, &'static str)> {
    Some(match segment {
        "contrats" | "actions" | "indicateurs" | "documents" | "partenaires" | "suites" => {
            ("contrats", "Contrats")
        }
        "agenda" | "permanences" | "evenements" | "seances" | "lieux" | "inscriptions" => {
            ("agenda", "Agenda")
        }
        "participation" | "instances" | "reunions" | "membres" | "demandes" | "consultations"
        | "questions" | "idees" | "messages" => ("participation", "Participation"),
        "annuaire" => ("annuaire", "Annuaire"),
        "diagnostic" => ("diagnostic", "Diagnostic"),
        _ => return None,
    })
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

    /// `/t/{slug}` on a territory's pages, empty elsewhere: the footer's
    /// legal pages are the territory's own.
    pub fn site_prefix(&self) -> String {
        self.territory
            .as_ref()
            .map(|t| format!("/t/{}", t.slug))
            .unwrap_or_default()
    }

    /// The public menu of the territory, the current section marked.
    pub fn menu(&self) -> Vec<MenuItem> {
        let Some(t) = &self.territory else {
            return Vec::new();
        };
        let current = self.territory_segment().and_then(public_section);
        MENU.iter()
            .map(|(seg, label)| MenuItem {
                href: format!("/t/{}/{seg}", t.slug),
                label,
                current: current == Some(*seg),
            })
            .collect()
    }

    /// The first path segment after `/t/{slug}/` (public pages).
    fn territory_segment(&self) -> Option<&str> {
        let t = self.territory.as_ref()?;
        let rest = self.path.strip_prefix(&format!("/t/{}/", t.slug))?;
        rest.split('/').next().filter(|s| !s.is_empty())
    }

    /// Home › section › page, derived from the path: every page gets one
    /// without its handler saying anything. Empty on home pages.
    pub fn crumbs(&self) -> Vec<Crumb> {
        let mut out = Vec::new();
        let here = Crumb {
            href: None,
            label: self.title.clone(),
        };
        if let Some(rest) = self.path.strip_prefix("/admin/t/") {
            let mut segs = rest.split('/').filter(|s| !s.is_empty());
            let (Some(slug), Some(first)) = (segs.next(), segs.next()) else {
                return out;
            };
            out.push(Crumb {
                href: Some("/admin/".into()),
                label: "Tableau de bord".into(),
            });
            out.push(Crumb {
                href: Some(format!("/admin/t/{slug}/")),
                label: "Territoire".into(),
            });
            if let Some((home, label)) = admin_section(first) {
                let is_home = first == home && segs.next().is_none();
                if !is_home {
                    out.push(Crumb {
                        href: Some(format!("/admin/t/{slug}/{home}")),
                        label: label.into(),
                    });
                }
            }
            out.push(here);
            return out;
        }
        if self.path.starts_with("/admin/") && self.path != "/admin/" {
            out.push(Crumb {
                href: Some("/admin/".into()),
                label: "Tableau de bord".into(),
            });
            out.push(here);
            return out;
        }
        let Some(t) = &self.territory else {
            if self.path != "/" && !self.path.starts_with("/admin") {
                out.push(Crumb {
                    href: Some("/".into()),
                    label: "Accueil".into(),
                });
                out.push(here);
            }
            return out;
        };
        let Some(first) = self.territory_segment() else {
            return out;
        };
        out.push(Crumb {
            href: Some(format!("/t/{}/", t.slug)),
            label: "Accueil".into(),
        });
        if let Some(section) = public_section(first) {
            let root = MENU.iter().find(|(s, _)| *s == section);
            let at_root = first == section && self.path.trim_end_matches('/').ends_with(section);
            if let (Some((seg, label)), false) = (root, at_root) {
                out.push(Crumb {
                    href: Some(format!("/t/{}/{seg}", t.slug)),
                    label: (*label).into(),
                });
            }
        }
        out.push(here);
        out
    }
}

/// Extractor for everything a page needs to build its [`Layout`].
pub struct Ctx {
    pub user: Option<Arc<CurrentUser>>,
    pub prefs: Prefs,
    pub path: String,
    pub csrf: Option<CsrfToken>,
    pub flash: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Ctx {
            user: parts.extensions.get::<Arc<CurrentUser>>().cloned(),
            prefs: Prefs::from_cookie(cookie(&parts.headers, PREFS_COOKIE)),
            path: parts.uri.path().to_owned(),
            csrf: parts.extensions.get::<CsrfToken>().cloned(),
            flash: super::flash::read(&parts.headers),
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
            path: self.path.clone(),
            flash: self.flash.clone(),
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
                path: String::new(),
                flash: None,
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
