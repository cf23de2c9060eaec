//! Per-answer offsets on scored choices and the tuner that fits them, against
//! the scripted backend: offsets flip answers, the tuner beats a constant
//! answer on canned probabilities, and its tuning file round-trips into the
//! agent at run time.

mod common;

use agentkit::eval::Example;
use agentkit::prelude::*;
use agentkit::tune::{tune, Metric, Search, Tuning};
use agentkit::{Role, Shot};
use agentkit_test::ScriptedBackend;
use common::{bool_scores, runtime_for, thread, thread_titled, Thread};
use serde_json::json;

/// Decide whether the thread is relevant.
#[agent(model = "smollm2-135m", input = Thread, output = bool)]
struct Relevant;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Question,
    Showcase,
    Poll,
}

/// Say what kind of post this is.
#[agent(model = "smollm2-135m", input = Thread, output = Kind)]
struct KindOf;

#[tokio::test]
async fn an_offset_moves_the_choice_and_the_reported_probabilities() {
    let script = ScriptedBackend::new()
        .scores::<Relevant>(bool_scores(0.6))
        .scores::<Relevant>(bool_scores(0.8));
    let runtime = runtime_for(&script);
    // ln 2 on `false`: P(true) must beat 2/3 to win.
    let biased = scored(Relevant).offset("", &false, 2f64.ln());
    let s = biased.run(&runtime, thread()).await.unwrap();
    assert!(!s.value, "0.6 is under 2/3");
    // true: 0.6; false: 0.4 * 2 = 0.8; normalised.
    let p_false = s.probability("", &false).unwrap();
    assert!((p_false - 0.8 / 1.4).abs() < 1e-9, "{p_false}");
    let s = biased.run(&runtime, thread()).await.unwrap();
    assert!(s.value, "0.8 is over 2/3");
}

#[tokio::test]
async fn an_offset_on_an_answer_the_output_lacks_is_refused() {
    let script = ScriptedBackend::new().scores::<KindOf>(vec![vec![0.0, 0.0, 0.0]]);
    let runtime = runtime_for(&script);
    let err = scored(KindOf)
        .offset("", "rant", 1.0)
        .run(&runtime, thread())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains(r#"answer "rant", which is not one of "question", "showcase", "poll""#),
        "{message}"
    );
    assert!(
        script.calls().is_empty(),
        "refused before the model is asked"
    );
}

/// Labelled threads whose P(true) is always above one half, but separates
/// the labels at 0.75: argmax says `true` for all of them.
fn leaning(tag: &str) -> (Vec<Example<Thread>>, Vec<f64>) {
    let rows = [
        (0.9, true),
        (0.85, true),
        (0.8, true),
        (0.7, false),
        (0.65, false),
        (0.6, false),
    ];
    let examples = rows
        .iter()
        .enumerate()
        .map(|(i, (_, label))| Example {
            input: thread_titled(&format!("{tag} {i}")),
            expected: json!({ "relevant": label }),
        })
        .collect();
    (examples, rows.iter().map(|r| r.0).collect())
}

