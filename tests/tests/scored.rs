//! Scored choices against the scripted backend: which answer wins, the
//! probabilities reported, and the outputs that cannot be scored.

mod common;

use agentkit::prelude::*;
use agentkit_test::ScriptedBackend;
use common::{bool_scores, runtime_for, thread, thread_titled, Thread};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Topic {
    /// machines
    Hardware,
    /// speed
    Performance,
    /// anything else
    Other,
}

// Unlike `common::Verdict`, every field is a choice, so it can be scored.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Verdict {
    relevant: bool,
    topic: Topic,
}

/// Decide whether the thread is relevant and what it is about.
#[agent(model = "smollm2-135m", input = Thread, output = Verdict)]
struct Judge;

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct Free {
    reason: String,
}

/// Explain.
#[agent(model = "smollm2-135m", input = Thread, output = Free)]
struct Explain;

#[tokio::test]
async fn the_likeliest_answer_of_each_field_wins_with_normalised_probabilities() {
    let ln = f64::ln;
    let script = ScriptedBackend::new().scores::<Judge>(vec![
        vec![ln(0.2), ln(0.6)],          // relevant: true, false
        vec![ln(0.1), ln(0.7), ln(0.2)], // topic: hardware, performance, other
    ]);
    let runtime = runtime_for(&script);
    let s = scored(Judge).run(&runtime, thread()).await.unwrap();
    assert_eq!(
        s.value,
        Verdict {
            relevant: false,
            topic: Topic::Performance
        }
    );
    let p_false = s.probability("relevant", &false).unwrap();
    assert!((p_false - 0.75).abs() < 1e-9, "{p_false}");
    let p_perf = s.probability("topic", &Topic::Performance).unwrap();
    assert!((p_perf - 0.7).abs() < 1e-9, "{p_perf}");
    for (field, options) in &s.fields {
        let total: f64 = options.iter().map(|o| o.1).sum();
        assert!((total - 1.0).abs() < 1e-9, "{field}: {total}");
        assert!(
            options.windows(2).all(|w| w[0].1 >= w[1].1),
            "likeliest first"
        );
    }
    assert!((s.confidence() - 0.75 * 0.7).abs() < 1e-9);
    assert_eq!(script.calls().len(), 1, "one pass for both fields");
}

#[tokio::test]
async fn outputs_that_are_not_choices_are_refused_before_the_model_is_asked() {
    let script = ScriptedBackend::new();
    let runtime = runtime_for(&script);
    let err = scored(Explain).run(&runtime, thread()).await.unwrap_err();
    match &err {
        Error::UnsupportedSchema { location, .. } => {
            assert_eq!(location, "`/properties/reason`")
        }
        other => panic!("expected UnsupportedSchema, got {other:?}"),
    }
    assert!(script.calls().is_empty());
}

#[tokio::test]
async fn scripted_scores_of_the_wrong_shape_are_reported() {
    let script = ScriptedBackend::new().scores::<Judge>(vec![vec![0.0, 0.0]]);
    let runtime = runtime_for(&script);
    let err = scored(Judge).run(&runtime, thread()).await.unwrap_err();
    assert!(
        err.to_string().contains("2 fields with [2, 3] answers"),
        "{err}"
    );
}

/// Decide whether the thread is relevant.
#[agent(model = "smollm2-135m", input = Thread, output = bool)]
struct Relevant;

#[tokio::test]
async fn calibration_divides_out_the_lean_measured_on_content_free_inputs() {
    // The model says `false` for this thread (0.4 true), but it says `false`
    // for anything (0.2 true on both content-free inputs): relative to that
    // lean, this thread is evidence for `true`.
    let script = ScriptedBackend::new()
        .scores::<Relevant>(bool_scores(0.4)) // the real input, scored first
        .scores::<Relevant>(bool_scores(0.2)) // content-free: empty
        .scores::<Relevant>(bool_scores(0.2)) // content-free: "N/A"
        .scores::<Relevant>(bool_scores(0.1)); // a second real input
    let runtime = runtime_for(&script);
    let empty = Thread {
        title: String::new(),
        body: String::new(),
    };
    let na = Thread {
        title: "N/A".into(),
        body: "N/A".into(),
    };
    let calibrated = scored(Relevant).calibrate(vec![empty, na]);

    let s = calibrated.run(&runtime, thread()).await.unwrap();
    assert!(s.value, "calibrated, the answer flips to true");
    // true: 0.4 / 0.2 = 2; false: 0.6 / 0.8 = 0.75; normalised.
    let p_true = s.probability("", &true).unwrap();
    assert!((p_true - 2.0 / 2.75).abs() < 1e-9, "{p_true}");
    assert_eq!(
        script.calls().len(),
        3,
        "the input, then both content-free inputs"
    );

    // The lean is measured once: the next call costs one scored call.
    let s = calibrated
        .run(&runtime, thread_titled("other"))
        .await
        .unwrap();
    // true: 0.1 / 0.2 = 0.5; false: 0.9 / 0.8 = 1.125.
    assert!(!s.value);
    let p_true = s.probability("", &true).unwrap();
    assert!((p_true - 0.5 / 1.625).abs() < 1e-9, "{p_true}");
    assert_eq!(script.calls().len(), 4);
    assert_eq!(runtime.usage().calls, 4, "scored calls count in usage");

    // Uncalibrated, the same scores give the raw answer.
    let script = ScriptedBackend::new().scores::<Relevant>(bool_scores(0.4));
    let plain = scored(Relevant)
        .run(&runtime_for(&script), thread())
        .await
        .unwrap();
    assert!(!plain.value);
}

