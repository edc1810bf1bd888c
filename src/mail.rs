//! Outgoing e-mail over SMTP (lettre). The relay is named by
//! `MAILLAGE_SMTP_URL` = `smtp://[user:password@]host[:port]` (plain SMTP to
//! a local or trusted relay, which handles TLS onwards); without it, nothing
//! is sent and pages show the links people need instead.

use lettre::message::header::ContentType;
use lettre::message::{Body, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    pub fn new(url: &str, from: &str) -> anyhow::Result<Mailer> {
        let rest = url
            .strip_prefix("smtp://")
            .ok_or_else(|| anyhow::anyhow!("MAILLAGE_SMTP_URL doit commencer par smtp://"))?;
        let rest = rest.trim_end_matches('/');
        let (creds, hostport) = match rest.rsplit_once('@') {
            Some((c, h)) => (Some(c), h),
            None => (None, rest),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>()?),
            None => (hostport, 25),
        };
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).port(port);
        if let Some(c) = creds {
            let (u, p) = c.split_once(':').unwrap_or((c, ""));
            b = b.credentials(Credentials::new(u.to_owned(), p.to_owned()));
        }
        Ok(Mailer {
            transport: b.build(),
            from: from.parse()?,
        })
    }

    pub async fn send(&self, to: &str, subject: &str, text: &str) -> anyhow::Result<()> {
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
}
