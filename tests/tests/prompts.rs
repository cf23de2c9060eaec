//! What a model is shown: the rendered prompt and the output schema, checked
//! with `insta` against the snapshots in `tests/snapshots/*.snap`.
//!
//! After an intended change: `cargo insta review` (or
//! `INSTA_UPDATE=always cargo test -p agentkit-tests --test prompts`), then read the diff.

use agentkit::prelude::*;
use agentkit::{output_schema, Prompt, Role};
use serde_json::{json, Value};

/// `insta::assert_snapshot!` for the snapshots of this file, kept in
/// `tests/snapshots/<name>.snap`. A missing or different snapshot fails the
/// test; under `CI` insta writes nothing, elsewhere it leaves a `.snap.new`
/// beside the old one for `cargo insta review`.
macro_rules! assert_prompt_snapshot {
    ($name:expr, $text:expr) => {
        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_snapshot!($name, $text);
        })
    };
}

// The README's agent, verbatim.

#[derive(Serialize, Deserialize, JsonSchema)]
struct Thread {
    title: String,
    body: String,
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct Verdict {
    /// true when the thread asks about running models locally
    relevant: bool,
    reason: String,
}

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", temperature = 0.2, input = Thread, output = Verdict)]
struct Score;

fn thread() -> Thread {
    Thread {
        title: "Best quantisation for a 135M model on a Raspberry Pi?".into(),
        body: "I want to run SmolLM2 offline with llama.cpp. Q4_1 or Q8_0?".into(),
    }
}

#[test]
fn score_prompt_matches_snapshot() {
    let prompt = Prompt::render::<Score>(&thread()).expect("render");
    assert_prompt_snapshot!("score_prompt", prompt.to_string());
}

#[test]
fn score_prompt_holds_instructions_field_docs_and_input() {
    let prompt = Prompt::render::<Score>(&thread()).expect("render");
    let roles: Vec<Role> = prompt.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::System, Role::User]);

    let system = prompt.message(Role::System).expect("a system message");
    assert!(
        system
            .starts_with("Decide whether a forum thread is about running language models locally."),
        "the system message opens with the agent's doc comment:\n{system}"
    );
    assert!(
        system.contains("// true when the thread asks about running models locally"),
        "the doc of `relevant` reaches the model:\n{system}"
    );
    assert!(system.contains("\"relevant\": boolean"), "{system}");
    assert!(system.contains("\"reason\": string"), "{system}");

    // The user message is the input as JSON, and nothing else.
    let user = prompt.message(Role::User).expect("a user message");
    let sent: Value = serde_json::from_str(user).expect("the user message is JSON");
    assert_eq!(sent, serde_json::to_value(thread()).expect("to_value"));
    // The instructions are not repeated in the user message.
    assert!(!user.contains("Decide whether"));
}

#[test]
fn prompt_display_labels_each_message() {
    let prompt = Prompt::render::<Score>(&thread()).expect("render");
    let text = prompt.to_string();
    let system_at = text.find("[system]\n").expect("a [system] label");
    let user_at = text.find("[user]\n").expect("a [user] label");
    assert_eq!(system_at, 0);
    assert!(user_at > system_at);
    assert!(text[user_at..].contains("Raspberry Pi"));
}

#[test]
fn score_schema_matches_snapshot() {
    let schema = output_schema::<Verdict>();
    assert_prompt_snapshot!(
        "score_schema",
        serde_json::to_string_pretty(&schema).expect("pretty")
    );
}

#[test]
fn score_schema_is_closed_ordered_and_documented() {
    let schema = output_schema::<Verdict>();
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(property_names(&schema), ["relevant", "reason"]);
    assert_eq!(schema["required"], json!(["relevant", "reason"]));
    assert_eq!(
        schema["properties"]["relevant"]["description"],
        "true when the thread asks about running models locally"
    );
    assert_eq!(schema["properties"]["relevant"]["type"], "boolean");
    assert!(
        schema.get("$schema").is_none(),
        "no meta-schema: it is noise to a grammar engine"
    );
}