/// The content-free inputs `calibrated_relevant` measures the lean on.
fn content_free() -> Vec<Thread> {
    vec![thread_titled(""), thread_titled("N/A")]
}

// Concurrent first calls wait for one measurement of the lean: every item
// costs one scored call, and the content-free inputs one each, once.
#[tokio::test(start_paused = true)]
async fn calibration_is_measured_once_when_the_first_calls_run_concurrently() {
    let items: Vec<Thread> = (0..8).map(|i| thread_titled(&format!("t{i}"))).collect();
    let calls = items.len() + content_free().len();
    let mut script = ScriptedBackend::new();
    // Enough for every item to measure the lean itself, so a race shows as a count.
    for _ in 0..items.len() * (1 + content_free().len()) {
        script = script.scores::<Relevant>(bool_scores(0.4));
    }
    let runtime = runtime_for(&script);
    let fan_out = each(scored(Relevant).calibrate(content_free())).concurrency(8);

    let verdicts = fan_out.run(&runtime, items.clone()).await.unwrap();

    assert_eq!(verdicts.len(), items.len());
    assert_eq!(runtime.usage().calls, calls as u64);
    assert_eq!(script.calls().len(), calls);
}

// A measurement that fails is not kept: the next call measures again.
#[tokio::test]
async fn a_failed_calibration_is_measured_again_by_the_next_call() {
    let script = ScriptedBackend::new()
        .scores::<Relevant>(bool_scores(0.4)) // the input
        .scores::<Relevant>(bool_scores(0.2)); // one content-free input; the other has none
    let runtime = runtime_for(&script);
    let calibrated = scored(Relevant).calibrate(content_free());

    let err = calibrated.run(&runtime, thread()).await.unwrap_err();
    assert!(
        err.to_string().contains(".scores::<Relevant>(vec![...])"),
        "{err}"
    );

    let script = script
        .scores::<Relevant>(bool_scores(0.4))
        .scores::<Relevant>(bool_scores(0.2))
        .scores::<Relevant>(bool_scores(0.2));
    let s = calibrated.run(&runtime, thread()).await.unwrap();
    assert!(s.value, "calibrated on the new measurement");
    assert_eq!(script.calls().len(), 5, "the lean was measured again");
}

// Scores tied to inputs: under concurrency each item gets its own answer,
// whatever order the calls arrive in; the content-free inputs take the
// queued scores.
#[tokio::test(start_paused = true)]
async fn scores_tied_to_inputs_answer_each_item_under_concurrency() {
    let items: Vec<Thread> = (0..8).map(|i| thread_titled(&format!("t{i}"))).collect();
    let mut script = ScriptedBackend::new();
    for i in 0..8 {
        let title = format!("t{i}");
        // Even items lean true, odd ones false, well past the model's lean.
        let p = if i % 2 == 0 { 0.9 } else { 0.05 };
        script = script.scores_when::<Relevant>(move |t: &Thread| t.title == title, bool_scores(p));
    }
    for _ in content_free() {
        script = script.scores::<Relevant>(bool_scores(0.5));
    }
    let runtime = runtime_for(&script);
    let fan_out = each(scored(Relevant).calibrate(content_free())).concurrency(8);
    let verdicts = fan_out.run(&runtime, items.clone()).await.unwrap();
    let values: Vec<bool> = verdicts.iter().map(|s| s.value).collect();
    assert_eq!(values, [true, false, true, false, true, false, true, false]);
    assert_eq!(runtime.usage().calls, 10);
}
