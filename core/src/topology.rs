//! The system's names and wiring, written once.
//!
//! Handlers, the console, local provisioning, dashboards and terraform all use (or are tested
//! against) this module, so a queue or function added here shows up everywhere.

use serde::Serialize;

/// SNS topics.
pub const TOPIC_PAYMENT_ATTEMPT: &str = "payment_attempt";
pub const TOPIC_SEND_EMAIL: &str = "send_email";
pub const TOPIC_APPROVE_PAYMENT: &str = "approve_payment";
pub const TOPIC_GOAL_ACHIEVEMENT: &str = "goal_achievement";

/// SQS queues.
pub const QUEUE_PAYMENT_ATTEMPT: &str = "payment_attempt_queue";
pub const QUEUE_SEND_EMAIL: &str = "send_email_queue";
pub const QUEUE_APPROVE_PAYMENT: &str = "approve_payment_queue";
pub const QUEUE_GOAL_ACHIEVEMENT: &str = "goal_achievement_queue";
/// Every work queue's redrive target.
pub const QUEUE_DLQ: &str = "etc_dlq";
/// Where the DLQ handler parks what it gave up on (after alerting); kept 14 days.
pub const QUEUE_PARKED: &str = "etc_parked";

/// Lambda functions.
pub const FN_BROKER: &str = "broker";
pub const FN_PG: &str = "pg";
pub const FN_SEND_EMAIL: &str = "send_email";
pub const FN_FUNDING_UPDATE: &str = "funding_update";
pub const FN_TRANSACTION_CHECK: &str = "transaction_check";
pub const FN_DLQ_HANDLER: &str = "dlq_handler";

/// DynamoDB payment ledger and its index for "payments of project P after time T".
pub const TABLE_PAYMENTS: &str = "payments";
pub const INDEX_PROJECT_PAID_AT: &str = "project_paid_at";
/// Partition and sort key attributes of the table and the index.
pub const ATTR_PAYMENT_ID: &str = "paymentId";
pub const ATTR_PROJECT_ID: &str = "projectId";
pub const ATTR_PAID_AT: &str = "paidAt";

/// SQS receives that a work queue allows before redriving a message to `etc_dlq`.
pub const MAX_RECEIVE_COUNT: u32 = 3;
/// The DLQ handler's retry budget: `attempts` above this alerts and parks.
pub const MAX_DLQ_ATTEMPTS: u32 = 3;
/// SQS's batch limit for receive, send and delete.
pub const SQS_BATCH_LIMIT: usize = 10;
/// SQS's upper bound for DelaySeconds.
pub const SQS_MAX_DELAY_SECONDS: u32 = 900;
/// Every function's timeout. A batch must end before it: the SQS functions stop taking messages
/// when less than [`DEADLINE_MARGIN_MILLIS`] of it is left.
pub const FUNCTION_TIMEOUT_SECONDS: u32 = 25;
/// AWS advises a trigger queue's visibility timeout of at least six times the function's
/// timeout, so a batch Lambda retries (throttling, a crash) is not redelivered mid-run.
pub const VISIBILITY_TO_TIMEOUT_RATIO: u32 = 6;
pub const DEFAULT_VISIBILITY_TIMEOUT_SECONDS: u32 =
    VISIBILITY_TO_TIMEOUT_RATIO * FUNCTION_TIMEOUT_SECONDS;
