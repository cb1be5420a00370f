//! The six functions and their SQS triggers on moto: provisioned once (a second run changes
//! nothing), read as the console reads them, paused and resumed.

use crowdfund_core::ports::{PortError, Triggers};
use crowdfund_core::topology::{self, FUNCTIONS, Trigger};
use crowdfund_handlers::aws::provision::{Change, provision_functions};
use crowdfund_handlers::aws::triggers::LambdaTriggers;
use crowdfund_testkit::{moto_url, provisioned_moto};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_and_triggers_are_provisioned_read_and_paused() {
    let Some(moto) = moto_url() else { return };
    let _suite = crate::helpers::SUITE.lock().await;
    let moto = provisioned_moto(&moto).await;
    let first = provision_functions(&moto.clients).await.unwrap();
    let queue_functions = FUNCTIONS
        .iter()
        .filter(|f| matches!(f.trigger, Trigger::Queue { .. }))
        .count();
    // The role, every function, every queue function's trigger.
    assert_eq!(first.steps.len(), 1 + FUNCTIONS.len() + queue_functions);
    assert!(
        first.steps.iter().all(|s| s.change == Change::Created),
        "{first:?}"
    );
    let second = provision_functions(&moto.clients).await.unwrap();
    assert_eq!(second.changed(), 0, "{second:?}");

    let lambda = LambdaTriggers::new(moto.clients.lambda.clone());
    let listed = lambda.list_triggers().await.unwrap();
    let names: Vec<&str> = listed.iter().map(|f| f.function.as_str()).collect();
    let expected: Vec<&str> = FUNCTIONS.iter().map(|f| f.name).collect();
    assert_eq!(names, expected);
    for f in &listed {
        assert_eq!(f.error, None, "{f:?}");
        assert_eq!(f.runtime.as_deref(), Some("provided.al2023"), "{f:?}");
        assert_eq!(f.architecture.as_deref(), Some("arm64"), "{f:?}");
        assert_eq!(f.reserved_concurrency, Some(20), "{f:?}");
        assert!(f.last_modified.is_some(), "{f:?}");
        match topology::function(&f.function).map(|s| s.trigger) {
            Some(Trigger::Queue { queue, batch_size }) => {
                let m = f.mapping.as_ref().expect("a queue function has a trigger");
                assert_eq!(
                    (m.queue.as_str(), m.batch_size as usize),
                    (queue, batch_size)
                );
                assert!(f.is_paused(), "created disabled on moto: {m:?}");
            }
            _ => assert_eq!(f.mapping, None, "{f:?}"),
        }
    }

    let resumed = lambda
        .set_trigger_enabled(topology::FN_DLQ_HANDLER, true)
        .await
        .unwrap();
    assert_eq!(
        (resumed.queue.as_str(), resumed.state.as_str()),
        ("etc_dlq", "Enabled")
    );
    let listed = lambda.list_triggers().await.unwrap();
    let running: Vec<&str> = listed
        .iter()
        .filter(|f| f.mapping.as_ref().is_some_and(|m| m.is_enabled()))
        .map(|f| f.function.as_str())
        .collect();
    assert_eq!(running, [topology::FN_DLQ_HANDLER]);
    let paused = lambda
        .set_trigger_enabled(topology::FN_DLQ_HANDLER, false)
        .await
        .unwrap();
    assert_eq!(paused.state, "Disabled");
    let broker = lambda.set_trigger_enabled(topology::FN_BROKER, false).await;
    assert!(matches!(broker, Err(PortError::Rejected(_))), "{broker:?}");
}
