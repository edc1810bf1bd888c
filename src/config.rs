//! Configuration: working defaults, overridden by a TOML file
//! (`--config FILE`, see [`FileSettings`]), then by `MAILLAGE_…` environment
//! variables, then by command-line flags (clap reads both, see `cli.rs`).

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
    /// Serve `GET /metrics` (Prometheus text format); off by default.
    pub metrics: bool,
    /// When set, `/metrics` wants `Authorization: Bearer <token>` from any
    /// caller; without it, only unproxied loopback callers may read it.
    pub metrics_token: Option<String>,
    /// Text messages: off (`None`) unless a provider is configured.
    pub sms: Option<crate::messaging::sms::SmsSettings>,
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
            metrics: false,
            metrics_token: None,
            sms: None,
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
            .field("metrics", &self.metrics)
            .field("sms", &self.sms)
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

/// The settings a `--config` file may hold: the long names of the flags of
/// `maillage serve` (and the global `database-url`), in TOML. A key that is
/// not one of them is an error naming the key and the file.
///
/// ```toml
/// database-url = "postgres://maillage@localhost/maillage"
/// addr = "127.0.0.1:8080"
/// public-url = "https://cls.exemple.fr"
/// registration-retention-days = 60
/// ```
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FileSettings {
    pub database_url: Option<String>,
    pub addr: Option<String>,
    pub public_url: Option<String>,
    pub demo: Option<bool>,
    pub trust_proxy: Option<bool>,
    pub public_cache_ms: Option<u64>,
    pub upload_dir: Option<std::path::PathBuf>,
    pub document_dir: Option<std::path::PathBuf>,
    pub smtp_url: Option<String>,
    pub mail_from: Option<String>,
    pub registration_retention_days: Option<i64>,
    pub metrics: Option<bool>,
    pub metrics_token: Option<String>,
    pub sms_provider: Option<String>,
    pub sms_url: Option<String>,
    pub sms_api_key: Option<String>,
    pub sms_sender: Option<String>,
    pub sms_callback_secret: Option<String>,
    pub sms_reminder_days: Option<u32>,
}

impl FileSettings {
    pub fn parse(text: &str, origin: &std::path::Path) -> anyhow::Result<FileSettings> {
        toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| format!(", ligne {}", text[..s.start].matches('\n').count() + 1))
                .unwrap_or_default();
            anyhow::anyhow!(
                "fichier de configuration {}{line} : {}",
                origin.display(),
                e.message().trim()
            )
        })
    }

    pub fn load(path: &std::path::Path) -> anyhow::Result<FileSettings> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("fichier de configuration {} : {e}", path.display()))?;
        Self::parse(&text, path)
    }
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
    fn file_settings_name_an_unknown_key_and_the_file() {
        let path = std::path::Path::new("/etc/maillage.toml");
        let ok = super::FileSettings::parse(
            "addr = \"0.0.0.0:80\"\nregistration-retention-days = 30\n",
            path,
        )
        .unwrap();
        assert!(ok.addr.unwrap().ends_with(":80"));
        assert_eq!(ok.registration_retention_days, Some(30));
        let err = super::FileSettings::parse("adress = \"x\"\n", path)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("adress") && err.contains("/etc/maillage.toml"),
            "{err}"
        );
    }

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
