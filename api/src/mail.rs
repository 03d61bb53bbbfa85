//! Email: sign-in and invitation links, sent through the SMTP server `smtp_url` names (lettre),
//! or written to the log when there is none.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::Config;

/// How the server sends its emails.
#[derive(Clone)]
pub enum Mailer {
    Smtp {
        transport: Box<AsyncSmtpTransport<Tokio1Executor>>,
        from: Box<Mailbox>,
    },
    /// No SMTP server: the link goes to the server log (development, `make run`).
    Log,
}

/// A message for one person.
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    /// The link the message carries, written to the log when there is no SMTP server.
    pub link: String,
}

/// `Name <address>` or a bare address.
pub fn mailbox(text: &str) -> Option<Mailbox> {
    text.parse().ok()
}

impl Mailer {
    /// Checks `smtp_url` without connecting.
    pub fn check(config: &Config) -> Result<(), String> {
        Self::from_config(config).map(drop)
    }

    pub fn from_config(config: &Config) -> Result<Self, String> {
        if config.smtp_url.is_empty() {
            return Ok(Mailer::Log);
        }
        let scheme_ok = ["smtp://", "smtps://"]
            .iter()
            .any(|p| config.smtp_url.starts_with(p));
        if !scheme_ok {
            return Err("must be an smtp:// or smtps:// URL".into());
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&config.smtp_url)
            .map_err(|e| format!("is not a usable SMTP URL: {e}"))?
            .timeout(Some(Duration::from_secs(20)))
            .build();
        let from = mailbox(&config.email_from).ok_or("email_from is not an address")?;
        Ok(Mailer::Smtp {
            transport: Box::new(transport),
            from: Box::new(from),
        })
    }

    /// Whether emails really go out.
    pub fn sends(&self) -> bool {
        matches!(self, Mailer::Smtp { .. })
    }

    /// Sends `mail`; a failure is logged and counted, and returned to callers that can show
    /// it to the person who asked (an administrator inviting someone).
    pub async fn send(&self, mail: Mail) -> Result<(), String> {
        match self {
            Mailer::Log => {
                tracing::warn!(
                    to = %mail.to,
                    link = %mail.link,
                    "no smtp_url is set: this email's link is logged instead of sent"
                );
                metrics::counter!("tandem_emails_total", "outcome" => "logged").increment(1);
                Ok(())
            }
            Mailer::Smtp { transport, from } => {
                let result = async {
                    let to: Mailbox = mail.to.parse().map_err(|e| format!("{e}"))?;
                    let message = Message::builder()
                        .from((**from).clone())
                        .to(to)
                        .subject(mail.subject)
                        .header(ContentType::TEXT_PLAIN)
                        .body(mail.text)
                        .map_err(|e| e.to_string())?;
                    transport
                        .send(message)
                        .await
                        .map(drop)
                        .map_err(|e| e.to_string())
                }
                .await;
                match &result {
                    Ok(()) => {
                        metrics::counter!("tandem_emails_total", "outcome" => "sent").increment(1)
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "could not send an email");
                        metrics::counter!("tandem_emails_total", "outcome" => "failed")
                            .increment(1);
                    }
                }
                result
            }
        }
    }
}