/// What an SQS function keeps of its deadline for reporting the rest of its batch and for the
/// message in hand to finish: no new message is started with less than this left.
pub const DEADLINE_MARGIN_MILLIS: u64 = 10_000;
pub const DEFAULT_RETENTION_SECONDS: u32 = 4 * 24 * 3600;
pub const PARKED_RETENTION_SECONDS: u32 = 14 * 24 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicSpec {
    pub name: &'static str,
    /// Queues subscribed with raw message delivery.
    pub subscribers: &'static [&'static str],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RedrivePolicy {
    pub target: &'static str,
    pub max_receive_count: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueSpec {
    pub name: &'static str,
    pub visibility_timeout_seconds: u32,
    pub retention_seconds: u32,
    pub redrive: Option<RedrivePolicy>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Trigger {
    /// API Gateway `POST /broker`.
    HttpPost { path: &'static str },
    /// An SQS event-source mapping with ReportBatchItemFailures.
    Queue {
        queue: &'static str,
        batch_size: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionSpec {
    pub name: &'static str,
    pub trigger: Trigger,
    pub purpose: &'static str,
    /// Lambda's timeout for the function (terraform's `timeout`).
    pub timeout_seconds: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TableSpec {
    pub name: &'static str,
    pub partition_key: &'static str,
    pub index_name: &'static str,
    pub index_partition_key: &'static str,
    pub index_sort_key: &'static str,
}

const fn work_queue(name: &'static str) -> QueueSpec {
    QueueSpec {
        name,
        visibility_timeout_seconds: DEFAULT_VISIBILITY_TIMEOUT_SECONDS,
        retention_seconds: DEFAULT_RETENTION_SECONDS,
        redrive: Some(RedrivePolicy {
            target: QUEUE_DLQ,
            max_receive_count: MAX_RECEIVE_COUNT,
        }),
    }
}

pub const TOPICS: [TopicSpec; 4] = [
    TopicSpec {
        name: TOPIC_PAYMENT_ATTEMPT,
        subscribers: &[QUEUE_PAYMENT_ATTEMPT],
    },
    TopicSpec {
        name: TOPIC_SEND_EMAIL,
        subscribers: &[QUEUE_SEND_EMAIL],
    },
    TopicSpec {
        name: TOPIC_APPROVE_PAYMENT,
        subscribers: &[QUEUE_APPROVE_PAYMENT],
    },
    TopicSpec {
        name: TOPIC_GOAL_ACHIEVEMENT,
        subscribers: &[QUEUE_GOAL_ACHIEVEMENT],
    },
];

pub const QUEUES: [QueueSpec; 6] = [
    work_queue(QUEUE_PAYMENT_ATTEMPT),
    work_queue(QUEUE_SEND_EMAIL),
    work_queue(QUEUE_APPROVE_PAYMENT),
    work_queue(QUEUE_GOAL_ACHIEVEMENT),
    QueueSpec {
        name: QUEUE_DLQ,
        visibility_timeout_seconds: DEFAULT_VISIBILITY_TIMEOUT_SECONDS,
        retention_seconds: PARKED_RETENTION_SECONDS,
        redrive: None,
    },
    QueueSpec {
        name: QUEUE_PARKED,
        visibility_timeout_seconds: DEFAULT_VISIBILITY_TIMEOUT_SECONDS,
        retention_seconds: PARKED_RETENTION_SECONDS,
        redrive: None,
    },
];

pub const FUNCTIONS: [FunctionSpec; 6] = [
    FunctionSpec {
        name: FN_BROKER,
        trigger: Trigger::HttpPost { path: "/broker" },
        purpose: "validates a request and publishes it to the topic named by `destination`",
        timeout_seconds: FUNCTION_TIMEOUT_SECONDS,
    },
    FunctionSpec {
        name: FN_PG,
        trigger: Trigger::Queue {
            queue: QUEUE_PAYMENT_ATTEMPT,
            batch_size: SQS_BATCH_LIMIT,
        },
        purpose: "charges or refunds through the payment gateway and records it in the ledger",
        timeout_seconds: FUNCTION_TIMEOUT_SECONDS,
    },
    FunctionSpec {
        name: FN_SEND_EMAIL,
        trigger: Trigger::Queue {
            queue: QUEUE_SEND_EMAIL,
            batch_size: SQS_BATCH_LIMIT,
        },
        purpose: "mails the backer a receipt or a refund notice through SES",
        timeout_seconds: FUNCTION_TIMEOUT_SECONDS,
    },
    FunctionSpec {
        name: FN_FUNDING_UPDATE,
        trigger: Trigger::Queue {
            queue: QUEUE_APPROVE_PAYMENT,
            batch_size: SQS_BATCH_LIMIT,
        },
        purpose: "raises (or reverses) the project's amount through crowdfund-api",
        timeout_seconds: FUNCTION_TIMEOUT_SECONDS,
    },
    FunctionSpec {
        name: FN_TRANSACTION_CHECK,
        trigger: Trigger::Queue {
            queue: QUEUE_GOAL_ACHIEVEMENT,
            batch_size: SQS_BATCH_LIMIT,
        },
        purpose: "cancels the payments a project received after it reached its goal",
        timeout_seconds: FUNCTION_TIMEOUT_SECONDS,
    },
    FunctionSpec {
        name: FN_DLQ_HANDLER,
        trigger: Trigger::Queue {
            queue: QUEUE_DLQ,
            batch_size: SQS_BATCH_LIMIT,
        },
        purpose: "retries failed messages with backoff, then alerts Discord and parks them",
        timeout_seconds: FUNCTION_TIMEOUT_SECONDS,
    },
];

pub const PAYMENTS_TABLE: TableSpec = TableSpec {
    name: TABLE_PAYMENTS,
    partition_key: ATTR_PAYMENT_ID,
    index_name: INDEX_PROJECT_PAID_AT,
    index_partition_key: ATTR_PROJECT_ID,
    index_sort_key: ATTR_PAID_AT,
};

pub fn queue(name: &str) -> Option<&'static QueueSpec> {
    QUEUES.iter().find(|q| q.name == name)
}

pub fn topic(name: &str) -> Option<&'static TopicSpec> {
    TOPICS.iter().find(|t| t.name == name)
}

pub fn function(name: &str) -> Option<&'static FunctionSpec> {
    FUNCTIONS.iter().find(|f| f.name == name)
}

/// The queue that receives what is published to `topic` (each topic has exactly one).
pub fn queue_of_topic(topic_name: &str) -> Option<&'static str> {
    topic(topic_name).and_then(|t| t.subscribers.first().copied())
}

/// The function an SQS queue triggers, if any (`etc_parked` triggers none: it waits for people).
pub fn function_of_queue(queue_name: &str) -> Option<&'static FunctionSpec> {
    FUNCTIONS
        .iter()
        .find(|f| matches!(f.trigger, Trigger::Queue { queue, .. } if queue == queue_name))
}

/// Queues that hold failed messages and so want an operator's attention when not empty.
pub fn is_failure_queue(queue_name: &str) -> bool {
    queue_name == QUEUE_DLQ || queue_name == QUEUE_PARKED
}

/// Each queue-triggered function whose queue's visibility timeout is below
/// [`VISIBILITY_TO_TIMEOUT_RATIO`] times its timeout, as `(function, timeout, queue, visibility)`.
/// `visibility_of` gives a queue's visibility timeout (core's, or terraform's in the drift test).
pub fn visibility_shortfalls(
    visibility_of: impl Fn(&str) -> Option<u32>,
    timeout_of: impl Fn(&str) -> Option<u32>,
) -> Vec<String> {
    FUNCTIONS
        .iter()
        .filter_map(|f| match f.trigger {
            Trigger::Queue { queue, .. } => Some((f.name, queue)),
            Trigger::HttpPost { .. } => None,
        })
        .filter_map(|(function, queue)| {
            let timeout = timeout_of(function)?;
            let visibility = visibility_of(queue).unwrap_or(0);
            (u64::from(visibility) < u64::from(VISIBILITY_TO_TIMEOUT_RATIO) * u64::from(timeout))
                .then(|| {
                    format!(
                        "{queue}'s visibility timeout is {visibility} s, below {VISIBILITY_TO_TIMEOUT_RATIO} x {function}'s {timeout} s timeout"
                    )
                })
        })
        .collect()
}

/// The whole topology as one serializable value (for `--json` output and drift tests).
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Topology {
    pub topics: &'static [TopicSpec],
    pub queues: &'static [QueueSpec],
    pub functions: &'static [FunctionSpec],
    pub tables: &'static [TableSpec],
}

pub const TOPOLOGY: Topology = Topology {
    topics: &TOPICS,
    queues: &QUEUES,
    functions: &FUNCTIONS,
    tables: &[PAYMENTS_TABLE],
};

#[cfg(test)]
mod tests {
    use super::*;

    /// Every topic fans out to a queue that exists, and every work queue is drained by a function.
    #[test]
    fn wiring_is_closed() {
        for t in TOPICS {
            for q in t.subscribers {
                assert!(
                    queue(q).is_some(),
                    "{q} subscribed to {} is not a queue",
                    t.name
                );
                assert!(function_of_queue(q).is_some(), "{q} has no function");
            }
        }
        for q in QUEUES {
            if let Some(r) = q.redrive {
                assert!(queue(r.target).is_some());
                assert_eq!(r.target, QUEUE_DLQ);
                assert_eq!(r.max_receive_count, 3);
            }
        }
        assert!(function_of_queue(QUEUE_PARKED).is_none());
        assert_eq!(queue_of_topic(TOPIC_SEND_EMAIL), Some(QUEUE_SEND_EMAIL));
        assert_eq!(queue_of_topic("nope"), None);
    }

    /// A retried batch is never redelivered mid-run: visibility is at least 6x each timeout.
    #[test]
    fn trigger_queues_outlast_their_functions_sixfold() {
        let visibility = |q: &str| queue(q).map(|q| q.visibility_timeout_seconds);
        let timeout = |f: &str| function(f).map(|f| f.timeout_seconds);
        assert_eq!(
            visibility_shortfalls(visibility, timeout),
            Vec::<String>::new()
        );
        let short = visibility_shortfalls(|_| Some(30), timeout);
        assert_eq!(short.len(), 5);
        assert_eq!(
            short[0],
            "payment_attempt_queue's visibility timeout is 30 s, below 6 x pg's 25 s timeout"
        );
    }

    /// Parked messages are kept 14 days; only work queues redrive.
    #[test]
    fn failure_queues_keep_messages_longest() {
        assert_eq!(
            queue(QUEUE_PARKED).map(|q| q.retention_seconds),
            Some(1_209_600)
        );
        assert!(queue(QUEUE_DLQ).and_then(|q| q.redrive).is_none());
        assert!(is_failure_queue(QUEUE_PARKED) && !is_failure_queue(QUEUE_SEND_EMAIL));
    }
}
