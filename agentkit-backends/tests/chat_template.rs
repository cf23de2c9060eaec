//! The model's own Jinja chat template: a GGUF whose template uses markers
//! llama.cpp's built-in list does not know, as community fine-tunes ship.

mod common;

use agentkit::backend::{Backend, ModelSource};
use agentkit::prelude::*;
use agentkit::Sampling;
use agentkit_backends::llama::{Llama, LlamaConfig};
use agentkit_test::fixture;
use common::{fixture_request, llama, scratch_dir};

/// Turns framed by markers no built-in format uses.
const CUSTOM: &str = "{{ bos_token }}{% for message in messages %}[[turn:{{ message['role'] }}]]\n{{ message['content'] | trim }}[[/turn]]\n{% endfor %}{% if add_generation_prompt %}[[turn:assistant]]\n{% endif %}";

/// Rejects every conversation that does not start with the user.
const STRICT: &str = "{% if messages[0]['role'] != 'user' %}{{ raise_exception('Conversation must start with a user message') }}{% endif %}{% for message in messages %}[[{{ message['role'] }}]]{{ message['content'] }}{% endfor %}[[assistant]]";

fn request_on(path: std::path::PathBuf, alias: &str) -> agentkit::backend::Request {
    let mut request = fixture_request(
        serde_json::json!({"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}),
        Sampling::DEFAULT.with_max_tokens(40),
    );
    request.model.alias = alias.into();
    request.model.source = ModelSource::File(path);
    request
}

#[tokio::test]
async fn a_template_no_builtin_list_knows_renders_through_jinja() {
    let path = scratch_dir().join("custom-template.gguf");
    fixture::write_fixture_model_with_chat_template(&path, 7, CUSTOM).unwrap();
    let completion = llama()
        .generate(request_on(path, "custom-template"))
        .await
        .unwrap();
    let value: serde_json::Value = serde_json::from_str(&completion.text)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", completion.text));
    assert!(value["ok"].is_boolean(), "{value}");
}

#[tokio::test]
async fn a_configured_jinja_template_renders_the_same_way() {
    let path = scratch_dir().join("configured-template.gguf");
    fixture::write_fixture_model_without_chat_template(&path, 7).unwrap();
    let backend = Llama::new(LlamaConfig::default().threads(1).chat_template(CUSTOM)).unwrap();
    let completion = backend
        .generate(request_on(path, "configured-template"))
        .await
        .unwrap();
    let value: serde_json::Value = serde_json::from_str(&completion.text).unwrap();
    assert!(value["ok"].is_boolean(), "{value}");
}

#[tokio::test]
async fn raise_exception_is_a_chat_template_error_naming_the_model_and_message() {
    let path = scratch_dir().join("strict-template.gguf");
    fixture::write_fixture_model_with_chat_template(&path, 7, STRICT).unwrap();
    let err = llama()
        .generate(request_on(path, "strict-template"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ChatTemplate { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("strict-template"), "{text}");
    assert!(
        text.contains("Conversation must start with a user message"),
        "{text}"
    );
}

/// ChatML to llama.cpp's eye (it holds `<|im_start|>`), but not Jinja that
/// parses: the closing `%}` of its loop is missing.
const UNPARSABLE: &str = "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n{% endfor";

/// ChatML too, and Jinja that parses, but fails when rendered: strings have
/// no `no_such_method`.
const UNRENDERABLE: &str = "{% for message in messages %}<|im_start|>{{ message['role'].no_such_method() }}\n{{ message['content'] }}<|im_end|>\n{% endfor %}<|im_start|>assistant\n";

#[tokio::test]
async fn jinja_that_does_not_parse_falls_back_to_llama_cpp_s_list_and_the_report_says_why() {
    let path = scratch_dir().join("unparsable-template.gguf");
    fixture::write_fixture_model_with_chat_template(&path, 7, UNPARSABLE).unwrap();
    let request = request_on(path, "unparsable");
    let report = llama().report(&request.model).await.unwrap().unwrap();
    assert_eq!(report.template, agentkit::backend::TemplateSource::Builtin);
    assert!(
        report.template_reason.contains("minijinja cannot parse"),
        "{report}"
    );
    let completion = llama().generate(request).await.unwrap();
    let value: serde_json::Value = serde_json::from_str(&completion.text).unwrap();
    assert!(value["ok"].is_boolean(), "{value}");
}

#[tokio::test]
async fn jinja_that_fails_to_render_falls_back_at_the_call() {
    let path = scratch_dir().join("unrenderable-template.gguf");
    fixture::write_fixture_model_with_chat_template(&path, 7, UNRENDERABLE).unwrap();
    let request = request_on(path, "unrenderable");
    let (jinja, builtin) = llama().rendered_prompts(request.clone()).await.unwrap();
    // The Jinja failed, so what agentkit sends is llama.cpp's ChatML.
    assert_eq!(Some(Ok(jinja.clone())), builtin);
    assert!(jinja.contains("<|im_start|>user\n"), "{jinja}");
    let completion = llama().generate(request).await.unwrap();
    let value: serde_json::Value = serde_json::from_str(&completion.text).unwrap();
    assert!(value["ok"].is_boolean(), "{value}");
}
