//! A conditional step, `.when(...)`: run a step only on the inputs that pass
//! a test and keep the others, so a per-item chain stays per item; and
//! fan-out indices that stay the caller's after a `.filter(...)`.

mod common;

use std::convert::Infallible;

use agentkit::prelude::*;
use agentkit::stream::{Event, StreamExt};
use agentkit_test::ScriptedBackend;
use common::{
    numbers, runtime_for, sent_input, thread_titled, Score, Summarise, Summary, Thread, Verdict,
};
use serde_json::json;

/// Runs on a model nobody registered.
#[agent(model = "qwen2.5-0.5b", input = Thread, output = Summary)]
struct Elsewhere;

fn urgent(t: &Thread) -> bool {
    t.title.starts_with('!')
}

fn titles(titles: &[&str]) -> Vec<Thread> {
    titles.iter().map(|t| thread_titled(t)).collect()
}

#[tokio::test]
async fn a_conditional_step_keeps_skipped_items_and_their_order() {
    let script = ScriptedBackend::new()
        .reply_when::<Summarise>(|t| t.title == "!b", json!({ "text": "about b" }))
        .reply_when::<Summarise>(|t| t.title == "!d", json!({ "text": "about d" }));
    let runtime = runtime_for(&script);

    let pipeline = each(with_input(Summarise.when(urgent))).concurrency(4);
    let out = pipeline
        .run(&runtime, titles(&["a", "!b", "c", "!d", "e"]))
        .await
        .expect("runs");

    let got: Vec<(&str, Option<&str>)> = out
        .iter()
        .map(|(t, s)| (t.title.as_str(), s.as_ref().map(|s| s.text.as_str())))
        .collect();
    assert_eq!(
        got,
        [
            ("a", None),
            ("!b", Some("about b")),
            ("c", None),
            ("!d", Some("about d")),
            ("e", None),
        ]
    );
    // Only the urgent items reached the model.
    let mut sent: Vec<String> = script
        .calls()
        .iter()
        .map(|c| {
            sent_input(c)["title"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    sent.sort();
    assert_eq!(sent, ["!b", "!d"]);
}

#[tokio::test]
async fn a_conditional_step_after_an_agent_stays_per_item() {
    let script = ScriptedBackend::new()
        .always_when::<Score>(
            |t| t.title == "keep",
            json!({ "relevant": true, "reason": "r" }),
        )
        .always_when::<Score>(
            |t| t.title != "keep",
            json!({ "relevant": false, "reason": "r" }),
        );
    let runtime = runtime_for(&script);
    let reply = tool("reply", |(t, _): (Thread, Verdict)| async move {
        Ok::<_, Infallible>(format!("re: {}", t.title))
    });
    let per_thread = with_input(Score).then(reply.when(|(_, v): &(Thread, Verdict)| v.relevant));

    let out = each(per_thread)
        .concurrency(3)
        .run(&runtime, titles(&["skip", "keep", "skip"]))
        .await
        .expect("runs");
    assert_eq!(out, [None, Some("re: keep".to_string()), None]);
}

#[tokio::test]
async fn a_skipped_step_is_still_pre_flighted() {
    let runtime = Runtime::builder()
        .backend(ScriptedBackend::new().registered_models_only())
        .build();
    let err = Elsewhere
        .when(|_: &Thread| false)
        .run(&runtime, thread_titled("a"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Preflight { .. }), "{err:?}");
}

#[tokio::test]
async fn a_conditional_agent_streams_when_it_runs_and_yields_none_when_skipped() {
    let script = ScriptedBackend::new()
        .chunk_size(3)
        .reply::<Summarise>(json!({ "text": "urgent, answer now" }));
    let runtime = runtime_for(&script);
    let step = Summarise.when(urgent);

    let mut events = step.stream(&runtime, thread_titled("!a"));
    let mut text = String::new();
    let mut done = None;
    while let Some(event) = events.next().await {
        match event.expect("no error") {
            Event::Delta(d) => text.push_str(&d),
            Event::Done(out) => done = Some(out),
            _ => {}
        }
    }
    assert!(text.contains("urgent, answer now"), "{text}");
    assert_eq!(
        done.flatten().map(|s| s.text).as_deref(),
        Some("urgent, answer now")
    );

    let skipped: Vec<_> = step
        .stream(&runtime, thread_titled("b"))
        .map(|e| e.expect("no error"))
        .collect()
        .await;
    assert!(
        matches!(skipped.as_slice(), [Event::Done(None)]),
        "{skipped:?}"
    );
    assert_eq!(script.calls().len(), 1, "the skipped input made no call");
}

#[tokio::test]
async fn fan_out_indices_after_a_filter_are_the_callers() {
    let runtime = Runtime::builder().build();
    let tenfold = tool(
        "tenfold",
        |n: usize| async move { Ok::<_, Infallible>(n * 10) },
    );
    let pipeline = numbers()
        .filter(|n: &usize| n.is_multiple_of(3))
        .each(tenfold)
        .concurrency(2);
    let finished = pipeline.finished(&runtime, 8).await.expect("runs");
    assert_eq!(sorted(finished).await, [(0, 0), (3, 30), (6, 60)]);

    // Two filters: the places are still those of the first list.
    let twice = numbers()
        .filter(|n: &usize| n.is_multiple_of(2))
        .filter(|n: &usize| *n > 2)
        .each(tool(
            "same",
            |n: usize| async move { Ok::<_, Infallible>(n) },
        ));
    let finished = twice.finished(&runtime, 8).await.expect("runs");
    assert_eq!(sorted(finished).await, [(4, 4), (6, 6)]);
}

/// A fan-out's `(index, output)` pairs, sorted by index.
async fn sorted(finished: agentkit::stream::Finished<'_, usize>) -> Vec<(usize, usize)> {
    let mut got: Vec<(usize, usize)> = finished
        .map(|(i, r)| (i, r.expect("no error")))
        .collect()
        .await;
    got.sort();
    got
}
