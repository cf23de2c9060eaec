//! The model report: what a runtime says about each of its models before any
//! call, on fixture models written by the test (and on SmolLM2 in
//! `smollm2.rs`).

mod common;

use agentkit::backend::TemplateSource;
use agentkit::prelude::*;
use agentkit_test::fixture::{self, FIXTURE_CONTEXT_LENGTH, FIXTURE_MODEL_NAME};
use common::{fixture_model, llama, scratch_dir};

#[tokio::test]
async fn every_alias_is_reported_before_any_call_with_its_warnings() {
    let bare = scratch_dir().join("report-no-template.gguf");
    fixture::write_fixture_model_without_chat_template(&bare, 7).unwrap();
    let kwargs = serde_json::json!({ "enable_thinkin": false });
    let runtime = Runtime::builder()
        .backend(llama().clone())
        .model("chat", fixture_model())
        .model("bare", &bare)
        .model("typo", fixture_model())
        .chat_template_kwargs("typo", kwargs.as_object().cloned().unwrap())
        .build();
    let reports = runtime.report().await.unwrap();
    let aliases: Vec<&str> = reports.iter().map(|r| r.alias.as_str()).collect();
    assert_eq!(aliases, ["bare", "chat", "typo"]);
    let [bare, chat, typo] = &reports[..] else {
        unreachable!()
    };

    assert_eq!(chat.architecture.as_deref(), Some("llama"));
    assert_eq!(chat.name.as_deref(), Some(FIXTURE_MODEL_NAME));
    assert!(chat.parameters.is_some_and(|p| p > 10_000), "{chat}");
    assert_eq!(chat.trained_context, Some(FIXTURE_CONTEXT_LENGTH));
    // The default context (2048) is capped at the trained one, and said so.
    assert_eq!(chat.context, Some(FIXTURE_CONTEXT_LENGTH));
    assert!(
        chat.warnings
            .iter()
            .any(|w| w.contains("more than the 512 tokens the model was trained on")),
        "{chat}"
    );
    assert_eq!(chat.template, TemplateSource::Jinja);
    assert_eq!(chat.template_reason, "the GGUF's own");
    assert!(
        chat.special_tokens
            .iter()
            .any(|(role, text)| role == "eos" && text == "<|im_end|>"),
        "{chat}"
    );
    assert!(chat.load_time.is_some() && chat.weights_bytes.is_some_and(|b| b > 0));
    assert!(chat.kv_cache_bytes.is_some_and(|b| b > 0), "{chat}");

    assert_eq!(bare.template, TemplateSource::Missing);
    assert!(
        bare.warnings
            .iter()
            .any(|w| w.contains("no chat template") && w.contains("LlamaConfig::chat_template")),
        "{bare}"
    );

    assert!(
        typo.warnings
            .iter()
            .any(|w| w.contains("never reads the variable `enable_thinkin`")),
        "{typo}"
    );
    assert_eq!(
        serde_json::Value::Object(typo.chat_template_kwargs.clone()),
        kwargs
    );
    let text = typo.to_string();
    assert!(text.starts_with("model `typo`: "), "{text}");
    assert!(
        text.contains("template vars  {\"enable_thinkin\":false}"),
        "{text}"
    );
}

#[tokio::test]
async fn a_missing_file_fails_the_report_with_the_fix() {
    let runtime = Runtime::builder()
        .backend(llama().clone())
        .model("gone", scratch_dir().join("no-such-model.gguf"))
        .build();
    let e = runtime.report().await.unwrap_err();
    assert!(matches!(e, Error::ModelNotFound { .. }), "{e:?}");
}
