//! Mail adapters behind auth-domain's `Mailer` port — SMTP through lettre for production, one
//! `.eml` file per message in a folder as the zero-setup default — and the background worker
//! that delivers the outbox.
//!
//! Both adapters build the same RFC 5322 message (lettre's builder): `From` (`MAIL_FROM`),
//! `To`, `Subject`, `Date`, `Message-ID`, and a `text/plain; charset=utf-8` body.

mod file;
mod smtp;
mod worker;

use auth_domain::mail::{MailError, MailMessage};
use lettre::message::{Mailbox, SinglePart};
use lettre::{Address, Message};
use uuid::Uuid;

pub use file::FileMailer;
pub use smtp::SmtpMailer;
pub use worker::{spawn_delivery_worker, DeliveryWorker, WakingOutbox};

/// Why a mail adapter could not be set up; each names the variable to fix.
#[derive(Debug, thiserror::Error)]
pub enum MailSetupError {
    #[error("MAIL_FROM: {0}")]
    Sender(String),
    #[error("SMTP_URL: {0}")]
    Smtp(String),
    #[error("MAIL_DIR: {0}")]
    Directory(String),
}

/// Parses the sender of every mail: `no-reply@example.com` or `Name <no-reply@example.com>`.
pub fn parse_sender(raw: &str) -> Result<Mailbox, MailSetupError> {
    raw.trim().parse::<Mailbox>().map_err(|error| {
        MailSetupError::Sender(format!(
            "{raw:?} is not a mailbox ({error}); use addr@domain or \"Name <addr@domain>\""
        ))
    })
}

/// The message as both adapters write it.
fn build(from: &Mailbox, message: &MailMessage) -> Result<Message, MailError> {
    let to =
        message.to.as_str().parse::<Address>().map_err(|error| {
            MailError::permanent(format!("recipient address not usable: {error}"))
        })?;
    // The sender's domain names the Message-ID, so it does not depend on the host name.
    let message_id = format!("<{}@{}>", Uuid::new_v4().simple(), from.email.domain());
    Message::builder()
        .from(from.clone())
        .to(Mailbox::new(None, to))
        .subject(message.subject.clone())
        .message_id(Some(message_id))
        .singlepart(SinglePart::plain(message.text.clone()))
        .map_err(|error| MailError::permanent(format!("message could not be built: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_domain::Email;

    #[test]
    fn sender_accepts_plain_and_named_addresses_and_names_the_variable_otherwise() {
        assert!(parse_sender("no-reply@example.com").is_ok());
        assert!(parse_sender("Auth Server <no-reply@example.com>").is_ok());
        let error = parse_sender("not a mailbox").unwrap_err().to_string();
        assert!(error.starts_with("MAIL_FROM: "), "{error}");
    }

    #[test]
    fn message_has_the_rfc_5322_headers() {
        let from = parse_sender("Auth <no-reply@example.com>").unwrap();
        let message = MailMessage {
            to: Email::parse("ann@example.com").unwrap(),
            subject: "Hello".into(),
            text: "line one\nline two\n".into(),
        };
        let formatted = String::from_utf8(build(&from, &message).unwrap().formatted()).unwrap();
        for header in [
            "From: Auth <no-reply@example.com>\r\n",
            "To: ann@example.com\r\n",
            "Subject: Hello\r\n",
            "MIME-Version: 1.0\r\n",
            "Content-Type: text/plain; charset=utf-8\r\n",
        ] {
            assert!(formatted.contains(header), "{header:?} in {formatted}");
        }
        assert!(formatted.contains("\r\nDate: "), "{formatted}");
        assert!(
            formatted.contains("@example.com>\r\n"),
            "Message-ID: {formatted}"
        );
    }
}
