//! The wire format's tests: bodies sent and answers read.

use super::*;

#[test]
fn answers_give_text_usage_and_log_probabilities() {
    let body = r#"{"choices":[{"finish_reason":"stop","message":{"role":"assistant","content":"{\"a\":true}"},
        "logprobs":{"content":[{"token":"{\"","logprob":-0.5,"bytes":[123,34]},{"token":"a\":","logprob":-0.25},{"token":"true","logprob":-1.0},{"token":"}","logprob":-0.125}]}}],
        "usage":{"prompt_tokens":30,"completion_tokens":4,"prompt_tokens_details":{"cached_tokens":20}},
        "timings":{"prompt_ms":12.0,"predicted_ms":40.0}}"#;
    let a = Answer::parse(body).unwrap();
    assert_eq!(a.text, "{\"a\":true}");
    assert!(!a.truncated);
    assert_eq!(
        (a.prompt_tokens, a.cached_tokens, a.generated_tokens),
        (30, 20, 4)
    );
    assert_eq!(a.generate_time, Duration::from_millis(40));
    // `{"a":` is the prefix; `true` and `}` follow.
    assert_eq!(a.log_probability(5, 9), Some(-1.0));
    assert_eq!(a.log_probability(4, 9), Some(-1.25));
    assert!(Answer::parse(r#"{"choices":[]}"#)
        .unwrap_err()
        .contains("choices[0]"));
    assert!(Answer::parse("<html>").unwrap_err().starts_with("not JSON"));
}

#[test]
fn streamed_answers_gather_text_finish_and_usage() {
    // As llama-server sends them with `stream_options.include_usage`.
    let events = [
        r#"{"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}]}"#,
        r#"{"choices":[{"finish_reason":null,"index":0,"delta":{"content":"{\"a\":"}}]}"#,
        r#"{"choices":[{"finish_reason":null,"index":0,"delta":{"content":"true}"}}]}"#,
        r#"{"choices":[{"finish_reason":"stop","index":0,"delta":{}}]}"#,
        r#"{"choices":[],"usage":{"completion_tokens":3,"prompt_tokens":34,"prompt_tokens_details":{"cached_tokens":30}},"timings":{"cache_n":30,"prompt_ms":16.0,"predicted_ms":40.0}}"#,
        "[DONE]",
    ];
    let mut answer = Answer::default();
    let pieces: Vec<Piece> = events
        .iter()
        .flat_map(|e| answer.absorb(e).unwrap())
        .collect();
    assert_eq!(
        pieces,
        [
            Piece::Nothing,
            Piece::Text("{\"a\":".into()),
            Piece::Text("true}".into()),
            Piece::Nothing,
            Piece::Nothing,
            Piece::Done
        ]
    );
    assert_eq!(answer.text, "{\"a\":true}");
    assert!(answer.finished() && !answer.truncated);
    assert_eq!(
        (
            answer.prompt_tokens,
            answer.cached_tokens,
            answer.generated_tokens
        ),
        (34, 30, 3)
    );
    assert_eq!(answer.generate_time, Duration::from_millis(40));

    let mut cut = Answer::default();
    cut.absorb(r#"{"choices":[{"finish_reason":"length","delta":{"content":"{"}}]}"#)
        .unwrap();
    assert!(cut.truncated);
    assert!(cut
        .absorb(r#"{"error":{"message":"slot gone"}}"#)
        .unwrap_err()
        .contains("slot gone"));
    assert!(cut.absorb("<html>").unwrap_err().contains("not JSON"));

    let mut body = json!({ "stream": false });
    streamed(&mut body, true);
    assert_eq!(
        body,
        json!({ "stream": true, "stream_options": { "include_usage": true } })
    );
    streamed(&mut body, false);
    assert_eq!(body, json!({ "stream": true }));
}

#[test]
fn llama_server_gets_repetition_and_dry_settings_others_do_not() {
    use agentkit::{Dry, ModelSpec, Prompt, Repetition, Sampling};
    let sampling = Sampling::DEFAULT
        .with_repetition(Repetition::DEFAULT.with_repeat_penalty(1.1))
        .with_dry(Dry::DEFAULT.with_allowed_length(3));
    let request = Request::new(
        "Draft",
        ModelSpec::new("draft", std::path::PathBuf::from("/models/draft.gguf")),
        Prompt {
            messages: Vec::new(),
        },
        agentkit::backend::OutputSchema::from_full(json!({ "type": "object" })),
        sampling,
    );
    let llama = chat(&request, true, Constrain::Grammar("root ::= \"{}\""));
    assert_eq!(llama["repeat_penalty"], json!(f64::from(1.1f32)));
    assert_eq!(llama["dry_multiplier"], json!(f64::from(0.8f32)));
    assert_eq!(llama["dry_base"], json!(1.75));
    assert_eq!(llama["dry_allowed_length"], json!(3));
    assert_eq!(llama["dry_penalty_last_n"], json!(-1));
    let schema = json!({ "type": "object" });
    let other = chat(&request, false, Constrain::JsonSchema(&schema));
    assert!(other.get("dry_multiplier").is_none(), "{other}");
    assert!(other.get("repeat_penalty").is_none(), "{other}");
    let off = Request::new(
        "Draft",
        request.model.clone(),
        request.prompt.clone(),
        agentkit::backend::OutputSchema::from_full(json!({ "type": "object" })),
        Sampling::DEFAULT,
    );
    let plain = chat(&off, true, Constrain::Grammar("root ::= \"{}\""));
    assert!(plain.get("dry_multiplier").is_none(), "{plain}");
    assert!(plain.get("chat_template_kwargs").is_none(), "{plain}");
}

#[test]
fn chat_template_kwargs_go_to_every_server() {
    use agentkit::{ModelSpec, Prompt, Sampling};
    let model = ModelSpec::served("judge", Vec::new())
        .with_chat_template_kwargs([("enable_thinking".to_string(), json!(false))]);
    let request = Request::new(
        "Judge",
        model,
        Prompt {
            messages: Vec::new(),
        },
        agentkit::backend::OutputSchema::from_full(json!({ "type": "object" })),
        Sampling::DEFAULT,
    );
    let schema = json!({ "type": "object" });
    for body in [
        chat(&request, true, Constrain::Grammar("root ::= \"{}\"")),
        chat(&request, false, Constrain::JsonSchema(&schema)),
    ] {
        assert_eq!(
            body["chat_template_kwargs"],
            json!({ "enable_thinking": false }),
            "{body}"
        );
    }
}

#[test]
fn model_lists_of_openai_and_ollama() {
    let list = json!({ "object": "list", "data": [{ "id": "smollm2" }, { "id": "qwen:latest" }] });
    assert_eq!(model_names(&list), ["smollm2", "qwen:latest"]);
    assert_eq!(schema_name("Judge::<T>"), "Judge___T_");
}
