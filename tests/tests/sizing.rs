//! Right-sizing on the scripted backend: each candidate model runs the agent
//! (its calls reach that model), the tuned agent is cross-validated per
//! model, the rules choose as documented, and the choice is written into the
//! manifest and the tuning file.

mod common;

use std::path::PathBuf;

use agentkit::eval::Example;
use agentkit::prelude::*;
use agentkit::size::{Choose, Sizing};
use agentkit::tune::{Search, Tuning};
use agentkit_test::ScriptedBackend;
use common::{bool_scores, runtime_for, thread_titled, Thread};
use serde_json::json;

/// Decide whether the thread is relevant.
#[agent(model = "smollm2-135m", input = Thread, output = bool)]
struct Relevant;

/// Reply to the thread.
#[agent(model = "smollm2-135m", input = Thread, output = Reply)]
struct Draft;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
struct Reply {
    text: String,
}

/// Ten labelled threads, five of each label (enough for five folds).
fn labelled(tag: &str, n: usize) -> Vec<Example<Thread>> {
    (0..n)
        .map(|i| Example {
            input: thread_titled(&format!("{tag} {i}")),
            expected: json!({ "relevant": i % 2 == 0 }),
        })
        .collect()
}

/// P(true) per example: `separates` follows the labels (even = relevant),
/// otherwise the probabilities say nothing about them.
fn probabilities(n: usize, separates: bool) -> Vec<f64> {
    (0..n)
        .map(|i| match (separates, i % 2 == 0) {
            (true, true) => 0.8,
            (true, false) => 0.2,
            // Uninformative: high and low alternate in pairs, across labels.
            (false, _) => [0.7, 0.7, 0.3, 0.3][i % 4],
        })
        .collect()
}

