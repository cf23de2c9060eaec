//! The constraint path and the error paths, on a tiny random-weight model the
//! suite writes itself. Random weights carry no knowledge, so every valid
//! output here is the grammar's doing.

mod common;

use agentkit::backend::{Backend, ModelSource};
use agentkit::prelude::*;
use agentkit::{Dry, Repetition, Sampling};
use agentkit_backends::llama::{Llama, LlamaConfig};
use agentkit_test::fixture;
use common::{fixture_model, fixture_request, llama, scratch_dir};
use serde::de::DeserializeOwned;
use std::collections::{BTreeSet, HashSet};

#[derive(Deserialize, JsonSchema, Debug)]
#[allow(dead_code)]
struct Flat {
    #[schemars(range(max = 999))]
    n: u16,
    #[schemars(length(max = 8))]
    s: String,
    b: bool,
}

#[derive(Deserialize, JsonSchema, Debug)]
enum Color {
    Red,
    Green,
    Blue,
}

#[derive(Deserialize, JsonSchema, Debug)]
#[allow(dead_code)]
struct Nested {
    color: Color,
    inner: Flat,
    #[schemars(length(max = 3))]
    codes: Vec<u8>,
    maybe: Option<u8>,
}

#[derive(Deserialize, JsonSchema, Debug)]
#[allow(dead_code)]
enum Action {
    Search {
        #[schemars(length(max = 6))]
        query: String,
    },
    Answer {
        yes: bool,
    },
    Stop,
}

/// Runs `T`'s schema under many seeds and temperatures; every output must
/// validate against the schema (checked by an independent validator) and
/// parse into `T`.
async fn every_output_validates<T: JsonSchema + DeserializeOwned>(seeds: u32) {
    every_output_validates_with::<T>(seeds, Sampling::DEFAULT).await;
}

/// [`every_output_validates`] starting from `base` sampling settings.
async fn every_output_validates_with<T: JsonSchema + DeserializeOwned>(seeds: u32, base: Sampling) {
    let schema = agentkit::output_schema::<T>();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for seed in 0..seeds {
        let sampling = base
            .with_temperature([0.0, 0.7, 1.5][seed as usize % 3])
            .with_seed(seed)
            .with_max_tokens(200);
        let completion = llama()
            .generate(fixture_request(schema.clone(), sampling))
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let value: serde_json::Value = serde_json::from_str(&completion.text)
            .unwrap_or_else(|e| panic!("seed {seed}: not JSON ({e}): {:?}", completion.text));
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(
            errors.is_empty(),
            "seed {seed}: {:?} breaks the schema: {errors:?}",
            completion.text
        );
        serde_json::from_str::<T>(&completion.text)
            .unwrap_or_else(|e| panic!("seed {seed}: does not parse into the type: {e}"));
        assert!(completion.generated_tokens > 0);
    }
}

#[tokio::test]
async fn random_model_under_grammar_always_yields_schema_valid_json() {
    every_output_validates::<Flat>(24).await;
    every_output_validates::<Nested>(24).await;
    every_output_validates::<Action>(24).await;
    every_output_validates::<Color>(12).await;
    every_output_validates::<Vec<bool>>(12).await;
}

#[tokio::test]
async fn repetition_penalties_and_min_p_never_let_a_disallowed_token_through() {
    // Heavy penalties push the grammar's own punctuation down hard; the
    // output must still be valid, because they only reorder allowed tokens.
    let heavy = Repetition::DEFAULT
        .with_window(32)
        .with_repeat_penalty(2.5)
        .with_frequency_penalty(1.5)
        .with_presence_penalty(1.0);
    let base = Sampling::DEFAULT.with_repetition(heavy).with_min_p(0.05);
    every_output_validates_with::<Flat>(12, base).await;
    every_output_validates_with::<Nested>(12, base).await;
    every_output_validates_with::<Vec<bool>>(12, base).await;
    // DRY at its strongest, every repeated pair penalised, prompt included.
    let dry = base.with_dry(Dry::DEFAULT.with_multiplier(5.0).with_allowed_length(1));
    every_output_validates_with::<Flat>(12, dry).await;
    every_output_validates_with::<Nested>(12, dry).await;
    every_output_validates_with::<Vec<bool>>(12, dry).await;
}

