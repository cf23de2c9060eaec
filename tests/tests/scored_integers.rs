//! Scored choices over bounded integers: an integer field with a small range
//! is a choice among its values; one with a large range, or none, is refused
//! with an error that names the field and the fix.

mod common;

use agentkit::prelude::*;
use agentkit_test::ScriptedBackend;
use common::{runtime_for, thread, Thread};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Category {
    Billing,
    Outage,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Triage {
    category: Category,
    #[schemars(range(min = 1, max = 5))]
    urgency: u8,
}

/// Classify the ticket and rate its urgency from 1 to 5.
#[agent(model = "smollm2-135m", input = Thread, output = Triage)]
struct Classify;

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Wide {
    // A bare `u8`: 0 to 255.
    urgency: u8,
}

/// Rate the urgency.
#[agent(model = "smollm2-135m", input = Thread, output = Wide)]
struct RateWide;

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Unbounded {
    // schemars writes no bounds for an `i128`.
    urgency: i128,
}

/// Rate the urgency.
#[agent(model = "smollm2-135m", input = Thread, output = Unbounded)]
struct RateAnything;

/// Rate the urgency from 1 to 5.
#[agent(model = "smollm2-135m", input = Thread, output = Level)]
struct Rate;

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Level(#[schemars(range(min = -2, max = 2))] i8);

#[tokio::test]
async fn a_bounded_integer_field_decodes_the_likeliest_value() {
    let ln = f64::ln;
    let script = ScriptedBackend::new().scores::<Classify>(vec![
        vec![ln(0.7), ln(0.3)],                              // billing, outage
        vec![ln(0.05), ln(0.1), ln(0.15), ln(0.6), ln(0.1)], // 1 to 5
    ]);
    let runtime = runtime_for(&script);
    let s = scored(Classify).run(&runtime, thread()).await.unwrap();
    assert_eq!(
        s.value,
        Triage {
            category: Category::Billing,
            urgency: 4
        }
    );
    let (field, options) = &s.fields[1];
    assert_eq!(field, "urgency");
    let mut values: Vec<&str> = options.iter().map(|o| o.0.as_str()).collect();
    values.sort();
    assert_eq!(values, ["1", "2", "3", "4", "5"], "the range, no more");
    let p4 = s.probability("urgency", &4u8).unwrap();
    assert!((p4 - 0.6).abs() < 1e-9, "{p4}");
    // An offset names the value as the number it is.
    let script = ScriptedBackend::new().scores::<Classify>(vec![
        vec![ln(0.7), ln(0.3)],
        vec![ln(0.05), ln(0.1), ln(0.15), ln(0.6), ln(0.1)],
    ]);
    let shifted = scored(Classify)
        .offset("urgency", &5, 2.0)
        .run(&runtime_for(&script), thread())
        .await
        .unwrap();
    assert_eq!(shifted.value.urgency, 5);
}

#[tokio::test]
async fn a_bare_bounded_integer_is_a_choice_too() {
    let ln = f64::ln;
    let script = ScriptedBackend::new().scores::<Rate>(vec![vec![
        ln(0.1),
        ln(0.5),
        ln(0.2),
        ln(0.1),
        ln(0.1),
    ]]);
    let s = scored(Rate)
        .run(&runtime_for(&script), thread())
        .await
        .unwrap();
    assert_eq!(s.value, Level(-1));
}

#[tokio::test]
async fn a_wide_or_unbounded_integer_is_refused_naming_the_field_and_the_fix() {
    let runtime = runtime_for(&ScriptedBackend::new());
    let err = scored(RateWide).run(&runtime, thread()).await.unwrap_err();
    let Error::ScoredRange {
        agent,
        field,
        allowed,
        max,
    } = &err
    else {
        panic!("expected ScoredRange, got {err:?}");
    };
    assert_eq!(
        (agent.as_str(), field.as_str(), *max),
        ("RateWide", "field `urgency`", 64)
    );
    assert_eq!(allowed, "256 values (0 to 255)");
    let message = err.to_string();
    assert!(
        message.contains("#[schemars(range(min = 1, max = 5))]"),
        "{message}"
    );

    let err = scored(RateAnything)
        .run(&runtime, thread())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::ScoredRange { allowed, .. } if allowed.starts_with("any integer")),
        "{err:?}"
    );
}