#[tokio::test]
async fn the_tuner_beats_a_constant_answer_and_its_file_is_loaded_at_run_time() {
    let (dev, dev_p) = leaning("dev");
    let (test, test_p) = leaning("test");
    let mut script = ScriptedBackend::new();
    // One few-shot set: the dev split, the test split, then the content-free input.
    for p in dev_p.iter().chain(&test_p).chain([&0.75]) {
        script = script.scores::<Relevant>(bool_scores(*p));
    }
    let runtime = runtime_for(&script);
    let blank = thread_titled("");
    let search = Search::new("relevant").content_free(vec![blank]);
    let report = tune(Relevant, &runtime, &search, &dev, &test)
        .await
        .unwrap();

    let names: Vec<&str> = report.candidates.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "own examples, argmax",
            "own examples, calibrated",
            "own examples, argmax + fitted offsets",
            "own examples, calibrated + fitted offsets",
        ]
    );
    assert_eq!(
        report.candidates[0].dev.correct, 3,
        "argmax: `true` for all"
    );
    assert_eq!(report.candidates[0].dev.predicted.get("true"), Some(&6));
    let chosen = &report.candidates[report.chosen];
    assert_eq!(chosen.dev.correct, 6);
    assert_eq!(chosen.test.as_ref().map(|t| t.correct), Some(6));
    // Calibrating on a content-free P(true) of 0.75 already puts the cut at
    // 0.75, and the simplest of the perfect candidates wins.
    assert_eq!(report.chosen, 1);
    assert_eq!(report.tuning.candidate, "own examples, calibrated");
    assert!(report
        .to_string()
        .contains("| own examples, calibrated **(chosen)** | 0 | 1.00 | 6/6 |"));
    // Six examples cannot be cut into five folds of two: said so.
    assert!(report
        .note
        .as_deref()
        .is_some_and(|n| n.contains("too small to choose by cross-validation")));

    // The file round-trips, and the agent loaded from it decides by it.
    let path = std::env::temp_dir().join(format!("agentkit-tune-{}.json", std::process::id()));
    report.tuning.save(&path).unwrap();
    let tuning = Tuning::load(&path).unwrap();
    assert_eq!(tuning, report.tuning);
    let tuned = scored(Relevant).tuned_from(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let script = ScriptedBackend::new()
        .scores::<Relevant>(bool_scores(0.7))
        .scores::<Relevant>(bool_scores(0.8));
    let runtime = runtime_for(&script);
    assert!(!tuned.run(&runtime, thread()).await.unwrap().value);
    assert!(tuned.run(&runtime, thread()).await.unwrap().value);

    // Fitted on another model file, the offsets are left out.
    let mut elsewhere = tuning.clone();
    elsewhere.model = Some("another-model.gguf".into());
    let untuned = scored(Relevant).tuned(&elsewhere).unwrap();
    let script = ScriptedBackend::new().scores::<Relevant>(bool_scores(0.7));
    assert!(
        untuned
            .run(&runtime_for(&script), thread())
            .await
            .unwrap()
            .value
    );

    // A tuning names its agent.
    let Err(err) = scored(KindOf).tuned(&tuning) else {
        panic!("a tuning for `Relevant` was accepted by `KindOf`");
    };
    assert!(
        err.to_string()
            .contains("written for agent `Relevant`, not `KindOf`"),
        "{err}"
    );
}

