//! Streaming on the scripted backend: partial values, list elements, restarts
//! on retries and samples, chains, and fan-outs in completion order.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use agentkit::prelude::*;
use agentkit::stream::{Event, Restart, StreamExt};
use agentkit_test::ScriptedBackend;
use common::{runtime_for, thread, Score, Thread, Verdict};
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Plan {
    pub title: String,
    pub steps: Vec<PlanStep>,
    pub done: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PlanStep {
    pub say: String,
    pub minutes: u32,
}

/// Plan how to answer the thread, step by step.
#[agent(model = "smollm2-135m", input = Thread, output = Plan)]
struct Planner;

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", input = Thread, output = Verdict, samples = 3)]
struct Voter;

fn plan_text() -> String {
    // Escapes, a non-ASCII character and numbers, so chunks cut them.
    r#"{"title": "Run \"Q4_K_M\" — it fits", "steps": [{"say": "free 2 GB", "minutes": 5}, {"say": "use -ngl 0\nthen retry", "minutes": 12}], "done": true}"#
        .to_string()
}

async fn collect<T>(mut events: agentkit::stream::Events<'_, T>) -> Vec<Event<T>> {
    let mut out = Vec::new();
    while let Some(event) = events.next().await {
        out.push(event.expect("no error"));
    }
    out
}

fn deltas<T>(events: &[Event<T>]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Delta(d) => Some(d.as_str()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn every_partial_parses_and_the_deltas_are_the_final_text() {
    for chunk in [1, 2, 3, 7, 1000] {
        let script = ScriptedBackend::new()
            .chunk_size(chunk)
            .reply_raw::<Planner>(plan_text());
        let runtime = runtime_for(&script);
        let events = collect(Planner.stream(&runtime, thread())).await;

        assert_eq!(deltas(&events), plan_text(), "chunks of {chunk}");
        let partials: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                Event::Partial(p) => Some(p),
                _ => None,
            })
            .collect();
        assert!(!partials.is_empty());
        for p in &partials {
            let typed = p
                .output
                .as_ref()
                .unwrap_or_else(|| panic!("partial {} does not parse into a Plan", p.value));
            // What is written shows in the typed view.
            if let Some(title) = p.value.get("title").and_then(|t| t.as_str()) {
                assert_eq!(typed.title, title);
            }
        }
        // Partial titles only grow.
        let titles: Vec<&str> = partials
            .iter()
            .filter_map(|p| p.value.get("title").and_then(|t| t.as_str()))
            .collect();
        assert!(
            titles.windows(2).all(|w| w[1].starts_with(w[0])),
            "{titles:?}"
        );

        let Some(Event::Done(done)) = events.last() else {
            panic!("the last event is the output");
        };
        // The same as the non-streamed result.
        let script = ScriptedBackend::new().reply_raw::<Planner>(plan_text());
        let plain = Planner.run(&runtime_for(&script), thread()).await.unwrap();
        assert_eq!(*done, plain);
    }
}

#[tokio::test]
async fn chunks_cut_inside_escapes_and_characters_still_close() {
    let text = plan_text();
    // Cut after every byte that is a char boundary: one delta per character.
    let chunks: Vec<String> = text.chars().map(String::from).collect();
    let script = ScriptedBackend::new().reply_chunks::<Planner>(chunks);
    let runtime = runtime_for(&script);
    let events = collect(Planner.stream(&runtime, thread())).await;
    let titles: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::Partial(p) => p
                .value
                .get("title")
                .and_then(|t| t.as_str())
                .map(String::from),
            _ => None,
        })
        .collect();
    // Never a backslash or half an escape in a partial string.
    assert!(titles.iter().all(|t| !t.contains('\\')), "{titles:?}");
    assert!(
        titles.contains(&"Run \"Q4_K_M\" —".to_string()),
        "{titles:?}"
    );
    assert_eq!(titles.last().unwrap(), "Run \"Q4_K_M\" — it fits");
}

