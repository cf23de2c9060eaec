//! The Jinja renderer on its own, without a model.

use super::jinja::{JinjaTemplate, RenderError};

/// SmolLM2's template, as its GGUF carries it.
const CHATML: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

fn no_kwargs() -> serde_json::Map<String, serde_json::Value> {
    serde_json::Map::new()
}

fn template(source: &str) -> JinjaTemplate {
    match JinjaTemplate::new(source, "<s>", "</s>") {
        Ok(t) => t,
        Err(e) => panic!("template does not compile: {e}"),
    }
}

#[test]
fn add_generation_prompt_opens_the_assistant_turn() {
    let t = template(CHATML);
    let messages = [("system", "Be brief."), ("user", "Hi")];
    let with = t.render(&messages, true, &no_kwargs());
    let without = t.render(&messages, false, &no_kwargs());
    assert_eq!(
        with,
        Ok("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n".to_string())
    );
    assert_eq!(
        without,
        Ok("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n".to_string())
    );
}

#[test]
fn bos_and_eos_are_the_model_token_texts() {
    let t = template("{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{{ eos_token }}{% endfor %}");
    assert_eq!(t.bos(), "<s>");
    assert_eq!(
        t.render(&[("user", "x")], true, &no_kwargs()),
        Ok("<s>[user]x</s>".to_string())
    );
}

#[test]
fn raise_exception_is_its_own_error_with_the_message() {
    let t = template("{% if messages[0].role != 'user' %}{{ raise_exception('Conversation must start with the user') }}{% endif %}ok");
    assert_eq!(
        t.render(&[("system", "s")], true, &no_kwargs()),
        Err(RenderError::Raised(
            "Conversation must start with the user".to_string()
        ))
    );
    assert_eq!(
        t.render(&[("user", "u")], true, &no_kwargs()),
        Ok("ok".to_string())
    );
}

#[test]
fn blocks_are_trimmed_as_hugging_face_renders_them() {
    let t = template("{% for m in messages %}\n    {{ m.content }}\n{% endfor %}\n");
    assert_eq!(
        t.render(&[("user", "a"), ("user", "b")], true, &no_kwargs()),
        Ok("    a\n    b\n".to_string())
    );
}

#[test]
fn python_string_methods_strftime_and_tojson_work() {
    let t = template("{{ messages[0].content.strip().upper() }}|{{ strftime_now('%Y')|length }}|{{ {'a': [1, '<b>']}|tojson }}");
    assert_eq!(
        t.render(&[("user", "  hi ")], true, &no_kwargs()),
        Ok("HI|4|{\"a\": [1, \"<b>\"]}".to_string())
    );
}

#[test]
fn other_failures_are_failed_not_raised() {
    let t = template("{{ messages[0].content.no_such_method() }}");
    assert!(matches!(
        t.render(&[("user", "u")], true, &no_kwargs()),
        Err(RenderError::Failed(_))
    ));
    assert!(JinjaTemplate::new("{% for %}", "", "").is_err());
}

#[test]
fn template_variables_reach_the_template_and_cannot_replace_the_messages() {
    let t = template("{% if enable_thinking is defined and not enable_thinking %}/no_think {% endif %}{% for m in messages %}{{ m.content }}{% endfor %}");
    let kwargs = |v: serde_json::Value| v.as_object().cloned().unwrap_or_default();
    assert_eq!(
        t.render(
            &[("user", "u")],
            true,
            &kwargs(serde_json::json!({"enable_thinking": false}))
        ),
        Ok("/no_think u".to_string())
    );
    assert_eq!(
        t.render(
            &[("user", "u")],
            true,
            &kwargs(serde_json::json!({"enable_thinking": true}))
        ),
        Ok("u".to_string())
    );
    assert_eq!(
        t.render(&[("user", "u")], true, &no_kwargs()),
        Ok("u".to_string())
    );
    // The conversation is the request's, whatever the variables say.
    assert_eq!(
        t.render(
            &[("user", "u")],
            true,
            &kwargs(serde_json::json!({"messages": [{"content": "x"}]}))
        ),
        Ok("u".to_string())
    );
}
