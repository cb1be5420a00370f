//! SES v2 adapter: [`Mailer`] sending a plain-text mail from one verified sender address.

use super::port_error;
use async_trait::async_trait;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use crowdfund_core::domain::Mail;
use crowdfund_core::ports::{Mailer, PortError, PortResult};

const SERVICE: &str = "SES";
/// Sender used when none is configured (`CROWDFUND_MAIL_FROM`); provisioning verifies it.
pub const DEFAULT_MAIL_FROM: &str = "payments@crowdfund.example";

#[derive(Debug, Clone)]
pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
    from: String,
}

impl SesMailer {
    pub fn new(client: aws_sdk_sesv2::Client, from: impl Into<String>) -> Self {
        SesMailer {
            client,
            from: from.into(),
        }
    }

    pub fn from_address(&self) -> &str {
        &self.from
    }
}

fn content(text: &str) -> PortResult<Content> {
    Content::builder()
        .data(text)
        .charset("UTF-8")
        .build()
        .map_err(|e| PortError::Rejected(format!("SES mail content: {e}")))
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send_mail(&self, mail: &Mail) -> PortResult<String> {
        let message = Message::builder()
            .subject(content(&mail.subject)?)
            .body(Body::builder().text(content(&mail.text)?).build())
            .build();
        let out = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(&mail.to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| port_error(SERVICE, &format!("mail to {}", mail.to), e))?;
        Ok(out.message_id().unwrap_or_default().to_string())
    }
}
