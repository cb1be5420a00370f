//! The [`Mailer`] port (SES's sent-mail store, with injected throttling) and the [`Alerter`]
//! port (what reached the Discord webhook).

use super::SimWorld;
use crate::domain::{Alert, Mail};
use crate::ports::{Alerter, Mailer, PortError, PortResult};
use async_trait::async_trait;

impl SimWorld {
    pub fn mails(&self) -> Vec<Mail> {
        self.lock().mails.clone()
    }

    pub fn alerts(&self) -> Vec<Alert> {
        self.lock().alerts.clone()
    }
}

#[async_trait]
impl Mailer for SimWorld {
    async fn send_mail(&self, mail: &Mail) -> PortResult<String> {
        let mut s = self.lock();
        if s.inject_failure(|c| c.mail_failure_rate) {
            return Err(PortError::unavailable(
                "SES",
                "Throttling: Maximum sending rate exceeded (injected)",
            ));
        }
        s.mails.push(mail.clone());
        Ok(format!("ses-{:08}", s.mails.len()))
    }
}

#[async_trait]
impl Alerter for SimWorld {
    async fn alert(&self, alert: &Alert) -> PortResult<()> {
        self.lock().alerts.push(alert.clone());
        Ok(())
    }
}
