//! Domain types: projects, payments, cancels, goal achievements, mails, alerts.
//!
//! JSON is camelCase everywhere, like the queue envelope. Amounts are integer minor units.

use crate::money::{Currency, Money};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub type Timestamp = DateTime<Utc>;

/// The seed's `status` value that marks a payment attempt as failed before it reaches the gateway.
pub const SEED_STATUS_FAILED: i64 = 2;

/// What a backer's checkout asks for: the `payment_attempt` payload (also the broker body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentAttempt {
    pub payment_id: String,
    pub project_id: String,
    pub backer_email: String,
    pub amount: i64,
    pub currency: Currency,
    /// Card token for the gateway (`tok_approve`, `tok_decline`, `tok_error` in the sandbox).
    pub card: String,
    /// The seed's status flag; `2` means the attempt already failed upstream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<i64>,
}

impl PaymentAttempt {
    pub fn money(&self) -> Money {
        Money::new(self.amount, self.currency)
    }
}

/// A request to cancel (refund) one payment; `cancelId` is its idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentCancel {
    pub cancel_id: String,
    pub payment_id: String,
    pub project_id: String,
    pub reason: String,
}

/// A project reached its goal at `achievedAt`; payments after it are to be cancelled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GoalAchievement {
    pub project_id: String,
    pub achieved_at: Timestamp,
    /// The check `transaction_check` runs again once the ledger's index has settled, for
    /// payments written while the first check ran.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub second_check: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailTemplate {
    /// "Thank you, your payment was approved."
    Receipt,
    /// "Your payment was cancelled and refunded."
    Refund,
    /// "Your card was declined; nothing was charged."
    Declined,
}

/// The `send_email` payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MailRequest {
    pub template: MailTemplate,
    pub payment_id: String,
    pub project_id: String,
    pub to: String,
    pub amount: Money,
}

impl MailRequest {
    /// One mail per template and payment, however often the message is delivered.
    pub fn idempotency_key(&self) -> String {
        let t = match self.template {
            MailTemplate::Receipt => "receipt",
            MailTemplate::Refund => "refund",
            MailTemplate::Declined => "declined",
        };
        format!("mail#{t}#{}", self.payment_id)
    }

    pub fn subject(&self) -> String {
        match self.template {
            MailTemplate::Receipt => format!("Thank you for backing {}", self.project_id),
            MailTemplate::Refund => format!("Your payment to {} was refunded", self.project_id),
            MailTemplate::Declined => {
                format!("Your payment to {} did not go through", self.project_id)
            }
        }
    }

    pub fn text(&self) -> String {
        match self.template {
            MailTemplate::Receipt => format!(
                "Your payment {} of {} to {} was approved.",
                self.payment_id, self.amount, self.project_id
            ),
            MailTemplate::Refund => format!(
                "{} reached its goal before your payment {} arrived, so {} was refunded to your card.",
                self.project_id, self.payment_id, self.amount
            ),
            MailTemplate::Declined => format!(
                "Your card was declined for payment {} of {} to {}. Nothing was charged; you can back the project again with another card.",
                self.payment_id, self.amount, self.project_id
            ),
        }
    }
}

/// The `approve_payment` payload: raise the project's amount by this payment, once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FundingRaise {
    pub payment_id: String,
    pub project_id: String,
    pub amount: Money,
    /// When the payment was approved (the ledger's `paidAt`): a raise that reaches the goal
    /// dates the goal to it, not to when the raise was applied. Absent in older messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<Timestamp>,
}

/// The `reverse_funding` payload: take a cancelled payment back out of the project's amount, once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FundingReversal {
    pub payment_id: String,
    pub project_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Approved,
    Declined,
    Cancelled,
}

impl PaymentStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            PaymentStatus::Approved => "approved",
            PaymentStatus::Declined => "declined",
            PaymentStatus::Cancelled => "cancelled",
        }
    }
}

/// One item of the `payments` ledger table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRecord {
    pub payment_id: String,
    pub project_id: String,
    pub backer_email: String,
    pub amount: Money,
    pub status: PaymentStatus,
    pub paid_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<Timestamp>,
}

/// A project as the funding API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    pub id: String,
    pub title: String,
    pub goal: i64,
    pub currency: Currency,
    pub raised: i64,
    pub backers: u32,
    pub deadline: Timestamp,
    #[serde(default)]
    pub goal_achieved_at: Option<Timestamp>,
}

impl Project {
    /// Raised as a fraction of the goal (0.0 ..; above 1.0 when over-funded). For display only.
    pub fn progress(&self) -> f64 {
        if self.goal <= 0 {
            return 0.0;
        }
        self.raised as f64 / self.goal as f64
    }
}

/// A project's levels as the funding API reads them in one snapshot right after a raise or a
/// reversal. Beside the current raised amount and backers it keeps what was reversed, so that
/// `raised_ever` and `pledges` only grow: of several snapshots sent as metrics, in whatever
/// order, the latest is then the maximum, which is what CloudWatch's `Maximum` reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectLevels {
    pub goal: i64,
    pub raised: i64,
    pub backers: u32,
    /// Amount taken back out by reversals, ever.
    pub reversed: i64,
    /// Reversals applied, ever.
    pub reversals: u32,
}

impl ProjectLevels {
    /// Everything ever raised, reversals not subtracted: raised + reversed.
    pub fn raised_ever(&self) -> i64 {
        self.raised + self.reversed
    }

    /// Every raise ever applied: backers + reversals.
    pub fn pledges(&self) -> u32 {
        self.backers + self.reversals
    }
}

/// A message to the on-call channel (Discord).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub title: String,
    pub queue: String,
    pub message_id: String,
    pub kind: String,
    pub attempts: u32,
    pub reason: String,
    /// Where the message now waits for a person.
    pub parked_in: String,
    pub at: Timestamp,
    /// How many messages of this cause were parked since the previous alert of it; the alert
    /// names one of them (`message_id`).
    #[serde(default = "one")]
    pub count: u64,
}

fn one() -> u64 {
    1
}

/// The DLQ handler's note to itself, sent to `etc_dlq` with a delay when a cause's alert window
/// opens: when it comes back, the window is closed and one alert carries its count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertDigest {
    pub cause_key: String,
    /// The cause, as the console groups it (redacted).
    pub cause: String,
    /// The first parked message of the window: where it came from, its kind and id.
    pub queue: String,
    pub kind: String,
    pub message_id: String,
    pub opened_at: Timestamp,
}

/// A mail as handed to the mailer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub idempotency_key: String,
}

impl From<&MailRequest> for Mail {
    fn from(r: &MailRequest) -> Self {
        Mail {
            to: r.to.clone(),
            subject: r.subject(),
            text: r.text(),
            idempotency_key: r.idempotency_key(),
        }
    }
}
