//! Streaming that survives a returned chain, and fan-outs that stream every
//! item's live events tagged with its index.

mod common;

use std::collections::BTreeMap;

use agentkit::prelude::*;
use agentkit::stream::{Event, Progress, StreamExt};
use agentkit_test::ScriptedBackend;
use common::{runtime_for, thread_titled, Summarise, Summary, Thread};
use serde_json::json;

fn urgent(t: &Thread) -> bool {
    t.title.starts_with('!')
}

/// A per-ticket chain, returned from a function with its streaming kept.
/// Written as `Step + Streams` on purpose, the form a user adds to the
/// `impl Step<..>` the Chains chapter teaches; clippy prefers `impl
/// Streams<..>` alone (which `summarise_all` uses), since `Streams` is a `Step`.
#[allow(clippy::implied_bounds_in_impls)]
fn summarise_urgent() -> impl Step<Thread, Output = Option<Summary>> + Streams<Thread> {
    tool("clean", |t: Thread| async move {
        Ok::<_, std::io::Error>(Thread {
            body: t.body.trim().to_string(),
            ..t
        })
    })
    .then(Summarise.when(urgent))
}

/// The same chain over a list, returned as a fan-out that streams.
fn summarise_all() -> impl Streams<Vec<Thread>, Output = Vec<Option<Summary>>> {
    each(summarise_urgent()).concurrency(4)
}

/// Every event of a stream, failing on an error.
async fn collect<T>(mut events: agentkit::stream::Events<'_, T>) -> Vec<Event<T>> {
    let mut out = Vec::new();
    while let Some(event) = events.next().await {
        out.push(event.expect("no error"));
    }
    out
}

#[tokio::test]
async fn a_chain_returned_as_impl_streams_streams() {
    let script = ScriptedBackend::new()
        .chunk_size(5)
        .reply::<Summarise>(json!({ "text": "the site is down" }));
    let runtime = runtime_for(&script);

    let events = collect(summarise_urgent().stream(&runtime, thread_titled("!down"))).await;
    let text: String = events
        .iter()
        .filter_map(|e| match e {
            Event::Delta(d) => Some(d.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text, r#"{"text":"the site is down"}"#);
    assert!(events.len() > 3, "several deltas: {events:?}");
    assert!(events.iter().any(|e| matches!(e, Event::Partial(_))));
    let Some(Event::Done(Some(summary))) = events.last() else {
        panic!("ends with the output: {events:?}");
    };
    assert_eq!(summary.text, "the site is down");
}

#[tokio::test]
async fn a_fan_out_stream_interleaves_the_deltas_of_several_items() {
    let script = ScriptedBackend::new()
        .chunk_size(3)
        .reply_when::<Summarise>(|t| t.title == "!a", json!({ "text": "first draft" }))
        .reply_when::<Summarise>(|t| t.title == "!c", json!({ "text": "third draft" }))
        .reply_when::<Summarise>(|t| t.title == "!d", json!({ "text": "fourth draft" }));
    let runtime = runtime_for(&script);
    let tickets: Vec<Thread> = ["!a", "b", "!c", "!d"]
        .iter()
        .map(|t| thread_titled(t))
        .collect();

    let events = collect(summarise_all().stream(&runtime, tickets)).await;

    // Each item's deltas concatenate to its own answer.
    let mut texts: BTreeMap<usize, String> = BTreeMap::new();
    let mut order = Vec::new();
    let mut done = Vec::new();
    for event in &events {
        match event {
            Event::Item {
                index,
                progress: Progress::Delta(d),
            } => {
                texts.entry(*index).or_default().push_str(d);
                order.push(*index);
            }
            Event::Item {
                index,
                progress: Progress::Done,
            } => done.push(*index),
            _ => {}
        }
    }
    assert_eq!(texts[&0], r#"{"text":"first draft"}"#);
    assert_eq!(texts[&2], r#"{"text":"third draft"}"#);
    assert_eq!(texts[&3], r#"{"text":"fourth draft"}"#);
    assert!(!texts.contains_key(&1), "the skipped item wrote nothing");
    order.dedup();
    assert!(
        order.len() > 3,
        "the items' deltas interleave, not one item after another: {order:?}"
    );
    done.sort();
    assert_eq!(done, [0, 1, 2, 3], "every item reports its end");
    // Partial values come tagged too.
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Item { index: 2, progress: Progress::Partial(v) } if v["text"] == "third draft"
    )));
    // Last, the outputs in input order.
    let Some(Event::Done(outputs)) = events.last() else {
        panic!("ends with the outputs: {:?}", events.last());
    };
    let texts: Vec<Option<&str>> = outputs
        .iter()
        .map(|o| o.as_ref().map(|s| s.text.as_str()))
        .collect();
    assert_eq!(
        texts,
        [
            Some("first draft"),
            None,
            Some("third draft"),
            Some("fourth draft")
        ]
    );
}

#[tokio::test]
async fn a_streamed_fan_out_after_a_filter_tags_items_with_the_callers_indices() {
    let script = ScriptedBackend::new().always_when::<Summarise>(|_| true, json!({ "text": "s" }));
    let runtime = runtime_for(&script);
    let threads = tool("threads", |n: usize| async move {
        Ok::<_, std::io::Error>(
            (0..n)
                .map(|i| thread_titled(&i.to_string()))
                .collect::<Vec<_>>(),
        )
    });
    let pipeline = threads
        .filter(|t: &Thread| t.title != "1" && t.title != "3")
        .each(Summarise)
        .concurrency(2);

    let events = collect(pipeline.stream(&runtime, 5)).await;

    let mut done: Vec<usize> = events
        .iter()
        .filter_map(|e| match e {
            Event::Item {
                index,
                progress: Progress::Done,
            } => Some(*index),
            _ => None,
        })
        .collect();
    done.sort();
    assert_eq!(done, [0, 2, 4], "places before the filter");
    assert!(matches!(events.last(), Some(Event::Done(v)) if v.len() == 3));
}

#[tokio::test]
async fn a_fan_out_stream_ends_at_the_first_error() {
    // No reply queued for "!b": the scripted backend fails that item.
    let script =
        ScriptedBackend::new().reply_when::<Summarise>(|t| t.title == "!a", json!({ "text": "a" }));
    let runtime = runtime_for(&script);
    let tickets = vec![thread_titled("!a"), thread_titled("!b")];
    let fan_out = each(Summarise);
    let mut events = fan_out.stream(&runtime, tickets);
    let mut saw_error = false;
    while let Some(event) = events.next().await {
        if event.is_err() {
            saw_error = true;
            assert!(events.next().await.is_none(), "nothing after the error");
            break;
        }
    }
    assert!(saw_error);
}

#[tokio::test]
async fn with_input_streams_its_step_and_ends_with_the_input_beside_the_output() {
    let script = ScriptedBackend::new()
        .chunk_size(4)
        .reply::<Summarise>(json!({ "text": "disk is full" }));
    let runtime = runtime_for(&script);
    let input = thread_titled("!full");
    let events = collect(with_input(Summarise).stream(&runtime, input.clone())).await;
    let deltas = events
        .iter()
        .filter(|e| matches!(e, Event::Delta(_)))
        .count();
    assert!(deltas > 2, "the step's deltas come through: {events:?}");
    let Some(Event::Done((given, summary))) = events.last() else {
        panic!("ends with (input, output): {events:?}");
    };
    assert_eq!(given.title, input.title);
    assert_eq!(summary.text, "disk is full");
}
