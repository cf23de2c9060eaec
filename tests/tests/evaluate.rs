//! Evaluation: `evaluate` runs an agent over labelled examples and reports
//! per-field accuracy and confusions, the parse rate, exact matches and tokens.

mod common;

use std::collections::BTreeMap;

use agentkit::eval::{evaluate, Example};
use agentkit::prelude::*;
use agentkit_test::ScriptedBackend;
use common::{runtime_for, thread_titled, Thread};
use serde_json::json;

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

#[tokio::test]
async fn a_field_answered_the_same_for_every_example_is_reported_constant() {
    let script = ScriptedBackend::new()
        .always_when::<Judge>(|_| true, json!({ "relevant": true, "topic": "hardware" }));
    let runtime = runtime_for(&script);
    let topics = ["hardware", "software", "other", "software"];
    let examples: Vec<Example<Thread>> = topics
        .iter()
        .map(|topic| Example {
            input: thread_titled(topic),
            // One label value for `relevant`: a constant answer is right there.
            expected: json!({ "relevant": true, "topic": topic }),
        })
        .collect();

    let report = evaluate(&Judge, &runtime, examples.clone()).await;

    let constant = report.constant_answers();
    assert_eq!(constant.len(), 1, "{constant:?}");
    let c = &constant[0];
    assert_eq!(
        (c.field.as_str(), c.answer.as_str(), c.examples, c.labels),
        ("topic", "hardware", 4, 3)
    );
    let text = report.to_string();
    assert!(
        text.contains("warning: `topic` was hardware for all 4 examples"),
        "{text}"
    );

    // Two examples are too few to call an answer constant.
    let report = evaluate(&Judge, &runtime, examples[..2].to_vec()).await;
    assert!(report.constant_answers().is_empty());
}