#[tokio::test]
async fn each_element_of_a_list_arrives_before_the_list_closes() {
    let script = ScriptedBackend::new()
        .chunk_size(4)
        .reply_raw::<Planner>(plan_text());
    let runtime = runtime_for(&script);
    let events = collect(Planner.stream(&runtime, thread())).await;

    let mut written = String::new();
    let mut seen = Vec::new();
    for event in &events {
        match event {
            Event::Delta(d) => written.push_str(d),
            Event::Element(e) => {
                assert_eq!(e.path, "/steps");
                let step: PlanStep = e.parse().unwrap();
                // The list is still open when its element arrives...
                let closed = written.contains("}]");
                seen.push((e.index, step, closed));
            }
            _ => {}
        }
    }
    let steps: Vec<(usize, PlanStep)> = seen.iter().map(|(i, s, _)| (*i, s.clone())).collect();
    assert_eq!(
        steps,
        vec![
            (
                0,
                PlanStep {
                    say: "free 2 GB".into(),
                    minutes: 5
                }
            ),
            (
                1,
                PlanStep {
                    say: "use -ngl 0\nthen retry".into(),
                    minutes: 12
                }
            ),
        ]
    );
    // ... for the first element certainly (the second closes with the list).
    assert!(!seen[0].2, "element 0 came only after the list closed");
}

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", input = Thread, output = Verdict, retries = 1, validate = has_reason)]
struct Careful;

fn has_reason(v: &Verdict) -> Result<(), String> {
    if v.reason.is_empty() {
        Err("`reason` is empty".into())
    } else {
        Ok(())
    }
}

#[tokio::test]
async fn a_retry_is_an_event_and_validation_sees_only_the_final_value() {
    let script = ScriptedBackend::new()
        .chunk_size(5)
        .reply::<Careful>(json!({ "relevant": true, "reason": "" }))
        .reply::<Careful>(json!({ "relevant": true, "reason": "asks about quants" }));
    let runtime = runtime_for(&script);
    let events = collect(Careful.stream(&runtime, thread())).await;
    let restart = events
        .iter()
        .position(|e| matches!(e, Event::Restart(Restart::Retry { attempt: 2, problem }) if problem.contains("`reason` is empty")))
        .expect("a retry event");
    // The partials before the retry include the rejected empty reason: they
    // are not validated; after it the deltas are the second answer's.
    assert!(events[..restart]
        .iter()
        .any(|e| matches!(e, Event::Partial(p) if p.value["reason"] == "")));
    assert_eq!(
        deltas(&events[restart..]),
        json!({ "relevant": true, "reason": "asks about quants" }).to_string()
    );
    assert!(matches!(events.last(), Some(Event::Done(v)) if v.reason == "asks about quants"));
}

#[tokio::test]
async fn each_sample_of_a_vote_starts_with_a_restart() {
    let yes = json!({ "relevant": true, "reason": "r" });
    let no = json!({ "relevant": false, "reason": "r" });
    let script = ScriptedBackend::new()
        .reply::<Voter>(no.clone())
        .reply::<Voter>(yes.clone())
        .reply::<Voter>(yes);
    let runtime = runtime_for(&script);
    let events = collect(Voter.stream(&runtime, thread())).await;
    let samples: Vec<u32> = events
        .iter()
        .filter_map(|e| match e {
            Event::Restart(Restart::Sample { sample }) => Some(*sample),
            _ => None,
        })
        .collect();
    assert_eq!(samples, vec![1, 2]);
    assert!(matches!(events.last(), Some(Event::Done(v)) if v.relevant));
}

