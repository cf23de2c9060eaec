//! Steps over lists: `each` runs a step on every item, in input order, one at
//! a time or up to a concurrency limit, and stops at the first failure;
//! `filter` keeps the items a predicate accepts.

mod common;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use agentkit::prelude::*;
use agentkit_test::ScriptedBackend;
use common::{
    numbers, runtime_for, sent_input, slow_tenfold, thread_titled, Probe, Score, Verdict,
};
use serde_json::{json, Value};

#[tokio::test]
async fn each_runs_an_agent_on_every_item_in_order() {
    let titles = ["first", "second", "third", "fourth"];
    let mut script = ScriptedBackend::new();
    for (i, t) in titles.iter().enumerate() {
        script = script
            .reply::<Score>(json!({ "relevant": i % 2 == 0, "reason": format!("about {t}") }));
    }
    let runtime = runtime_for(&script);

    let pipeline = tool("threads", |titles: Vec<&'static str>| async move {
        Ok::<_, Infallible>(titles.into_iter().map(thread_titled).collect::<Vec<_>>())
    })
    .each(Score);
    let verdicts = pipeline.run(&runtime, titles.to_vec()).await.expect("runs");

    let reasons: Vec<&str> = verdicts.iter().map(|v| v.reason.as_str()).collect();
    assert_eq!(
        reasons,
        ["about first", "about second", "about third", "about fourth"]
    );
    let relevant: Vec<bool> = verdicts.iter().map(|v| v.relevant).collect();
    assert_eq!(relevant, [true, false, true, false]);
    // Every item was sent to the model, in order.
    let sent: Vec<Value> = script.calls().iter().map(sent_input).collect();
    let expected: Vec<Value> = titles
        .iter()
        .map(|t| serde_json::to_value(thread_titled(t)).unwrap())
        .collect();
    assert_eq!(sent, expected);
    assert_eq!(script.pending(), 0);
}

#[tokio::test(start_paused = true)]
async fn each_with_concurrency_overlaps_up_to_the_limit_and_keeps_order() {
    let probe = Arc::new(Probe::default());
    let pipeline = numbers().each(slow_tenfold(&probe, 7)).concurrency(3);

    let out = pipeline
        .run(&Runtime::builder().build(), 7)
        .await
        .expect("runs");

    assert_eq!(out, [0, 10, 20, 30, 40, 50, 60], "input order is kept");
    assert_eq!(probe.max(), 3, "three calls were in flight at once");
    assert_eq!(probe.started(), [0, 1, 2, 3, 4, 5, 6]);
    // Later items finish first; the output is still in input order.
    assert_ne!(probe.finished(), probe.started(), "{:?}", probe.finished());
    assert_eq!(probe.finished().len(), 7, "every item ran");
}

#[tokio::test(start_paused = true)]
async fn the_each_function_with_concurrency_is_the_same_step() {
    let probe = Arc::new(Probe::default());
    let pipeline = numbers().then(each(slow_tenfold(&probe, 9)).concurrency(3));

    let out = pipeline
        .run(&Runtime::builder().build(), 9)
        .await
        .expect("runs");

    assert_eq!(out, (0..9).map(|i| i * 10).collect::<Vec<_>>());
    assert_eq!(probe.max(), 3);
    assert_ne!(probe.finished(), probe.started());
}

#[tokio::test(start_paused = true)]
async fn each_with_concurrency_one_never_overlaps() {
    for pipeline_kind in ["each", "each()", "concurrency(1)", "concurrency(0)"] {
        let probe = Arc::new(Probe::default());
        let work = slow_tenfold(&probe, 5);
        let runtime = Runtime::builder().build();
        let out = match pipeline_kind {
            "each" => numbers().each(work).run(&runtime, 5).await,
            "each()" => numbers().then(each(work)).run(&runtime, 5).await,
            "concurrency(1)" => numbers().each(work).concurrency(1).run(&runtime, 5).await,
            _ => {
                numbers()
                    .then(each(work).concurrency(0))
                    .run(&runtime, 5)
                    .await
            }
        }
        .expect("runs");
        assert_eq!(out, [0, 10, 20, 30, 40], "{pipeline_kind}");
        assert_eq!(probe.max(), 1, "{pipeline_kind}: one call at a time");
        assert_eq!(
            probe.finished(),
            [0, 1, 2, 3, 4],
            "{pipeline_kind}: each item finished before the next started"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn each_stops_at_the_first_failing_item() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let pipeline = numbers().each(tool("odd one out", move |i: usize| {
        log.lock().unwrap().push(i);
        async move {
            if i == 2 {
                Err(format!("item {i} is broken"))
            } else {
                Ok(i)
            }
        }
    }));
    let err = pipeline
        .run(&Runtime::builder().build(), 5)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Tool { tool, source } if tool == "odd one out" && source.to_string() == "item 2 is broken"),
        "{err:?}"
    );
    assert_eq!(
        *seen.lock().unwrap(),
        [0, 1, 2],
        "nothing after the failure"
    );
}

#[tokio::test]
async fn filter_keeps_the_items_for_which_the_predicate_holds() {
    let runtime = Runtime::builder().build();
    let evens = numbers().filter(|n: &usize| n.is_multiple_of(2));
    assert_eq!(evens.run(&runtime, 7).await.unwrap(), [0, 2, 4, 6]);

    let none = numbers().filter(|_: &usize| false);
    assert!(none.run(&runtime, 7).await.unwrap().is_empty());

    // On agents' outputs: keep the relevant verdicts, in order.
    let script = ScriptedBackend::new()
        .reply::<Score>(json!({ "relevant": true, "reason": "a" }))
        .reply::<Score>(json!({ "relevant": false, "reason": "b" }))
        .reply::<Score>(json!({ "relevant": true, "reason": "c" }));
    let runtime = runtime_for(&script);
    let pipeline = tool("threads", |n: usize| async move {
        Ok::<_, Infallible>(
            (0..n)
                .map(|i| thread_titled(&i.to_string()))
                .collect::<Vec<_>>(),
        )
    })
    .each(Score)
    .filter(|v: &Verdict| v.relevant);
    let kept = pipeline.run(&runtime, 3).await.unwrap();
    let reasons: Vec<&str> = kept.iter().map(|v| v.reason.as_str()).collect();
    assert_eq!(reasons, ["a", "c"]);
    assert_eq!(
        script.calls().len(),
        3,
        "filtering happens after every item ran"
    );
}
