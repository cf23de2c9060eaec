//! The combinators and the runtime's policies, run on the scripted backend:
//! `each` (in order, and concurrently), `filter`, `map`, `tool`, `both`,
//! retries with feedback, voting, typed tool choice, pre-flight, few-shot
//! examples and evaluation. (Tracing is tested in `traces.rs`, alone in its
//! own binary: see there why.)

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentkit::eval::{evaluate, Example};
use agentkit::prelude::*;
use agentkit::testing::ScriptedBackend;
use agentkit::{tool, Attempt, InputFormat, Prompt, Request, Role, Shot};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------
// Types and agents
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Thread {
    title: String,
    body: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Verdict {
    /// true when the thread asks about running models locally
    relevant: bool,
    reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Summary {
    text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Tags {
    tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Headline {
    headline: String,
}

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", input = Thread, output = Verdict)]
struct Score;

/// Summarise the thread in one sentence.
#[agent(model = "smollm2-135m", input = Thread, output = Summary)]
struct Summarise;

/// Tag the summary with up to three topics.
#[agent(model = "smollm2-135m", input = Summary, output = Tags)]
struct Tag;

/// Write a headline from the tags.
#[agent(model = "smollm2-135m", input = Tags, output = Headline)]
struct Title;

fn thread() -> Thread {
    Thread {
        title: "llama.cpp on a Pi 5".into(),
        body: "Which quantisation keeps a 135M model fast?".into(),
    }
}

fn thread_titled(title: &str) -> Thread {
    Thread {
        title: title.into(),
        body: format!("body of {title}"),
    }
}

fn runtime_for(script: &ScriptedBackend) -> Runtime {
    Runtime::builder().backend(script.clone()).build()
}

/// The input a request carried, read back from its last user message.
fn sent_input(request: &Request) -> Value {
    let user = last(request, Role::User);
    serde_json::from_str(user).expect("the user message is the input as JSON")
}

/// The content of the last message with `role`.
fn last(request: &Request, role: Role) -> &str {
    request
        .prompt
        .messages
        .iter()
        .rev()
        .find(|m| m.role == role)
        .map(|m| m.content.as_str())
        .unwrap_or_else(|| panic!("no {role:?} message in {}", request.prompt))
}

fn roles(prompt: &Prompt) -> Vec<Role> {
    prompt.messages.iter().map(|m| m.role).collect()
}

// ---------------------------------------------------------------------------
// 1. each: order, every item, concurrency
// ---------------------------------------------------------------------------

/// A step that yields `0..n`.
fn numbers() -> impl Step<usize, Output = Vec<usize>> {
    tool("numbers", |n: usize| async move {
        Ok::<_, Infallible>((0..n).collect::<Vec<usize>>())
    })
}

/// Counts how many calls of a tool are in flight at once.
#[derive(Default)]
struct Probe {
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    started: Mutex<Vec<usize>>,
    finished: Mutex<Vec<usize>>,
}

impl Probe {
    fn max(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }
    fn started(&self) -> Vec<usize> {
        self.started.lock().unwrap().clone()
    }
    fn finished(&self) -> Vec<usize> {
        self.finished.lock().unwrap().clone()
    }
}

/// A tool that sleeps (earlier items longer, so they finish out of order)
/// and records how many calls overlap. Yields `item * 10`.
fn slow_tenfold(probe: &Arc<Probe>, items: usize) -> impl Step<usize, Output = usize> {
    let probe = Arc::clone(probe);
    tool("slow tenfold", move |i: usize| {
        let probe = Arc::clone(&probe);
        async move {
            probe.started.lock().unwrap().push(i);
            let now = probe.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            probe.max_in_flight.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(10 * (items - i) as u64)).await;
            probe.in_flight.fetch_sub(1, Ordering::SeqCst);
            probe.finished.lock().unwrap().push(i);
            Ok::<_, Infallible>(i * 10)
        }
    })
}

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
async fn each_concurrent_overlaps_up_to_the_limit_and_keeps_order() {
    let probe = Arc::new(Probe::default());
    let pipeline = numbers().each_concurrent(slow_tenfold(&probe, 7), 3);

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
async fn each_with_concurrency_overlaps_up_to_the_limit_and_keeps_order() {
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
            "concurrency(1)" => numbers().each_concurrent(work, 1).run(&runtime, 5).await,
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

// ---------------------------------------------------------------------------
// 2. filter, map, tool, both
// ---------------------------------------------------------------------------

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

#[tokio::test]
async fn map_adapts_between_steps() {
    let script =
        ScriptedBackend::new().reply::<Tag>(json!({ "tags": ["gguf", "pi", "quantisation"] }));
    let runtime = runtime_for(&script);
    let pipeline = numbers()
        .map(|ns: Vec<usize>| Summary {
            text: format!("{} numbers", ns.len()),
        })
        .then(Tag)
        .map(|t: Tags| t.tags.join("+"));
    assert_eq!(
        pipeline.run(&runtime, 4).await.unwrap(),
        "gguf+pi+quantisation"
    );
    assert_eq!(
        sent_input(&script.calls()[0]),
        json!({ "text": "4 numbers" })
    );
}

#[tokio::test]
async fn a_tool_chains_like_an_agent_on_both_sides() {
    let script = ScriptedBackend::new()
        .reply::<Score>(json!({ "relevant": true, "reason": "asks about llama.cpp" }));
    let runtime = runtime_for(&script);
    let stored = Arc::new(Mutex::new(Vec::new()));
    let store = Arc::clone(&stored);

    let fetch = tool("fetch", |url: String| async move {
        Ok::<_, std::io::Error>(Thread {
            title: format!("page at {url}"),
            body: "how do I run a gguf?".into(),
        })
    });
    let save = tool("save", move |v: Verdict| {
        let store = Arc::clone(&store);
        async move {
            store.lock().unwrap().push(v.reason.clone());
            Ok::<_, std::io::Error>(v.relevant)
        }
    });
    let pipeline = fetch.then(Score).then(save);
    let relevant: bool = pipeline
        .run(&runtime, "https://forum.invalid/1".to_string())
        .await
        .unwrap();

    assert!(relevant);
    assert_eq!(*stored.lock().unwrap(), ["asks about llama.cpp"]);
    assert_eq!(
        sent_input(&script.calls()[0]),
        json!({ "title": "page at https://forum.invalid/1", "body": "how do I run a gguf?" })
    );
}

#[tokio::test]
async fn a_failing_tool_is_an_error_naming_the_tool_with_its_source() {
    let script =
        ScriptedBackend::new().reply::<Score>(json!({ "relevant": true, "reason": "never used" }));
    let runtime = runtime_for(&script);
    let fetch = tool("fetch page", |url: String| async move {
        Err::<Thread, _>(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("no page at {url}"),
        ))
    });

    let err = fetch
        .then(Score)
        .run(&runtime, "https://forum.invalid/404".to_string())
        .await
        .unwrap_err();

    let message = err.to_string();
    let Error::Tool { tool: name, source } = &err else {
        panic!("expected Error::Tool, got {err:?}");
    };
    assert_eq!(name, "fetch page");
    let io = source
        .downcast_ref::<std::io::Error>()
        .expect("the tool's own error is kept");
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    assert_eq!(io.to_string(), "no page at https://forum.invalid/404");
    // The error chain reaches the tool's error too.
    let chained = std::error::Error::source(&err).expect("a source");
    assert_eq!(chained.to_string(), "no page at https://forum.invalid/404");
    assert_eq!(
        message,
        "tool `fetch page` failed: no page at https://forum.invalid/404"
    );
    assert!(script.calls().is_empty(), "the agent after it never ran");
}

#[tokio::test]
async fn both_runs_two_steps_on_the_same_input_and_yields_the_pair() {
    let script = ScriptedBackend::new()
        .reply::<Score>(json!({ "relevant": true, "reason": "asks about quantisation" }))
        .reply::<Summarise>(json!({ "text": "How to quantise for a Pi." }));
    let runtime = runtime_for(&script);

    let (verdict, summary) = both(Score, Summarise)
        .run(&runtime, thread())
        .await
        .unwrap();

    assert_eq!(
        verdict,
        Verdict {
            relevant: true,
            reason: "asks about quantisation".into()
        }
    );
    assert_eq!(summary.text, "How to quantise for a Pi.");
    let mut agents: Vec<&str> = script.calls().iter().map(|r| r.agent).collect();
    agents.sort_unstable();
    assert_eq!(agents, ["Score", "Summarise"]);
    for call in script.calls() {
        assert_eq!(sent_input(&call), serde_json::to_value(thread()).unwrap());
    }

    // Both halves chain on: the pair feeds a tool.
    let script = ScriptedBackend::new()
        .reply::<Score>(json!({ "relevant": false, "reason": "off topic" }))
        .reply::<Summarise>(json!({ "text": "Bread." }));
    let runtime = runtime_for(&script);
    let pipeline =
        both(Score, Summarise).then(tool("join", |(v, s): (Verdict, Summary)| async move {
            Ok::<_, Infallible>(format!("{}: {}", v.relevant, s.text))
        }));
    assert_eq!(
        pipeline.run(&runtime, thread()).await.unwrap(),
        "false: Bread."
    );
}

#[tokio::test(start_paused = true)]
async fn both_runs_its_halves_at_the_same_time() {
    let probe = Arc::new(Probe::default());
    let started = tokio::time::Instant::now();
    let (a, b) = both(slow_tenfold(&probe, 5), slow_tenfold(&probe, 5))
        .run(&Runtime::builder().build(), 1)
        .await
        .unwrap();
    assert_eq!((a, b), (10, 10));
    assert_eq!(probe.max(), 2, "the two halves overlapped");
    assert_eq!(started.elapsed(), Duration::from_millis(40));
}

// ---------------------------------------------------------------------------
// 3. Retries with feedback
// ---------------------------------------------------------------------------

const EMPTY_REASON: &str = "`reason` is empty; say in a few words why";

fn reason_given(v: &Verdict) -> Result<(), String> {
    if v.reason.trim().is_empty() {
        Err(EMPTY_REASON.into())
    } else {
        Ok(())
    }
}

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", input = Thread, output = Verdict, retries = 2, validate = reason_given)]
struct Careful;

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", input = Thread, output = Verdict, validate = reason_given)]
struct Strict;

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", input = Thread, output = Verdict, retries = 1)]
struct Patient;

#[tokio::test]
async fn a_rejected_answer_is_retried_with_the_answer_and_the_problem() {
    let first = json!({ "relevant": true, "reason": "" });
    let second = json!({ "relevant": true, "reason": "asks about llama.cpp" });
    let script = ScriptedBackend::new()
        .reply::<Careful>(first.clone())
        .reply::<Careful>(second.clone());
    let runtime = runtime_for(&script);

    let verdict = Careful
        .run(&runtime, thread())
        .await
        .expect("the retry passes");

    assert_eq!(verdict.reason, "asks about llama.cpp");
    let calls = script.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(runtime.usage().calls, 2);
    // The first request is the plain prompt.
    assert_eq!(
        calls[0].prompt,
        Prompt::render::<Careful>(&thread()).unwrap()
    );
    // The second carries the first answer and what was wrong with it.
    let retry = &calls[1].prompt;
    assert_eq!(
        roles(retry),
        [Role::System, Role::User, Role::Assistant, Role::User]
    );
    assert_eq!(retry.messages[..2], calls[0].prompt.messages[..]);
    assert_eq!(retry.messages[2].content, first.to_string());
    assert!(
        retry.messages[3].content.contains(EMPTY_REASON),
        "{}",
        retry.messages[3].content
    );
    // Each attempt draws with a fresh seed.
    assert_eq!(calls[1].sampling.seed, calls[0].sampling.seed + 1);
}

#[tokio::test]
async fn when_every_attempt_fails_the_error_holds_each_attempt_in_order() {
    let replies = [
        r#"{"relevant":true,"reason":""}"#,
        r#"{"relevant":false,"reason":"  "}"#,
        r#"{"relevant":true,"reason":"   "}"#,
    ];
    let mut script = ScriptedBackend::new();
    for r in replies {
        script = script.reply_raw::<Careful>(r);
    }
    let runtime = runtime_for(&script);

    let err = Careful.run(&runtime, thread()).await.unwrap_err();

    let message = err.to_string();
    let Error::Rejected { agent, attempts } = err else {
        panic!("expected Rejected, got {err:?}");
    };
    assert_eq!(agent, "Careful");
    let expected: Vec<Attempt> = replies
        .iter()
        .map(|r| Attempt {
            raw: r.to_string(),
            problem: EMPTY_REASON.into(),
        })
        .collect();
    assert_eq!(attempts, expected, "1 try + 2 retries, in order");
    assert!(message.contains("3 attempts"), "{message}");
    assert!(message.contains(EMPTY_REASON), "{message}");
    // The last request carried both earlier answers.
    let calls = script.calls();
    assert_eq!(calls.len(), 3);
    let assistant: Vec<&str> = calls[2]
        .prompt
        .messages
        .iter()
        .filter(|m| m.role == Role::Assistant)
        .map(|m| m.content.as_str())
        .collect();
    assert_eq!(assistant, replies[..2]);
}

#[tokio::test]
async fn output_that_does_not_parse_is_retried_the_same_way() {
    let script = ScriptedBackend::new()
        .reply_raw::<Patient>("relevant: yes")
        .reply::<Patient>(json!({ "relevant": true, "reason": "on topic" }));
    let runtime = runtime_for(&script);

    let verdict = Patient
        .run(&runtime, thread())
        .await
        .expect("the retry parses");

    assert_eq!(
        verdict,
        Verdict {
            relevant: true,
            reason: "on topic".into()
        }
    );
    let retry = &script.calls()[1].prompt;
    assert_eq!(
        roles(retry),
        [Role::System, Role::User, Role::Assistant, Role::User]
    );
    assert_eq!(retry.messages[2].content, "relevant: yes");
    assert!(
        retry.messages[3].content.contains("not valid JSON"),
        "the feedback says what was wrong: {}",
        retry.messages[3].content
    );

    // Two unparseable answers exhaust `retries = 1`.
    let script = ScriptedBackend::new()
        .reply_raw::<Patient>("yes")
        .reply_raw::<Patient>("still not JSON");
    let err = Patient
        .run(&runtime_for(&script), thread())
        .await
        .unwrap_err();
    match err {
        Error::Rejected { attempts, .. } => {
            let raws: Vec<&str> = attempts.iter().map(|a| a.raw.as_str()).collect();
            assert_eq!(raws, ["yes", "still not JSON"]);
            assert!(attempts
                .iter()
                .all(|a| a.problem.contains("not valid JSON")));
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[tokio::test]
async fn without_retries_the_first_failure_is_returned_as_is() {
    // A failed check is `Invalid`, with the problem and the raw output.
    let raw = r#"{"relevant":true,"reason":""}"#;
    let script = ScriptedBackend::new()
        .reply_raw::<Strict>(raw)
        .reply::<Strict>(json!({ "relevant": true, "reason": "never asked for" }));
    let err = Strict
        .run(&runtime_for(&script), thread())
        .await
        .unwrap_err();
    match err {
        Error::Invalid {
            agent,
            problem,
            raw: kept,
        } => {
            assert_eq!(agent, "Strict");
            assert_eq!(problem, EMPTY_REASON);
            assert_eq!(kept, raw);
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert_eq!(script.calls().len(), 1, "no second attempt");
    assert_eq!(script.pending(), 1);

    // Text that does not parse is `Parse`.
    let script = ScriptedBackend::new().reply_raw::<Score>("maybe");
    let err = Score
        .run(&runtime_for(&script), thread())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Parse { agent, raw, .. } if agent == "Score" && raw == "maybe"),
        "{err:?}"
    );
}

// ---------------------------------------------------------------------------
// 4. Voting
// ---------------------------------------------------------------------------

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", input = Thread, output = Verdict, samples = 3)]
struct Vote;

#[tokio::test]
async fn voting_returns_the_answer_given_most_often() {
    let a = json!({ "relevant": true, "reason": "about local models" });
    let b = json!({ "relevant": false, "reason": "about bread" });
    let script = ScriptedBackend::new()
        .reply::<Vote>(a.clone())
        .reply::<Vote>(b.clone())
        .reply::<Vote>(a.clone());
    let runtime = runtime_for(&script);

    let verdict = Vote.run(&runtime, thread()).await.unwrap();

    assert_eq!(serde_json::to_value(&verdict).unwrap(), a);
    let calls = script.calls();
    assert_eq!(calls.len(), 3, "three samples were drawn");
    let seeds: Vec<u32> = calls.iter().map(|c| c.sampling.seed).collect();
    assert_eq!(seeds, [42, 1042, 2042], "each sample has its own seed");
    assert!(calls.iter().all(|c| c.prompt == calls[0].prompt));

    // B, A, A: the majority wins even when it comes later.
    let script = ScriptedBackend::new()
        .reply::<Vote>(b.clone())
        .reply::<Vote>(a.clone())
        .reply::<Vote>(a.clone());
    let verdict = Vote.run(&runtime_for(&script), thread()).await.unwrap();
    assert_eq!(serde_json::to_value(&verdict).unwrap(), a);

    // Three different answers: a tie, which goes to the first one.
    let c = json!({ "relevant": true, "reason": "about GPUs" });
    let script = ScriptedBackend::new()
        .reply::<Vote>(b.clone())
        .reply::<Vote>(a.clone())
        .reply::<Vote>(c);
    let verdict = Vote.run(&runtime_for(&script), thread()).await.unwrap();
    assert_eq!(serde_json::to_value(&verdict).unwrap(), b);
}

#[tokio::test]
async fn voting_counts_answers_that_differ_only_in_layout_as_one() {
    // The same answer written three ways by a model that is free to choose
    // its whitespace and key order; the odd one out comes first.
    let script = ScriptedBackend::new()
        .reply_raw::<Vote>(r#"{"relevant": false, "reason": "about bread"}"#)
        .reply_raw::<Vote>(r#"{"relevant":true,"reason":"about local models"}"#)
        .reply_raw::<Vote>("{ \"reason\": \"about local models\",\n  \"relevant\": true }");
    let verdict = Vote.run(&runtime_for(&script), thread()).await.unwrap();
    assert_eq!(
        verdict,
        Verdict {
            relevant: true,
            reason: "about local models".into()
        }
    );
}

// ---------------------------------------------------------------------------
// 5. Typed tool choice
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Question {
    question: String,
    /// What earlier searches found.
    found: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
enum Action {
    /// Look something up first.
    Search { query: String },
    /// Answer the question.
    Answer { text: String },
}

/// Answer the question if what was found is enough; otherwise search.
#[agent(model = "smollm2-135m", input = Question, output = Action)]
struct Decide;

/// What a dispatched action produced.
#[derive(Debug, PartialEq)]
enum Outcome {
    Found(String),
    Done(String),
}

#[tokio::test]
async fn a_typed_action_dispatches_to_rust_functions() {
    let script = ScriptedBackend::new()
        .reply::<Decide>(json!({ "Search": { "query": "smollm2 context length" } }))
        .reply::<Decide>(json!({ "Answer": { "text": "8192 tokens" } }));
    let runtime = runtime_for(&script);
    let log = Arc::new(Mutex::new(Vec::<String>::new()));

    // The dispatcher: a match over the typed action, in a tool step.
    let tool_log = Arc::clone(&log);
    let step = Decide.then(tool("dispatch", move |action: Action| {
        let log = Arc::clone(&tool_log);
        async move {
            match action {
                Action::Search { query } => {
                    log.lock().unwrap().push(format!("search({query})"));
                    Ok::<_, Infallible>(Outcome::Found(format!("{query}: 8192")))
                }
                Action::Answer { text } => {
                    log.lock().unwrap().push(format!("answer({text})"));
                    Ok(Outcome::Done(text))
                }
            }
        }
    }));

    let mut question = Question {
        question: "How long is SmolLM2's context?".into(),
        found: Vec::new(),
    };
    let mut rounds = 0;
    let answer = loop {
        rounds += 1;
        assert!(rounds <= 3, "the loop ends");
        log.lock().unwrap().push("decide".into());
        match step.run(&runtime, question.clone()).await.unwrap() {
            Outcome::Found(fact) => question.found.push(fact),
            Outcome::Done(text) => break text,
        }
    };

    assert_eq!(answer, "8192 tokens");
    assert_eq!(
        *log.lock().unwrap(),
        [
            "decide",
            "search(smollm2 context length)",
            "decide",
            "answer(8192 tokens)"
        ]
    );
    // The second decision saw what the search found.
    let calls = script.calls_for::<Decide>();
    assert_eq!(
        sent_input(&calls[0]),
        json!({ "question": "How long is SmolLM2's context?", "found": [] })
    );
    assert_eq!(
        sent_input(&calls[1]),
        json!({ "question": "How long is SmolLM2's context?", "found": ["smollm2 context length: 8192"] })
    );
    // Both actions are in the schema the model is constrained by.
    let schema = calls[0].schema.to_string();
    assert!(
        schema.contains("Search") && schema.contains("Answer"),
        "{schema}"
    );
}

#[tokio::test]
async fn a_typed_action_can_be_routed_with_map() {
    let script =
        ScriptedBackend::new().reply::<Decide>(json!({ "Answer": { "text": "use Q4_1" } }));
    let route = Decide.map(|a: Action| match a {
        Action::Search { query } => Err(query),
        Action::Answer { text } => Ok(text),
    });
    let question = Question {
        question: "Which quantisation?".into(),
        found: vec!["Q4_1 is fast".into()],
    };
    assert_eq!(
        route.run(&runtime_for(&script), question).await.unwrap(),
        Ok("use Q4_1".to_string())
    );
}

// ---------------------------------------------------------------------------
// 6. Pre-flight
// ---------------------------------------------------------------------------

/// Tag the summary with up to three topics.
#[agent(model = "qwen-0.5b", input = Summary, output = Tags)]
struct GhostTag;

/// Write a headline from the tags.
#[agent(model = "phi-mini", input = Tags, output = Headline)]
struct GhostTitle;

#[tokio::test]
async fn preflight_reports_every_unregistered_model_before_generating() {
    let script = ScriptedBackend::new()
        .reply::<Summarise>(json!({ "text": "never used" }))
        .reply::<GhostTag>(json!({ "tags": ["never"] }))
        .reply::<GhostTitle>(json!({ "headline": "never" }));
    let runtime = runtime_for(&script);
    let pipeline = Summarise.then(GhostTag).then(GhostTitle);

    let err = runtime.check(&pipeline).await.unwrap_err();
    let Error::Preflight { report } = &err else {
        panic!("expected Preflight, got {err:?}");
    };
    let steps: Vec<&str> = report.problems.iter().map(|p| p.step.as_str()).collect();
    assert_eq!(
        steps,
        ["GhostTag", "GhostTitle"],
        "both problems, in chain order"
    );
    assert!(
        report.problems[0].message.contains("`qwen-0.5b`"),
        "{report}"
    );
    assert!(
        report.problems[1].message.contains("`phi-mini`"),
        "{report}"
    );
    let message = err.to_string();
    for part in ["GhostTag", "qwen-0.5b", "GhostTitle", "phi-mini"] {
        assert!(message.contains(part), "names `{part}`: {message}");
    }

    // Running it fails the same way, and nothing was generated -- not even
    // the first step, whose model is fine.
    let run_err = pipeline.run(&runtime, thread()).await.unwrap_err();
    match run_err {
        Error::Preflight { report: run_report } => assert_eq!(&run_report, report),
        other => panic!("expected Preflight, got {other:?}"),
    }
    assert!(script.calls().is_empty(), "{:?}", script.calls());
    assert_eq!(script.pending(), 3);
    assert_eq!(runtime.usage().calls, 0);

    // Registering the models fixes it (the failed check is not cached).
    let fixed = Runtime::builder()
        .backend(script.clone())
        .model("qwen-0.5b", "/nonexistent/qwen.gguf")
        .model("phi-mini", "/nonexistent/phi.gguf")
        .build();
    fixed.check(&pipeline).await.expect("all models resolve");
    let headline = pipeline.run(&fixed, thread()).await.unwrap();
    assert_eq!(headline.headline, "never");
}

#[tokio::test]
async fn preflight_reports_a_missing_backend_for_every_step() {
    let runtime = Runtime::builder().build();
    let pipeline = Summarise.then(Tag).then(Title);

    let err = runtime.check(&pipeline).await.unwrap_err();
    let Error::Preflight { report } = &err else {
        panic!("expected Preflight, got {err:?}");
    };
    let steps: Vec<&str> = report.problems.iter().map(|p| p.step.as_str()).collect();
    assert_eq!(steps, ["Summarise", "Tag", "Title"]);
    assert!(report
        .problems
        .iter()
        .all(|p| p.message == Error::NoBackend.to_string()));

    let run_err = pipeline.run(&runtime, thread()).await.unwrap_err();
    assert!(
        matches!(&run_err, Error::Preflight { report: r } if r == report),
        "{run_err:?}"
    );
}

#[tokio::test]
async fn preflight_of_a_sound_chain_passes_and_tools_have_nothing_to_check() {
    let runtime = runtime_for(&ScriptedBackend::new());
    runtime
        .check(&Summarise.then(Tag).then(Title))
        .await
        .unwrap();
    runtime.check(&numbers().each(numbers())).await.unwrap();
    runtime
        .check(&both(Score, Summarise).map(|(v, _): (Verdict, Summary)| v))
        .await
        .unwrap();
}

// 7. Tracing: see `traces.rs`.

// ---------------------------------------------------------------------------
// 8. Few-shot examples and input formats
// ---------------------------------------------------------------------------

fn score_shots() -> Vec<(Thread, Verdict)> {
    vec![
        (
            thread_titled("Ollama or llama.cpp for a 1B model?"),
            Verdict {
                relevant: true,
                reason: "compares local runtimes".into(),
            },
        ),
        (
            thread_titled("Best hiking boots"),
            Verdict {
                relevant: false,
                reason: "about boots".into(),
            },
        ),
    ]
}

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", input = Thread, output = Verdict, examples = score_shots)]
struct FewShot;

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", input = Thread, output = Verdict, input_format = "labelled")]
struct LabelledScore;

/// Decide whether a forum thread is about running language models locally.
#[agent(
    model = "smollm2-135m",
    input = Thread,
    output = Verdict,
    input_format = "labelled",
    examples = score_shots
)]
struct LabelledFewShot;

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", input = Thread, output = Verdict, examples = "data/score_examples.jsonl")]
struct FromFile;

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", input = Thread, output = Verdict, examples = "data/bad_examples.jsonl")]
struct BadFile;

#[test]
fn typed_examples_become_earlier_turns_before_the_input() {
    let prompt = Prompt::render::<FewShot>(&thread()).unwrap();
    assert_eq!(
        roles(&prompt),
        [
            Role::System,
            Role::User,
            Role::Assistant,
            Role::User,
            Role::Assistant,
            Role::User
        ]
    );
    let content: Vec<&str> = prompt.messages.iter().map(|m| m.content.as_str()).collect();
    // The system message is the same as without examples.
    assert_eq!(
        content[0],
        Prompt::render::<Score>(&thread()).unwrap().messages[0].content
    );
    for (i, (input, output)) in score_shots().iter().enumerate() {
        let user: Value = serde_json::from_str(content[1 + 2 * i]).unwrap();
        let assistant: Value = serde_json::from_str(content[2 + 2 * i]).unwrap();
        assert_eq!(user, serde_json::to_value(input).unwrap());
        assert_eq!(assistant, serde_json::to_value(output).unwrap());
    }
    // The real input comes last.
    let last: Value = serde_json::from_str(content[5]).unwrap();
    assert_eq!(last, serde_json::to_value(thread()).unwrap());
    assert_eq!(
        <FewShot as Agent>::examples().unwrap(),
        score_shots()
            .iter()
            .map(|(i, o)| Shot {
                input: serde_json::to_value(i).unwrap(),
                output: serde_json::to_value(o).unwrap(),
            })
            .collect::<Vec<_>>()
    );
}

#[test]
fn labelled_input_renders_one_line_per_field() {
    assert_eq!(
        <LabelledScore as Agent>::INPUT_FORMAT,
        InputFormat::Labelled
    );
    let prompt = Prompt::render::<LabelledScore>(&thread()).unwrap();
    assert_eq!(roles(&prompt), [Role::System, Role::User]);
    assert_eq!(
        prompt.message(Role::User).unwrap(),
        "Title: llama.cpp on a Pi 5\nBody: Which quantisation keeps a 135M model fast?"
    );

    // Examples are written the same way as the input; answers stay JSON.
    let prompt = Prompt::render::<LabelledFewShot>(&thread()).unwrap();
    assert_eq!(
        prompt.messages[1].content,
        "Title: Ollama or llama.cpp for a 1B model?\nBody: body of Ollama or llama.cpp for a 1B model?"
    );
    let answer: Value = serde_json::from_str(&prompt.messages[2].content).unwrap();
    assert_eq!(
        answer,
        json!({ "relevant": true, "reason": "compares local runtimes" })
    );
    assert!(prompt.messages[5]
        .content
        .starts_with("Title: llama.cpp on a Pi 5\n"));
}

#[tokio::test]
async fn examples_from_a_jsonl_file_load_and_reach_the_model() {
    let shots = <FromFile as Agent>::examples().expect("the file loads");
    let file = include_str!("../data/score_examples.jsonl");
    let expected: Vec<Shot> = file
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            Shot {
                input: v["input"].clone(),
                output: v["output"].clone(),
            }
        })
        .collect();
    assert_eq!(shots.len(), 2);
    assert_eq!(shots, expected);

    let script = ScriptedBackend::new()
        .reply::<FromFile>(json!({ "relevant": true, "reason": "asks about quantisation" }));
    FromFile.run(&runtime_for(&script), thread()).await.unwrap();
    let prompt = &script.calls()[0].prompt;
    assert_eq!(prompt.messages.len(), 6);
    assert!(prompt.messages[1]
        .content
        .contains("Running SmolLM2 on a laptop"));
    assert!(prompt.messages[4].content.contains("about baking"));
    assert!(prompt.messages[5].content.contains("llama.cpp on a Pi 5"));
}

#[tokio::test]
async fn a_few_shot_file_whose_output_does_not_fit_is_reported_with_its_line() {
    let err = <BadFile as Agent>::examples().unwrap_err();
    let message = err.to_string();
    match &err {
        Error::Dataset { path, line, reason } => {
            assert_eq!(path.to_str(), Some("data/bad_examples.jsonl"));
            assert_eq!(*line, 2);
            assert!(reason.contains("Verdict"), "{reason}");
        }
        other => panic!("expected Dataset, got {other:?}"),
    }
    // The format hint is the few-shot one, not the evaluation dataset's.
    assert!(message.contains("\"output\""), "{message}");
    assert!(!message.contains("\"expected\""), "{message}");

    // Pre-flight catches it before anything runs.
    let script = ScriptedBackend::new().reply::<Summarise>(json!({ "text": "never used" }));
    let runtime = runtime_for(&script);
    let pipeline = both(BadFile, Summarise);
    let err = runtime.check(&pipeline).await.unwrap_err();
    match &err {
        Error::Preflight { report } => {
            assert_eq!(report.problems.len(), 1, "{report}");
            assert_eq!(report.problems[0].step, "BadFile");
            assert!(report.problems[0].message.contains("line 2"), "{report}");
        }
        other => panic!("expected Preflight, got {other:?}"),
    }
    assert!(pipeline.run(&runtime, thread()).await.is_err());
    assert!(script.calls().is_empty());
}

// ---------------------------------------------------------------------------
// 9. Evaluation
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Topic {
    Hardware,
    Software,
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Label {
    relevant: bool,
    topic: Topic,
}

/// Say whether the thread is about local models, and its topic.
#[agent(model = "smollm2-135m", input = Thread, output = Label)]
struct Judge;

fn confusion(pairs: &[((&str, &str), usize)]) -> BTreeMap<(String, String), usize> {
    pairs
        .iter()
        .map(|((w, g), n)| ((w.to_string(), g.to_string()), *n))
        .collect()
}

#[tokio::test]
async fn evaluate_scores_fields_confusions_parse_rate_and_exact_matches() {
    let unparseable = "I think it is relevant";
    let script = ScriptedBackend::new()
        // 0: both fields right.
        .reply::<Judge>(json!({ "relevant": true, "topic": "hardware" }))
        // 1: `relevant` right, `topic` wrong.
        .reply::<Judge>(json!({ "relevant": false, "topic": "software" }))
        // 2: only `relevant` is labelled, and it is wrong.
        .reply::<Judge>(json!({ "relevant": false, "topic": "other" }))
        // 3: does not parse.
        .reply_raw::<Judge>(unparseable);
    let runtime = runtime_for(&script);
    let examples = vec![
        Example {
            input: thread_titled("a"),
            expected: json!({ "relevant": true, "topic": "hardware" }),
        },
        Example {
            input: thread_titled("b"),
            expected: json!({ "relevant": false, "topic": "other" }),
        },
        Example {
            input: thread_titled("c"),
            expected: json!({ "relevant": true }),
        },
        Example {
            input: thread_titled("d"),
            expected: json!({ "relevant": true, "topic": "software" }),
        },
    ];

    let report = evaluate(&Judge, &runtime, examples).await;

    assert_eq!(report.examples, 4);
    assert_eq!(report.parsed, 3);
    assert_eq!(report.parse_rate(), 0.75);
    assert_eq!(report.exact, 1);
    assert_eq!(report.accuracy("relevant"), Some(0.5));
    assert_eq!(report.accuracy("topic"), Some(1.0 / 3.0));
    assert_eq!(report.accuracy("missing"), None);
    let relevant = &report.fields["relevant"];
    assert_eq!((relevant.correct, relevant.total), (2, 4));
    assert_eq!(
        relevant.confusion,
        confusion(&[
            (("false", "false"), 1),
            (("true", "<failed>"), 1),
            (("true", "false"), 1),
            (("true", "true"), 1),
        ])
    );
    let topic = &report.fields["topic"];
    assert_eq!((topic.correct, topic.total), (1, 3));
    assert_eq!(
        topic.confusion,
        confusion(&[
            (("hardware", "hardware"), 1),
            (("other", "software"), 1),
            (("software", "<failed>"), 1),
        ])
    );
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].0, 3);
    assert!(
        report.failures[0].1.contains(unparseable),
        "{:?}",
        report.failures
    );
    // Tokens come from the runtime's counters: every call counts, failed or not.
    let words = 3 + unparseable.split_whitespace().count();
    assert_eq!(report.generated_tokens, words as u64);
    assert_eq!(report.prompt_tokens, 0);

    let text = report.to_string();
    assert!(text.contains("parsed: 3/4 (75%)"), "{text}");
    assert!(text.contains("all labels right: 1/4"), "{text}");
    assert!(text.contains("other -> software: 1  (wrong)"), "{text}");
}
