//! The chat completions API on the wire: request bodies and answers.

use std::time::Duration;

use agentkit::backend::Request;
use serde_json::{json, Map, Value};

/// How one request constrains the output.
pub(super) enum Constrain<'a> {
    /// A GBNF grammar in llama-server's `grammar` field.
    Grammar(&'a str),
    /// `response_format` with this JSON schema.
    JsonSchema(&'a Value),
}

/// The body of a chat completion for `request` (without `model`, which is
/// per endpoint). `llama_cpp`: the server takes llama.cpp's sampling
/// extensions; others get only the OpenAI fields.
pub(super) fn chat(request: &Request, llama_cpp: bool, constrain: Constrain<'_>) -> Value {
    let s = &request.sampling;
    let mut body = base(request);
    body.insert("max_tokens".into(), s.max_tokens.into());
    body.insert("temperature".into(), f64::from(s.temperature).into());
    body.insert("seed".into(), s.seed.into());
    if let Some(p) = s.top_p {
        body.insert("top_p".into(), f64::from(p).into());
    }
    if let Some(r) = s.repetition {
        body.insert(
            "frequency_penalty".into(),
            f64::from(r.frequency_penalty).into(),
        );
        body.insert(
            "presence_penalty".into(),
            f64::from(r.presence_penalty).into(),
        );
    }
    if llama_cpp {
        // llama-server samples with top_k 40, top_p 0.95 and min_p 0.05 unless
        // told otherwise; agentkit's unset means off, as in-process.
        body.insert("top_k".into(), s.top_k.unwrap_or(0).into());
        body.insert("top_p".into(), f64::from(s.top_p.unwrap_or(1.0)).into());
        body.insert("min_p".into(), f64::from(s.min_p.unwrap_or(0.0)).into());
        if let Some(r) = s.repetition {
            body.insert("repeat_penalty".into(), f64::from(r.repeat_penalty).into());
            body.insert("repeat_last_n".into(), r.window.into());
        }
        if let Some(d) = s.dry {
            body.insert("dry_multiplier".into(), f64::from(d.multiplier).into());
            body.insert("dry_base".into(), f64::from(d.base).into());
            body.insert("dry_allowed_length".into(), d.allowed_length.into());
            // -1: over the whole context, prompt included, as in-process.
            body.insert("dry_penalty_last_n".into(), (-1).into());
        }
        body.insert("cache_prompt".into(), true.into());
    }
    match constrain {
        Constrain::Grammar(g) => {
            body.insert("grammar".into(), g.into());
        }
        Constrain::JsonSchema(schema) => {
            body.insert(
                "response_format".into(),
                json!({
                    "type": "json_schema",
                    "json_schema": { "name": schema_name(request.agent), "schema": schema, "strict": true }
                }),
            );
        }
    }
    Value::Object(body)
}

/// The body of a scored choice: the text so far (`prefix`) as the start of
/// the assistant's answer, which llama-server continues rather than
/// answering anew, then greedy decoding under a grammar that admits only
/// `option`, with the log-probability of every generated token.
pub(super) fn forced(request: &Request, prefix: &str, option: &str, grammar: &str) -> Value {
    let mut body = base(request);
    if !prefix.is_empty() {
        if let Some(Value::Array(messages)) = body.get_mut("messages") {
            messages.push(json!({ "role": "assistant", "content": prefix }));
        }
    }
    // A token is at least one byte; the margin covers an end-of-turn token.
    body.insert("max_tokens".into(), (option.len() + 8).into());
    body.insert("temperature".into(), 0.0.into());
    body.insert("seed".into(), request.sampling.seed.into());
    body.insert("grammar".into(), grammar.into());
    body.insert("logprobs".into(), true.into());
    body.insert("top_logprobs".into(), 1.into());
    body.insert("cache_prompt".into(), true.into());
    Value::Object(body)
}

/// Turns a chat completion `body` into a streamed one: the answer comes as
/// server-sent events. `usage`: also ask for the token counts in a last
/// event (`stream_options`, which some servers refuse).
pub(super) fn streamed(body: &mut Value, usage: bool) {
    body["stream"] = true.into();
    if usage {
        body["stream_options"] = json!({ "include_usage": true });
    } else if let Some(fields) = body.as_object_mut() {
        fields.remove("stream_options");
    }
}

/// The messages of `request`, and its model's chat-template variables
/// (`chat_template_kwargs`, which llama-server with `--jinja`, vLLM and
/// SGLang pass to the template; servers that do not know it ignore it).
fn base(request: &Request) -> Map<String, Value> {
    let messages: Vec<Value> = request
        .prompt
        .messages
        .iter()
        .map(|m| json!({ "role": m.role.as_str(), "content": m.content }))
        .collect();
    let mut body = Map::new();
    body.insert("messages".into(), messages.into());
    body.insert("stream".into(), false.into());
    let kwargs = &request.model.chat_template_kwargs;
    if !kwargs.is_empty() {
        body.insert("chat_template_kwargs".into(), Value::Object(kwargs.clone()));
    }
    body
}

/// A schema name as OpenAI accepts it: letters, digits, `_` and `-`.
fn schema_name(agent: &str) -> String {
    let name: String = agent
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if name.is_empty() {
        "output".into()
    } else {
        name
    }
}

/// The model names a `/v1/models` answer lists.
pub(super) fn model_names(list: &Value) -> Vec<String> {
    let entries = list
        .get("data")
        .or_else(|| list.get("models"))
        .and_then(Value::as_array);
    entries
        .into_iter()
        .flatten()
        .filter_map(|m| {
            m.get("id")
                .or_else(|| m.get("name"))
                .or_else(|| m.get("model"))
        })
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// One answer of the server.
#[derive(Debug, Clone, Default)]
pub(super) struct Answer {
    /// The message content.
    pub text: String,
    /// The server stopped at `max_tokens`.
    pub truncated: bool,
    pub prompt_tokens: usize,
    pub cached_tokens: usize,
    pub generated_tokens: usize,
    pub prompt_time: Duration,
    pub generate_time: Duration,
    /// Round trip of the HTTP request.
    pub elapsed: Duration,
    /// Each generated token's bytes and log-probability, where asked for.
    pub tokens: Vec<(usize, f64)>,
    /// Why the server stopped (`stop`, `length`, ...), once it said.
    pub finish_reason: Option<String>,
}

/// What one event of a streamed answer holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Piece {
    /// Text the model just wrote.
    Text(String),
    /// Nothing to show: the role, the finish reason, the usage.
    Nothing,
    /// `[DONE]`: the stream is over.
    Done,
}

impl Answer {
    /// Reads a chat completion body; an error says what is missing.
    pub fn parse(body: &str) -> Result<Answer, String> {
        let v: Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
        let choice = v
            .get("choices")
            .and_then(|c| c.get(0))
            .ok_or("no `choices[0]`")?;
        let text = choice
            .get("message")
            .and_then(|m| m.get("content"))
            .and_then(Value::as_str)
            .ok_or("no `choices[0].message.content` string")?
            .to_string();
        let tokens = choice
            .get("logprobs")
            .and_then(|l| l.get("content"))
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .map(|t| {
                        let bytes = t
                            .get("bytes")
                            .and_then(Value::as_array)
                            .map(Vec::len)
                            .or_else(|| t.get("token").and_then(Value::as_str).map(str::len))
                            .unwrap_or(0);
                        let lp = t
                            .get("logprob")
                            .and_then(Value::as_f64)
                            .unwrap_or(f64::NEG_INFINITY);
                        (bytes, lp)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut answer = Answer {
            text,
            tokens,
            ..Answer::default()
        };
        answer.take_finish(choice);
        answer.take_usage(&v);
        Ok(answer)
    }

    /// Takes one event of a streamed chat completion (`stream: true`): the
    /// text it adds (kept in `text` too), or the end of the stream.
    pub fn absorb(&mut self, data: &str) -> Result<Piece, String> {
        if data.trim() == "[DONE]" {
            return Ok(Piece::Done);
        }
        let v: Value =
            serde_json::from_str(data).map_err(|e| format!("an event is not JSON ({e})"))?;
        if let Some(error) = v.get("error") {
            return Err(format!("the server sent an error mid-answer: {error}"));
        }
        // The last event may carry only the usage, with no choices.
        self.take_usage(&v);
        let Some(choice) = v.get("choices").and_then(|c| c.get(0)) else {
            return Ok(Piece::Nothing);
        };
        self.take_finish(choice);
        let text = choice
            .get("delta")
            .and_then(|d| d.get("content"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        if text.is_empty() {
            return Ok(Piece::Nothing);
        }
        self.text.push_str(text);
        Ok(Piece::Text(text.to_string()))
    }

    /// Whether a streamed answer said why it stopped (a `finish_reason`).
    pub fn finished(&self) -> bool {
        self.finish_reason.is_some()
    }

    fn take_finish(&mut self, choice: &Value) {
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            self.truncated = reason == "length";
            self.finish_reason = Some(reason.to_string());
        }
    }

    /// The token counts of `usage` and the times of llama-server's
    /// `timings`, where `v` has them.
    fn take_usage(&mut self, v: &Value) {
        let count = |v: Option<&Value>| {
            v.and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok())
        };
        let usage = v.get("usage").filter(|u| u.is_object());
        let timings = v.get("timings");
        let ms = |key: &str| {
            timings
                .and_then(|t| t.get(key))
                .and_then(Value::as_f64)
                .filter(|m| m.is_finite() && *m >= 0.0)
                .map(|m| Duration::from_secs_f64(m / 1000.0))
        };
        let cached = usage
            .and_then(|u| u.get("prompt_tokens_details"))
            .and_then(|d| d.get("cached_tokens"))
            .or_else(|| timings.and_then(|t| t.get("cache_n")));
        let set = |field: &mut usize, n: Option<usize>| *field = n.unwrap_or(*field);
        set(
            &mut self.prompt_tokens,
            count(usage.and_then(|u| u.get("prompt_tokens"))),
        );
        set(&mut self.cached_tokens, count(cached));
        set(
            &mut self.generated_tokens,
            count(usage.and_then(|u| u.get("completion_tokens"))),
        );
        self.prompt_time = ms("prompt_ms").unwrap_or(self.prompt_time);
        self.generate_time = ms("predicted_ms").unwrap_or(self.generate_time);
    }

    /// The log-probability of the bytes `from..to` of the text: the sum over
    /// the tokens that hold any of them (a token across `from` belongs to
    /// both sides; it is the same for every option of a choice). `None`
    /// when the server gave no log-probabilities.
    pub fn log_probability(&self, from: usize, to: usize) -> Option<f64> {
        if self.tokens.is_empty() {
            return None;
        }
        let mut start = 0;
        let mut sum = 0.0;
        for (len, lp) in &self.tokens {
            let end = start + len;
            if end > from && start < to {
                sum += lp;
            }
            start = end;
        }
        Some(sum)
    }
}

#[cfg(test)]
mod tests {
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
        let pieces: Vec<Piece> = events.iter().map(|e| answer.absorb(e).unwrap()).collect();
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
        let list =
            json!({ "object": "list", "data": [{ "id": "smollm2" }, { "id": "qwen:latest" }] });
        assert_eq!(model_names(&list), ["smollm2", "qwen:latest"]);
        assert_eq!(schema_name("Judge::<T>"), "Judge___T_");
    }
}