#[tokio::test]
async fn a_chain_streams_its_last_agent_after_running_the_rest() {
    let script = ScriptedBackend::new()
        .chunk_size(3)
        .reply::<Score>(json!({ "relevant": true, "reason": "local" }));
    let runtime = runtime_for(&script);
    let fetch = tool("fetch", |id: u32| async move {
        Ok::<_, std::io::Error>(Thread {
            title: format!("thread {id}"),
            body: "llama.cpp".into(),
        })
    });
    let chain = fetch.then(Score);
    let events = collect(chain.stream(&runtime, 7)).await;
    assert!(
        events
            .iter()
            .filter(|e| matches!(e, Event::Delta(_)))
            .count()
            > 3
    );
    assert!(matches!(events.last(), Some(Event::Done(v)) if v.reason == "local"));
    assert!(script.calls()[0].prompt.to_string().contains("thread 7"));

    // A failing first step is the stream's one item, an error.
    let broken = tool("fetch", |_: u32| async move {
        Err::<Thread, _>(std::io::Error::other("no such thread"))
    })
    .then(Score);
    let mut events = broken.stream(&runtime, 7);
    let first = events.next().await.expect("one item");
    assert!(matches!(first, Err(Error::Tool { .. })), "{first:?}");
    assert!(events.next().await.is_none());
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Relevance {
    pub relevant: bool,
}

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", input = Thread, output = Relevance)]
struct Screen;

#[tokio::test]
async fn scored_agents_stream_their_one_final_value() {
    let script = ScriptedBackend::new().scores::<Screen>(vec![vec![-0.1, -2.0]]);
    let runtime = runtime_for(&script);
    let scorer = scored(Screen);
    let events = collect(scorer.stream(&runtime, thread())).await;
    assert_eq!(events.len(), 1);
    assert!(matches!(&events[0], Event::Done(s) if s.value.relevant));
}

fn slow_double(finished: Arc<AtomicUsize>) -> impl Step<u64, Output = u64> {
    tool("slow double", move |x: u64| {
        let finished = Arc::clone(&finished);
        async move {
            // The larger the item, the sooner it is done.
            tokio::time::sleep(Duration::from_secs(10 - x)).await;
            finished.fetch_add(1, Ordering::SeqCst);
            Ok::<_, std::io::Error>(x * 2)
        }
    })
}

#[tokio::test(start_paused = true)]
async fn a_fan_out_yields_items_in_completion_order() {
    let runtime = Runtime::builder().build();
    let finished = Arc::new(AtomicUsize::new(0));
    let fan_out = each(slow_double(Arc::clone(&finished))).concurrency(4);
    let got: Vec<(usize, u64)> = fan_out
        .finished(&runtime, vec![1, 5, 3, 9])
        .map(|(i, r)| (i, r.unwrap()))
        .collect()
        .await;
    assert_eq!(got, vec![(3, 18), (1, 10), (2, 6), (0, 2)]);
}

#[tokio::test(start_paused = true)]
async fn one_failed_item_does_not_stop_the_others() {
    let runtime = Runtime::builder().build();
    let picky = tool("picky", |x: u32| async move {
        if x == 2 {
            Err(std::io::Error::other("two is right out"))
        } else {
            Ok(x)
        }
    });
    let fan_out = each(picky).concurrency(2);
    let mut got: Vec<(usize, bool)> = fan_out
        .finished(&runtime, vec![1, 2, 3])
        .map(|(i, r)| (i, r.is_ok()))
        .collect()
        .await;
    got.sort();
    assert_eq!(got, vec![(0, true), (1, false), (2, true)]);
}

#[tokio::test(start_paused = true)]
async fn dropping_a_fan_out_stream_cancels_the_items_still_running() {
    let runtime = Runtime::builder().build();
    let finished = Arc::new(AtomicUsize::new(0));
    let fan_out = each(slow_double(Arc::clone(&finished))).concurrency(4);
    let mut stream = fan_out.finished(&runtime, vec![1, 5, 3, 9]);
    let first = stream.next().await.unwrap();
    assert_eq!(first.0, 3);
    drop(stream);
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(
        finished.load(Ordering::SeqCst),
        1,
        "the others kept running"
    );
}

#[tokio::test]
async fn a_chain_ending_in_each_streams_its_items_after_the_first_step() {
    let script = ScriptedBackend::new()
        .reply_when::<Score>(
            |t| t.title == "a",
            json!({ "relevant": true, "reason": "a" }),
        )
        .reply_when::<Score>(
            |t| t.title == "b",
            json!({ "relevant": false, "reason": "b" }),
        );
    let runtime = runtime_for(&script);
    let find = tool("find", |_: ()| async move {
        Ok::<_, std::io::Error>(vec![
            Thread {
                title: "a".into(),
                body: String::new(),
            },
            Thread {
                title: "b".into(),
                body: String::new(),
            },
        ])
    });
    let pipeline = find.each(Score).concurrency(2);
    let mut items = pipeline.finished(&runtime, ()).await.unwrap();
    let mut got = Vec::new();
    while let Some((i, verdict)) = items.next().await {
        got.push((i, verdict.unwrap().reason));
    }
    got.sort();
    assert_eq!(got, vec![(0, "a".to_string()), (1, "b".to_string())]);

    // An error before the fan-out is returned before any item.
    let broken = tool("find", |_: ()| async move {
        Err::<Vec<Thread>, _>(std::io::Error::other("forum is down"))
    })
    .each(Score);
    assert!(matches!(
        broken.finished(&runtime, ()).await,
        Err(Error::Tool { .. })
    ));
}