/// A scripted backend whose `small` model says nothing about relevance and
/// whose `big` model separates it, over a dev split of `dev` examples and a
/// held-out split of `held` (the calls of one candidate, then the other's).
fn script(dev: usize, held: usize) -> ScriptedBackend {
    let mut script = ScriptedBackend::new();
    for separates in [false, true] {
        for p in probabilities(dev, separates)
            .into_iter()
            .chain(probabilities(held, separates))
        {
            script = script.scores::<Relevant>(bool_scores(p));
        }
    }
    script
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("agentkit-sizing-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn each_candidate_is_tuned_and_scored_on_its_own_model_and_the_smallest_that_reaches_the_target_wins(
) {
    let (dev, held) = (labelled("dev", 10), labelled("held", 4));
    let script = script(10, 4);
    let runtime = runtime_for(&script);
    let report = Sizing::new(&["small", "big"], &dev)
        .held_out("held", &held)
        .choose(Choose::Smallest { target: 0.9 })
        .scored(Relevant, &runtime, &Search::new("relevant"))
        .await
        .unwrap();

    // Every call went to the candidate being measured, in turn.
    let models: Vec<String> = script
        .calls()
        .iter()
        .map(|r| r.model.path().unwrap().display().to_string())
        .collect();
    assert_eq!(models.len(), 28);
    assert!(models[..14].iter().all(|m| m == "small"), "{models:?}");
    assert!(models[14..].iter().all(|m| m == "big"), "{models:?}");

    let [small, big] = &report.candidates[..] else {
        panic!("two candidates: {report}")
    };
    assert_eq!(report.alias, "smollm2-135m");
    let cv = big.cv.expect("ten dev examples make five folds");
    assert_eq!(cv.folds, 5);
    assert_eq!(big.choosing_score(), 1.0, "{report}");
    assert_eq!(big.held_out[0].1.correct, 4, "{report}");
    assert!(small.choosing_score() < 0.9, "{report}");
    assert_eq!(small.held_out[0].0, "held");
    assert_eq!(big.latencies.len(), 4, "one latency per held-out call");
    assert_eq!(report.choice().unwrap().model, "big", "{report}");
    assert!(
        report.note.contains("smallest that reaches 0.90"),
        "{report}"
    );
    // Each tuning records the model it was fitted on.
    assert_eq!(
        small.tuning.as_ref().unwrap().model.as_deref(),
        Some("small")
    );
    assert_eq!(big.tuning.as_ref().unwrap().model.as_deref(), Some("big"));
    let shown = report.to_string();
    assert!(shown.contains("| big **(chosen)** |"), "{shown}");
    assert_eq!(script.pending(), 0);

    // The choice lands where the runtime reads it; the rest of the file stays.
    let dir = scratch("write");
    let manifest = dir.join("agentkit.toml");
    std::fs::write(
        &manifest,
        "# steps\n[models]\nsmollm2-135m = \"small\"  # for now\nother = \"small\"\n",
    )
    .unwrap();
    let tuning = dir.join("Relevant.json");
    report.write_choice(&manifest, Some(&tuning)).unwrap();
    assert_eq!(
        std::fs::read_to_string(&manifest).unwrap(),
        "# steps\n[models]\nsmollm2-135m = \"big\"  # for now\nother = \"small\"\n"
    );
    let saved = Tuning::load(&tuning).unwrap();
    assert_eq!(saved.model.as_deref(), Some("big"));
    let rebuilt = Runtime::builder()
        .backend(script.clone())
        .manifest(&manifest)
        .unwrap()
        .build();
    assert_eq!(
        rebuilt.model("smollm2-135m").unwrap().path().unwrap(),
        std::path::Path::new("big")
    );
}

#[tokio::test]
async fn most_accurate_prefers_a_smaller_model_the_data_cannot_tell_apart() {
    // Both candidates separate the labels: equal scores, so the first
    // (smaller, as the backend reports no sizes) wins.
    let dev = labelled("dev", 10);
    let mut script = ScriptedBackend::new();
    for _ in 0..2 {
        for p in probabilities(10, true) {
            script = script.scores::<Relevant>(bool_scores(p));
        }
    }
    let runtime = runtime_for(&script);
    let report = Sizing::new(&["small", "big"], &dev)
        .scored(Relevant, &runtime, &Search::new("relevant"))
        .await
        .unwrap();
    assert_eq!(report.choice().unwrap().model, "small", "{report}");
    assert!(
        report.note.contains("`small` is the most accurate"),
        "{report}"
    );
}

#[tokio::test]
async fn a_target_no_candidate_reaches_writes_nothing_and_says_why() {
    let (dev, held) = (labelled("dev", 10), labelled("held", 4));
    let runtime = runtime_for(&script(10, 4));
    let report = Sizing::new(&["small", "big"], &dev)
        .held_out("held", &held)
        .choose(Choose::Smallest { target: 1.01 })
        .scored(Relevant, &runtime, &Search::new("relevant"))
        .await
        .unwrap();
    assert!(report.choice().is_none());
    assert!(
        report
            .note
            .contains("no candidate reaches 1.01; the best is `big` at 1.00"),
        "{}",
        report.note
    );
    let dir = scratch("none");
    let manifest = dir.join("agentkit.toml");
    std::fs::write(&manifest, "[models]\nsmollm2-135m = \"small\"\n").unwrap();
    let err = report.write_choice(&manifest, None).unwrap_err();
    assert!(
        err.to_string().contains("no candidate met the rule"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&manifest).unwrap(),
        "[models]\nsmollm2-135m = \"small\"\n",
        "nothing written"
    );
}

#[tokio::test]
async fn a_generating_agent_is_scored_by_the_check_and_a_failed_run_counts_against_it() {
    let dev: Vec<Example<Thread>> = (0..3)
        .map(|i| Example {
            input: thread_titled(&format!("question {i}")),
            expected: serde_json::Value::Null,
        })
        .collect();
    let held = dev[..2].to_vec();
    let mut script = ScriptedBackend::new();
    // small: two short replies, one long, then one that is not JSON, one short.
    for text in ["ok", "ok", "a real answer to the question"] {
        script = script.reply::<Draft>(json!({ "text": text }));
    }
    script = script
        .reply_raw::<Draft>("not json")
        .reply::<Draft>(json!({ "text": "ok" }));
    // big: every reply is an answer.
    for _ in 0..5 {
        script = script.reply::<Draft>(json!({ "text": "a real answer to the question" }));
    }
    let runtime = runtime_for(&script);
    let report = Sizing::new(&["small", "big"], &dev)
        .held_out("held", &held)
        .generated(&Draft, &runtime, async |_: &Thread, reply: &Reply| {
            reply.text.len() > 10
        })
        .await
        .unwrap();
    let [small, big] = &report.candidates[..] else {
        panic!("{report}")
    };
    assert_eq!((small.dev.correct, small.dev.total), (1, 3), "{report}");
    assert_eq!(small.held_out[0].1.correct, 0, "{report}");
    assert_eq!(small.failures.len(), 1, "{report}");
    assert_eq!((big.dev.correct, big.held_out[0].1.correct), (3, 2));
    assert!(big.generated_tokens >= 0.0 && big.cv.is_none());
    assert_eq!(report.choice().unwrap().model, "big", "{report}");
}

#[tokio::test]
async fn an_unknown_candidate_or_an_empty_dev_split_is_a_clear_error() {
    let script = ScriptedBackend::new().registered_models_only();
    let runtime = Runtime::builder()
        .backend(script.clone())
        .model("smollm2-135m", "small.gguf")
        .build();
    let dev = labelled("dev", 10);
    let err = Sizing::new(&["smollm2-135m", "qwen-typo"], &dev)
        .scored(Relevant, &runtime, &Search::new("relevant"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("qwen-typo"), "{err}");
    assert!(script.calls().is_empty(), "refused before any call");
    let err = Sizing::new(&["smollm2-135m"], &[])
        .scored(Relevant, &runtime, &Search::new("relevant"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("empty dev split"), "{err}");
}
