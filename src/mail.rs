//! Outgoing e-mail over SMTP (lettre, TLS by rustls). The relay is named by
//! `MAILLAGE_SMTP_URL`; without it, nothing is sent and pages show the links
//! people need instead.
//!
//! | URL | connection |
//! | --- | --- |
//! | `smtp://[user:password@]host[:port]` | plain SMTP (port 25), to a local or trusted relay |
//! | `smtp://…?tls=starttls` | STARTTLS required (port 587): no mail goes out if the relay does not offer it or the certificate is not valid |
//! | `smtps://[user:password@]host[:port]` | implicit TLS from the first byte (port 465) |
//!
//! Certificates are checked against the Mozilla roots (webpki-roots), for
//! the host name of the URL.

use lettre::message::header::ContentType;
use lettre::message::{Body, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// No TLS (a relay on this machine or a trusted network).
    Plain,
    /// STARTTLS, required: the message is not sent without it.
    StartTls,
    /// TLS from the start of the connection (`smtps://`).
    Implicit,
}

/// A parsed `MAILLAGE_SMTP_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub credentials: Option<(String, String)>,
}

impl SmtpSettings {
    pub fn parse(url: &str) -> anyhow::Result<SmtpSettings> {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            anyhow::anyhow!("MAILLAGE_SMTP_URL doit commencer par smtp:// ou smtps://")
        })?;
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let mut tls = None;
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("tls", v)) => tls = Some(v.to_ascii_lowercase()),
                _ => anyhow::bail!(
                    "MAILLAGE_SMTP_URL : paramètre inconnu « {pair} » (seul tls=starttls est reconnu)"
                ),
            }
        }
        let security = match (scheme.to_ascii_lowercase().as_str(), tls.as_deref()) {
            ("smtp", None) => Security::Plain,
            ("smtp", Some("starttls" | "required")) => Security::StartTls,
            ("smtps", None) => Security::Implicit,
            (s, Some(t)) if s == "smtp" || s == "smtps" => anyhow::bail!(
                "MAILLAGE_SMTP_URL : tls={t} non reconnu (smtp://…?tls=starttls, ou smtps://…)"
            ),
            (s, _) => anyhow::bail!(
                "MAILLAGE_SMTP_URL : schéma « {s} » non reconnu (smtp:// ou smtps://)"
            ),
        };
        let rest = rest.trim_end_matches('/');
        let (creds, hostport) = match rest.rsplit_once('@') {
            Some((c, h)) => (Some(c), h),
            None => (None, rest),
        };
        let default_port = match security {
            Security::Plain => 25,
            Security::StartTls => 587,
            Security::Implicit => 465,
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| anyhow::anyhow!("MAILLAGE_SMTP_URL : port « {p} » invalide"))?,
            ),
            None => (hostport, default_port),
        };
        if host.is_empty() {
            anyhow::bail!("MAILLAGE_SMTP_URL : hôte manquant");
        }
        let credentials = creds.map(|c| {
            let (u, p) = c.split_once(':').unwrap_or((c, ""));
            (u.to_owned(), p.to_owned())
        });
        Ok(SmtpSettings {
            host: host.to_owned(),
            port,
            security,
            credentials,
        })
    }

    fn transport(&self) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
        let tls = match self.security {
            Security::Plain => Tls::None,
            Security::StartTls => Tls::Required(TlsParameters::new(self.host.clone())?),
            Security::Implicit => Tls::Wrapper(TlsParameters::new(self.host.clone())?),
        };
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
            .port(self.port)
            .tls(tls);
        if let Some((u, p)) = &self.credentials {
            b = b.credentials(Credentials::new(u.clone(), p.clone()));
        }
        Ok(b.build())
    }
}

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    pub security: Security,
    /// Messages handed to the mailer and not yet accepted or refused by the
    /// relay; the counters below. Shared with `/metrics` (`web::ops`).
    pub(crate) in_flight: Gauge,
    pub(crate) sent: Counter,
    pub(crate) failed: Counter,
}