// A richer output: nested struct, unit enum, data enum, Option and Vec.

#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Topic {
    Inference,
    Training,
    Hardware,
}

#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Action {
    /// Leave the thread alone.
    Ignore,
    /// Reply with a pointer to the docs.
    Reply { link: String },
    /// Move it to another board.
    Move { board: String, note: Option<String> },
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct Evidence {
    /// A short quote from the thread.
    quote: String,
    /// How strongly the quote supports the topic, 0 to 10.
    weight: u8,
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct Triage {
    /// The main topics, most important first.
    topics: Vec<Topic>,
    action: Action,
    evidence: Vec<Evidence>,
    /// A one-line justification, if the action needs one.
    reason: Option<String>,
}

/// Triage a forum thread: what it is about and what a moderator should do.
#[agent(model = "smollm2-135m", input = Thread, output = Triage)]
struct TriageThread;

#[test]
fn nested_prompt_matches_snapshot() {
    let prompt = Prompt::render::<TriageThread>(&thread()).expect("render");
    assert_prompt_snapshot!("triage_prompt", prompt.to_string());
}

#[test]
fn nested_schema_matches_snapshot() {
    let schema = output_schema::<Triage>();
    assert_prompt_snapshot!(
        "triage_schema",
        serde_json::to_string_pretty(&schema).expect("pretty")
    );
}

#[test]
fn nested_schema_closes_every_object_and_keeps_field_order() {
    let schema = output_schema::<Triage>();
    assert_eq!(
        property_names(&schema),
        ["topics", "action", "evidence", "reason"]
    );
    // `reason` is an Option: it may be left out.
    assert_eq!(schema["required"], json!(["topics", "action", "evidence"]));

    let evidence = resolve(&schema, &schema["properties"]["evidence"]["items"]);
    assert_eq!(property_names(evidence), ["quote", "weight"]);
    assert!(
        evidence["properties"]["weight"].get("format").is_none(),
        "integer formats are dropped; the bounds stay: {evidence}"
    );
    assert_eq!(evidence["properties"]["weight"]["maximum"], 255);

    let mut objects = Vec::new();
    collect_objects(&schema, "#", &mut objects);
    // Triage, Evidence, and the two data-carrying variants of Action (the
    // unit variant `Ignore` is an object of its tag alone).
    assert!(objects.len() >= 4, "found only {objects:?}");
    for (pointer, object) in &objects {
        assert_eq!(
            object.get("additionalProperties"),
            Some(&Value::Bool(false)),
            "the object at {pointer} is left open: {object}"
        );
    }
}

#[test]
fn nested_prompt_describes_enums_options_and_lists() {
    let prompt = Prompt::render::<TriageThread>(&thread()).expect("render");
    let system = prompt.message(Role::System).expect("a system message");
    assert!(
        system.contains(r#""inference" | "training" | "hardware""#),
        "{system}"
    );
    assert!(
        system.contains(r#""reason"?: "#),
        "optional fields are marked: {system}"
    );
    assert!(
        system.contains("// A short quote from the thread."),
        "{system}"
    );
    for tag in [r#""ignore""#, r#""reply""#, r#""move""#] {
        assert!(system.contains(tag), "variant {tag} is described: {system}");
    }
}

/// The property names of an object schema, in order.
fn property_names(schema: &Value) -> Vec<&str> {
    schema["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("no properties in {schema}"))
        .keys()
        .map(String::as_str)
        .collect()
}

/// Follows a local `$ref` into `$defs`.
fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap_or(r);
            &root["$defs"][name]
        }
        None => schema,
    }
}

/// Every sub-schema that lists properties, with a JSON pointer to it.
fn collect_objects<'a>(value: &'a Value, at: &str, out: &mut Vec<(String, &'a Value)>) {
    match value {
        Value::Object(map) => {
            if map.contains_key("properties") {
                out.push((at.to_string(), value));
            }
            for (k, v) in map {
                collect_objects(v, &format!("{at}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                collect_objects(v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}
