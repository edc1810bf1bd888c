//! Configuration: working defaults, overridden by `MAILLAGE_…` environment
//! variables and command-line flags (clap reads both, see `cli.rs`).

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Clone)]
pub struct Config {
    /// `sqlite://maillage.db` or `postgres://…`. May hold a password: redacted in `Debug`.
    pub database_url: String,
    pub addr: SocketAddr,
    /// The address people use to reach the site (links printed by commands).
    pub public_url: String,
    /// Mark cookies `Secure`. On by default when `public_url` is https.
    pub cookie_secure: bool,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    pub request_timeout: Duration,
    pub session_lifetime: chrono::Duration,
    /// Wrong passwords allowed per account in the window.
    pub login_attempts: i64,
    /// Wrong passwords allowed per client address in the window, all
    /// accounts together (much higher: a community centre shares one
    /// address). A browser that signed into an account before is not held
    /// back by its address's limit for that account (a device cookie).
    pub login_address_attempts: i64,
    pub login_window: chrono::Duration,
    /// Trust `X-Forwarded-For` from a reverse proxy to find the client address.
    pub trust_proxy: bool,
    /// Where uploaded import files wait for their job (shared by the server
    /// processes that run jobs).
    pub upload_dir: std::path::PathBuf,
    /// Largest import file accepted from the back office, in bytes.
    pub upload_limit: usize,
    /// Where attached documents (PDF, ODT, DOCX) are kept: `None` stores them
    /// in the database (the default), a directory stores them on disk.
    pub document_dir: Option<std::path::PathBuf>,
    /// Largest attached document, in bytes.
    pub document_limit: usize,
    /// How long this process may serve an anonymous public page from its
    /// memory (see `web::microcache`); zero disables the cache.
    pub public_cache_ttl: Duration,
    /// `smtp://[user:password@]host[:port]`; no e-mail is sent without it.
    pub smtp_url: Option<String>,
    /// Sender of the e-mails (`Nom <adresse>`).
    pub mail_from: String,
    /// Registrations are deleted this many days after their session ended.
    pub registration_retention_days: i64,
    /// Reminder e-mails go out this many hours before a session.
    pub reminder_hours: i64,
    /// Public participation forms sent sooner than this after being shown are
    /// refused as automatic (anti-spam; tests set 0).
    pub form_min_fill_secs: i64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: "sqlite://maillage.db".into(),
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: "http://127.0.0.1:8080".into(),
            cookie_secure: false,
            body_limit: 2 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            session_lifetime: chrono::Duration::days(7),
            login_attempts: 5,
            login_address_attempts: 100,
            login_window: chrono::Duration::minutes(15),
            trust_proxy: false,
            upload_dir: "uploads".into(),
            upload_limit: 1024 * 1024 * 1024,
            document_dir: None,
            document_limit: 20 * 1024 * 1024,
            public_cache_ttl: Duration::from_secs(2),
            smtp_url: None,
            mail_from: "Maillage <ne-pas-repondre@maillage.invalid>".into(),
            registration_retention_days: 90,
            reminder_hours: 24,
            form_min_fill_secs: 3,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact_url(&self.database_url))
            .field("addr", &self.addr)
            .field("public_url", &self.public_url)
            .field("cookie_secure", &self.cookie_secure)
            .field("body_limit", &self.body_limit)
            .field("request_timeout", &self.request_timeout)
            .field("trust_proxy", &self.trust_proxy)
            .field("public_cache_ttl", &self.public_cache_ttl)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field(
                "registration_retention_days",
                &self.registration_retention_days,
            )
            .finish_non_exhaustive()
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        if let Some((creds, host)) = rest.split_once('@') {
            if let Some((user, _)) = creds.split_once(':') {
                return format!("{scheme}://{user}:***@{host}");
            }
        }
    }
    url.to_owned()
}

impl Config {
    /// Where attached documents are kept.
    pub fn document_store(&self) -> crate::storage::documents::Store {
        match &self.document_dir {
            Some(d) => crate::storage::documents::Store::Disk(d.clone()),
            None => crate::storage::documents::Store::Database,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        let c = super::Config {
            database_url: "postgres://u:s3cret@h/db".into(),
            ..Default::default()
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cret"));
        assert!(shown.contains("postgres://u:***@h/db"));
    }
}
