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