#[tokio::test]
async fn a_repeat_penalty_changes_what_is_generated() {
    // Greedy on the same prompt: with no penalty the output is fixed; with a
    // strong one, a token already written is less likely to come again, so
    // at least one of a few schemas must come out different.
    let penalised = Sampling::DEFAULT
        .with_temperature(0.0)
        .with_max_tokens(120)
        .with_repetition(
            Repetition::DEFAULT
                .with_repeat_penalty(3.0)
                .with_frequency_penalty(2.0),
        );
    let plain = Sampling::DEFAULT.with_temperature(0.0).with_max_tokens(120);
    let mut differ = 0;
    for schema in [
        agentkit::output_schema::<Flat>(),
        agentkit::output_schema::<Nested>(),
        agentkit::output_schema::<Vec<bool>>(),
    ] {
        let a = llama()
            .generate(fixture_request(schema.clone(), plain))
            .await
            .unwrap();
        let b = llama()
            .generate(fixture_request(schema, penalised))
            .await
            .unwrap();
        differ += usize::from(a.text != b.text);
    }
    assert!(differ > 0, "the penalty changed no output");
}

#[tokio::test]
async fn a_bare_boolean_schema_yields_only_true_or_false() {
    // A random model left free would emit bytes; under `{"type":"boolean"}`
    // there are exactly two answers.
    let sampling = Sampling::DEFAULT.with_temperature(1.0).with_seed(3);
    let as_bool = llama()
        .generate(fixture_request(
            serde_json::json!({"type": "boolean"}),
            sampling,
        ))
        .await
        .unwrap();
    assert!(
        as_bool.text == "true" || as_bool.text == "false",
        "{:?}",
        as_bool.text
    );
}

#[tokio::test]
async fn top_k_with_the_grammar_cannot_abort() {
    // top_k before a grammar sampler aborts llama.cpp; our chain masks first,
    // so top_k only ever sees allowed tokens.
    let schema = agentkit::output_schema::<Flat>();
    for seed in 0..20 {
        let sampling = Sampling::DEFAULT
            .with_temperature(1.5)
            .with_top_k(1 + seed % 3)
            .with_top_p(0.9)
            .with_seed(seed);
        let c = llama()
            .generate(fixture_request(schema.clone(), sampling))
            .await
            .unwrap();
        serde_json::from_str::<Flat>(&c.text).unwrap();
    }
}

#[tokio::test]
async fn same_seed_same_output() {
    let schema = agentkit::output_schema::<Nested>();
    let s = Sampling::DEFAULT.with_temperature(1.0).with_seed(11);
    let a = llama()
        .generate(fixture_request(schema.clone(), s))
        .await
        .unwrap();
    let b = llama().generate(fixture_request(schema, s)).await.unwrap();
    assert_eq!(a.text, b.text);
}

#[tokio::test]
async fn max_tokens_cut_is_a_truncated_error_with_the_partial_text() {
    let sampling = Sampling::DEFAULT.with_max_tokens(3);
    let err = llama()
        .generate(fixture_request(
            agentkit::output_schema::<Nested>(),
            sampling,
        ))
        .await
        .unwrap_err();
    match &err {
        Error::Truncated {
            partial,
            max_tokens,
            ..
        } => {
            assert_eq!(*max_tokens, 3);
            assert!(partial.starts_with('{'), "{partial:?}");
        }
        other => panic!("expected Truncated, got {other:?}"),
    }
    assert!(err.to_string().contains("raise `max_tokens`"));
}

#[tokio::test]
async fn prompt_larger_than_the_context_is_refused_before_decoding() {
    let mut request = fixture_request(agentkit::output_schema::<Flat>(), Sampling::DEFAULT);
    request.prompt.messages[1].content = "word ".repeat(400);
    let err = llama().generate(request).await.unwrap_err();
    match &err {
        Error::ContextOverflow {
            prompt_tokens,
            context,
            max_tokens,
            ..
        } => {
            assert_eq!(*context, 512, "the fixture was trained on 512 tokens");
            assert!(prompt_tokens + *max_tokens as usize > *context);
        }
        other => panic!("expected ContextOverflow, got {other:?}"),
    }
    assert!(err.to_string().contains("shorten the input"), "{err}");
}

