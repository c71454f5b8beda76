//! The SMTP mailer: lettre's tokio transport, with rustls for `smtps://` and STARTTLS.

use std::time::Duration;

use async_trait::async_trait;
use auth_domain::mail::{MailError, MailMessage};
use auth_domain::ports::Mailer;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{build, MailSetupError};
use crate::db::redacted;

/// Sends through an SMTP server named by a URL:
/// `smtp://host:port` (plain, default port 25), `smtp://user:pass@host:587?tls=required`
/// (STARTTLS), `smtps://user:pass@host` (TLS from the start, default port 465). One
/// connection per message; each step waits at most `timeout`.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    server: String,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("server", &self.server)
            .field("from", &self.from.to_string())
            .finish()
    }
}

impl SmtpMailer {
    pub fn new(url: &str, from: Mailbox, timeout: Duration) -> Result<Self, MailSetupError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.trim())
            .map_err(|error| {
                MailSetupError::Smtp(format!(
                    "{} is not usable ({error}); expected smtp://host:port, \
                     smtp://user:pass@host:587?tls=required or smtps://user:pass@host",
                    redacted(url.trim())
                ))
            })?
            .timeout(Some(timeout))
            .build();
        Ok(Self {
            transport,
            from,
            server: redacted(url.trim()),
        })
    }

    /// The server's URL with any password hidden, for the log.
    pub fn server(&self) -> &str {
        &self.server
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, message: &MailMessage) -> Result<(), MailError> {
        let email = build(&self.from, message)?;
        match self.transport.send(email).await {
            Ok(_) => Ok(()),
            Err(error) if error.is_permanent() => Err(MailError::permanent(error)),
            Err(error) => Err(MailError::transient(error)),
        }
    }
}