/// What the mailer did since the process started.
#[derive(Debug, Clone, Copy, Default)]
pub struct MailStats {
    /// Messages handed to the mailer and not yet accepted or refused by the relay.
    pub queued: u64,
    pub sent: u64,
    pub failed: u64,
}

impl Mailer {
    pub fn new(url: &str, from: &str) -> anyhow::Result<Mailer> {
        let settings = SmtpSettings::parse(url)?;
        Ok(Mailer {
            transport: settings.transport()?,
            from: from.parse()?,
            security: settings.security,
            in_flight: Gauge::default(),
            sent: Counter::default(),
            failed: Counter::default(),
        })
    }

    pub fn stats(&self) -> MailStats {
        MailStats {
            queued: self.in_flight.get().max(0) as u64,
            sent: self.sent.get(),
            failed: self.failed.get(),
        }
    }

    pub async fn send(&self, to: &str, subject: &str, text: &str) -> anyhow::Result<()> {
        self.in_flight.inc();
        let result = self.send_now(to, subject, text).await;
        self.in_flight.dec();
        if result.is_ok() {
            self.sent.inc();
        } else {
            self.failed.inc();
        }
        result
    }

    async fn send_now(&self, to: &str, subject: &str, text: &str) -> anyhow::Result<()> {
        // 7bit, quoted-printable or base64, whichever lettre finds best.
        let body = Body::new(text.to_owned());
        let msg = Message::builder()
            .from(self.from.clone())
            .to(to.parse()?)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)?;
        self.transport.send(msg).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Security, SmtpSettings};

    #[test]
    fn urls() {
        assert!(super::Mailer::new(
            "smtp://127.0.0.1:2525",
            "Maillage <ne-pas-repondre@maillage.test>"
        )
        .is_ok());
        assert!(super::Mailer::new("smtp://u:p@relay.example:587", "a@b.test").is_ok());
        assert!(super::Mailer::new("http://x", "a@b.test").is_err());
    }

    #[test]
    fn tls_modes_and_default_ports() {
        let plain = SmtpSettings::parse("smtp://relay.example").unwrap();
        assert_eq!((plain.security, plain.port), (Security::Plain, 25));
        let starttls = SmtpSettings::parse("smtp://u:p%w@relay.example?tls=starttls").unwrap();
        assert_eq!(
            (starttls.security, starttls.port),
            (Security::StartTls, 587)
        );
        assert_eq!(
            starttls.credentials,
            Some(("u".to_owned(), "p%w".to_owned()))
        );
        assert_eq!(starttls.host, "relay.example");
        let required = SmtpSettings::parse("smtp://relay.example:2587/?tls=required").unwrap();
        assert_eq!(
            (required.security, required.port),
            (Security::StartTls, 2587)
        );
        let email_user = SmtpSettings::parse("smtps://cls@exemple.fr:s:e@relay.example").unwrap();
        assert_eq!(
            email_user.credentials,
            Some(("cls@exemple.fr".to_owned(), "s:e".to_owned()))
        );
        let implicit = SmtpSettings::parse("smtps://u:p@relay.example").unwrap();
        assert_eq!(
            (implicit.security, implicit.port),
            (Security::Implicit, 465)
        );
        assert_eq!(
            SmtpSettings::parse("SMTPS://relay.example:4650")
                .unwrap()
                .port,
            4650
        );
        for bad in [
            "smtp://relay.example?tls=opportunistic",
            "smtps://relay.example?tls=starttls",
            "smtp://relay.example?starttls",
            "smtp://relay.example:port",
            "smtp://",
            "imap://relay.example",
        ] {
            assert!(SmtpSettings::parse(bad).is_err(), "{bad}");
        }
        assert!(super::Mailer::new("smtps://relay.example", "a@b.test").is_ok());
    }
}