#[tokio::test]
async fn unsupported_schema_fails_before_any_token() {
    // A regex with a look-ahead cannot be turned into a token grammar.
    let schema = serde_json::json!({
        "type": "object",
        "properties": { "code": { "type": "string", "pattern": "(?=a)b" } },
        "required": ["code"],
        "additionalProperties": false
    });
    let err = llama()
        .generate(fixture_request(schema, Sampling::DEFAULT))
        .await
        .unwrap_err();
    match &err {
        Error::UnsupportedSchema {
            location, reason, ..
        } => {
            assert_eq!(location, "`/properties/code/pattern`", "{reason}");
            assert!(reason.contains("look-around"), "{reason}");
        }
        other => panic!("expected UnsupportedSchema, got {other:?}"),
    }
}

#[tokio::test]
async fn missing_model_file_names_alias_path_and_fix() {
    let mut request = fixture_request(serde_json::json!({"type": "boolean"}), Sampling::DEFAULT);
    request.model.alias = "smollm2-135m".into();
    request.model.source = ModelSource::File(scratch_dir().join("nowhere").join("model.gguf"));
    let err = llama().generate(request).await.unwrap_err();
    assert!(matches!(err, Error::ModelNotFound { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("smollm2-135m"), "{msg}");
    assert!(msg.contains("nowhere/model.gguf"), "{msg}");
    // Not the default model's file, so the fix is to register the right one.
    assert!(
        msg.contains("Runtime::builder().model(\"smollm2-135m\", path)"),
        "{msg}"
    );
}

#[tokio::test]
async fn corrupt_and_cut_short_files_are_load_errors_not_aborts() {
    let garbage = scratch_dir().join("garbage.gguf");
    std::fs::write(&garbage, b"this is not a gguf file at all, just text").unwrap();
    let full = std::fs::read(fixture_model()).unwrap();
    let cut = scratch_dir().join("cut.gguf");
    std::fs::write(&cut, &full[..full.len() / 2]).unwrap();
    for path in [garbage, cut] {
        let mut request =
            fixture_request(serde_json::json!({"type": "boolean"}), Sampling::DEFAULT);
        request.model.alias = "broken".into();
        request.model.source = ModelSource::File(path.clone());
        let err = llama().generate(request).await.unwrap_err();
        assert!(
            matches!(err, Error::ModelLoad { .. }),
            "{}: {err:?}",
            path.display()
        );
        assert!(err.to_string().contains("broken"));
    }
}

#[tokio::test]
async fn gguf_without_chat_template_is_a_clear_error_and_an_override_fixes_it() {
    let path = scratch_dir().join("no-template.gguf");
    fixture::write_fixture_model_without_chat_template(&path, 7).unwrap();
    let mut request = fixture_request(serde_json::json!({"type": "boolean"}), Sampling::DEFAULT);
    request.model.alias = "plain".into();
    request.model.source = ModelSource::File(path);
    let err = llama().generate(request.clone()).await.unwrap_err();
    assert!(matches!(err, Error::ChatTemplate { .. }), "{err:?}");
    assert!(err.to_string().contains("no chat template"), "{err}");

    let with_template =
        Llama::new(LlamaConfig::default().threads(1).chat_template("chatml")).unwrap();
    let ok = with_template.generate(request).await.unwrap();
    assert!(ok.text == "true" || ok.text == "false");
}

/// Decide nothing in particular; the fixture model has no knowledge.
#[agent(model = "fixture", temperature = 0.9, max_tokens = 120, input = String, output = Nested)]
struct Probe;

/// An agent whose model nobody registered.
#[agent(model = "not-registered", input = String, output = bool)]
struct Lost;

#[tokio::test]
async fn agents_run_on_the_fixture_and_unknown_aliases_are_named() {
    let runtime = Runtime::builder()
        .backend(llama().clone())
        .model("fixture", fixture_model())
        .build();
    let out: Nested = Probe.run(&runtime, "hello".to_string()).await.unwrap();
    assert!(out.codes.len() <= 3);
    let err = Lost.run(&runtime, "x".into()).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("`not-registered`") && msg.contains("fixture"),
        "{msg}"
    );
}

#[tokio::test]
async fn fields_are_generated_in_declaration_order() {
    // So a `reasoning` field declared first is written before the verdict.
    for seed in 0..8 {
        let sampling = Sampling::DEFAULT.with_temperature(1.0).with_seed(seed);
        let c = llama()
            .generate(fixture_request(
                agentkit::output_schema::<Nested>(),
                sampling,
            ))
            .await
            .unwrap();
        let at = |key: &str| c.text.find(&format!("\"{key}\":")).unwrap_or(usize::MAX);
        assert!(at("color") < at("inner"), "{}", c.text);
        assert!(at("inner") < at("codes"), "{}", c.text);
        assert!(at("n") < at("s") && at("s") < at("b"), "{}", c.text);
    }
}

#[derive(Serialize, Deserialize, JsonSchema, Debug)]
struct Bag {
    #[schemars(length(max = 4), inner(length(max = 6)))]
    tags: BTreeSet<String>,
    #[schemars(length(max = 4))]
    codes: HashSet<u8>,
    /// Two possible items: a random model that writes three repeats one.
    #[schemars(length(max = 4))]
    flags: BTreeSet<bool>,
}

/// Fill a bag; the fixture model has no knowledge.
#[agent(model = "fixture", temperature = 1.0, max_tokens = 120, input = String, output = Bag)]
struct Fill;

#[tokio::test]
async fn set_fields_compile_and_a_repeat_is_dropped_by_the_set() {
    // schemars writes `uniqueItems` for sets; the grammar leaves it out, so a
    // random model may repeat an item, and the parsed set drops the repeat:
    // the result then meets the full schema, `uniqueItems` included.
    let full = agentkit::output_schema::<Bag>();
    assert_eq!(full["properties"]["codes"]["uniqueItems"], true);
    let grammar = jsonschema::validator_for(&agentkit::grammar_schema(&full)).unwrap();
    let strict = jsonschema::validator_for(&full).unwrap();
    let mut repeats = 0;
    for seed in 0..24 {
        let sampling = Sampling::DEFAULT
            .with_temperature([0.7, 1.5][seed as usize % 2])
            .with_seed(seed)
            .with_max_tokens(120);
        let completion = llama()
            .generate(fixture_request(full.clone(), sampling))
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let raw: serde_json::Value = serde_json::from_str(&completion.text).unwrap();
        assert!(grammar.is_valid(&raw), "seed {seed}: {raw}");
        if !strict.is_valid(&raw) {
            repeats += 1;
        }
        let bag: Bag = serde_json::from_str(&completion.text)
            .unwrap_or_else(|e| panic!("seed {seed}: {e}: {}", completion.text));
        let parsed = serde_json::to_value(&bag).unwrap();
        assert!(strict.is_valid(&parsed), "seed {seed}: {parsed}");
    }
    // Two values for up to four `flags`: 24 random answers without a single
    // repeat would mean the repeat path was never taken.
    assert!(
        repeats > 0,
        "no answer repeated an item; the test proves nothing"
    );
    println!("{repeats} of 24 answers repeated an item");

    let runtime = Runtime::builder()
        .backend(llama().clone())
        .model("fixture", fixture_model())
        .build();
    runtime.check(&Fill).await.unwrap();
    let bag = Fill.run(&runtime, "anything".into()).await.unwrap();
    assert!(
        bag.tags.len() <= 4 && bag.codes.len() <= 4 && bag.flags.len() <= 2,
        "{bag:?}"
    );
}

#[derive(Deserialize, JsonSchema, Debug)]
#[allow(dead_code)]
struct Wide {
    signed: i64,
    unsigned: u64,
}

// 64-bit integers compile to a grammar (their bounds once overflowed inside
// llguidance) and come out as valid numbers.
#[tokio::test]
async fn sixty_four_bit_integers_compile_and_validate() {
    every_output_validates::<Wide>(6).await;
}
