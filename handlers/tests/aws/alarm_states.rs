//! The alarms in ALARM state, as the console's health view asks CloudWatch for them.

use aws_sdk_cloudwatch::types::{ComparisonOperator, StateValue, Statistic};
use crowdfund_core::console_view;
use crowdfund_core::ports::AlarmStates;
use crowdfund_handlers::aws::cloudwatch::CloudWatch;
use crowdfund_testkit::{moto_url, provisioned_moto};

/// A metric alarm of etc_parked's depth, named `name`, linking to etc_parked.
async fn put_alarm(client: &aws_sdk_cloudwatch::Client, name: &str) {
    client
        .put_metric_alarm()
        .alarm_name(name)
        .alarm_description(format!(
            "Messages are parked. {}",
            console_view::link(console_view::for_queue("etc_parked"))
        ))
        .namespace("AWS/SQS")
        .metric_name("ApproximateNumberOfMessagesVisible")
        .dimensions(
            aws_sdk_cloudwatch::types::Dimension::builder()
                .name("QueueName")
                .value("etc_parked")
                .build(),
        )
        .statistic(Statistic::Maximum)
        .period(60)
        .evaluation_periods(1)
        .threshold(0.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .unwrap();
}

async fn set_state(client: &aws_sdk_cloudwatch::Client, name: &str, state: StateValue, why: &str) {
    client
        .set_alarm_state()
        .alarm_name(name)
        .state_value(state)
        .state_reason(why)
        .send()
        .await
        .unwrap();
}

/// Only the alarms under the prefix that are in ALARM come back, with their description (the
/// console link) and CloudWatch's reason; one in OK and one of another prefix do not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firing_alarms_are_those_in_alarm_under_the_prefix() {
    let Some(moto) = moto_url() else { return };
    let _suite = crate::helpers::SUITE.lock().await;
    let moto = provisioned_moto(&moto).await;
    let client = &moto.clients.cloudwatch;
    let firing = "crowdfund-test-parked-not-empty";
    let quiet = "crowdfund-test-dlq-not-draining";
    let elsewhere = "crowdfund-prod-parked-not-empty";
    for name in [firing, quiet, elsewhere] {
        put_alarm(client, name).await;
    }
    let reason = "Threshold Crossed: 1 datapoint [3.0] was greater than the threshold (0.0).";
    set_state(client, firing, StateValue::Alarm, reason).await;
    set_state(client, quiet, StateValue::Ok, "back to normal").await;
    set_state(client, elsewhere, StateValue::Alarm, reason).await;

    let cloudwatch = CloudWatch::new(client.clone());
    let before = chrono::Utc::now() - chrono::Duration::minutes(5);
    let alarms = cloudwatch.firing_alarms("crowdfund-test-").await.unwrap();
    assert_eq!(alarms.len(), 1, "{alarms:?}");
    let a = &alarms[0];
    assert_eq!(a.name, firing);
    assert_eq!(a.reason, reason);
    assert!(!a.composite);
    assert_eq!(
        console_view::place_in(&a.description),
        Some("etc_parked"),
        "{}",
        a.description
    );
    assert!(a.since.is_some_and(|t| t > before), "{a:?}");

    set_state(client, firing, StateValue::Ok, "back to normal").await;
    assert!(
        cloudwatch
            .firing_alarms("crowdfund-test-")
            .await
            .unwrap()
            .is_empty()
    );
}