#[tokio::test]
async fn decoy_answers_count_as_labels_and_other_shots_are_shown() {
    // Three kinds; only a question is worth answering. The model never says
    // "question" outright, but it leans to it on the threads that are.
    let scores = [
        ([0.45, 0.5, 0.05], true),
        ([0.4, 0.55, 0.05], true),
        ([0.1, 0.6, 0.3], false),
        ([0.05, 0.5, 0.45], false),
    ];
    let dev: Vec<Example<Thread>> = scores
        .iter()
        .enumerate()
        .map(|(i, (_, worth))| Example {
            input: thread_titled(&format!("dev {i}")),
            expected: json!({ "worth_answering": worth }),
        })
        .collect();
    let mut script = ScriptedBackend::new();
    for _set in 0..2 {
        for (p, _) in &scores {
            script = script.scores::<KindOf>(vec![p.iter().map(|x: &f64| x.ln()).collect()]);
        }
    }
    let runtime = runtime_for(&script);
    let shot = Shot {
        input: json!({ "title": "Which GPU?", "body": "For a 7B model." }),
        output: json!("question"),
    };
    let search = Search::new("worth_answering")
        .counts_as(&Kind::Question, &true)
        .counts_as(&Kind::Showcase, &false)
        .counts_as(&Kind::Poll, &false)
        .shots("one question", vec![shot.clone()])
        .metric(Metric::BalancedAccuracy);
    let report = tune(KindOf, &runtime, &search, &dev, &[]).await.unwrap();
    assert_eq!(
        report.candidates[0].dev.correct, 2,
        "argmax: never a question"
    );
    let chosen = &report.candidates[report.chosen];
    assert_eq!(chosen.dev.correct, 4, "{report}");
    assert!(chosen.test.is_none());
    assert!(report.tuning.offsets[r#""question""#] > report.tuning.offsets[r#""showcase""#]);

    // The second few-shot set reached the model as an earlier turn.
    let calls = script.calls();
    assert_eq!(calls.len(), 8);
    let shown = |i: usize| {
        calls[i]
            .prompt
            .messages
            .iter()
            .filter(|m| m.role == Role::Assistant)
            .count()
    };
    assert_eq!((shown(0), shown(4)), (0, 1));
}

/// `Relevant` tuned on a dev split of `rows` (P(true), label), scripted in
/// order, with the default search.
async fn tuned_on(rows: &[(f64, bool)]) -> agentkit::tune::TuneReport {
    let mut script = ScriptedBackend::new();
    let dev: Vec<Example<Thread>> = rows
        .iter()
        .enumerate()
        .map(|(i, (p, label))| {
            script = std::mem::take(&mut script).scores::<Relevant>(bool_scores(*p));
            Example {
                input: thread_titled(&format!("dev {i}")),
                expected: json!({ "relevant": label }),
            }
        })
        .collect();
    let search = Search::new("relevant");
    let report = tune(Relevant, &runtime_for(&script), &search, &dev, &[])
        .await
        .unwrap();
    println!("{report}");
    report
}

#[tokio::test]
async fn cross_validation_keeps_offsets_that_transfer() {
    // P(true) is always above one half and separates the labels at 0.75:
    // fitted offsets find the cut on every fold, argmax never does.
    let rows: Vec<(f64, bool)> = (0..20)
        .map(|i| {
            let p = 0.55 + 0.02 * f64::from(i);
            (p, p > 0.75)
        })
        .collect();
    let report = tuned_on(&rows).await;
    let argmax = report.candidates[0].cv.unwrap();
    let fitted = report.candidates[1].cv.unwrap();
    assert_eq!((argmax.folds, report.candidates[1].fitted), (5, 2));
    assert!((argmax.mean - 0.5).abs() < 0.11, "{argmax:?}");
    assert!(fitted.mean > 0.9, "{fitted:?}");
    assert_eq!(report.chosen, 1);
    assert_eq!(report.note, None);
    assert_eq!(report.tuning.cv, Some(fitted.mean));
}

#[tokio::test]
async fn offsets_fitted_to_noise_lose_to_fewer_numbers_when_the_folds_cannot_tell() {
    // P(true) says nothing about the label: whatever cut fits the dev
    // split fits its noise. Argmax ("false" for all) fits nothing.
    let positives = [1, 4, 7, 11, 15, 18];
    let rows: Vec<(f64, bool)> = (0..20)
        .map(|i: usize| (0.1 + ((i * 37) % 20) as f64 / 50.0, positives.contains(&i)))
        .collect();
    let report = tuned_on(&rows).await;
    let chosen = &report.candidates[report.chosen];
    assert_eq!(chosen.fitted, 0, "{report}");
    assert!(
        report.candidates[1].dev.metric >= report.candidates[0].dev.metric,
        "fitted on all of dev, the offsets look at least as good: {report}"
    );
}

#[tokio::test]
async fn a_dev_split_too_small_for_folds_is_said_so() {
    let report = tuned_on(&[(0.9, true), (0.8, true), (0.3, false), (0.2, false)]).await;
    assert!(report.candidates.iter().all(|c| c.cv.is_none()));
    let note = report.note.clone().unwrap_or_default();
    assert!(
        note.contains("too small to choose by cross-validation")
            && note.contains("4 labelled examples"),
        "{note}"
    );
    assert!(report.to_string().contains(&note));
}
