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
    // A think block comes on top of the answer's budget: up to four
    // characters a token of its budget under the grammar, plus its tags.
    let think = s.reasoning.map_or(0, |r| {
        4 * r.budget + (r.open.len() + r.close.len()) as u32 + 2
    });
    body.insert("max_tokens".into(), (s.max_tokens + think).into());
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
/// The body llama-server's `/apply-template` renders: the messages and the
/// template's arguments, as a chat request sends them.
pub(super) fn template(request: &Request) -> Value {
    Value::Object(base(request))
}

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

/// The reasoning in a message or a delta, in whichever field the server
/// uses: llama-server and DeepSeek `reasoning_content`, vLLM and OpenRouter
/// `reasoning`, Ollama `thinking`. `None` when there is none.
fn reasoning_of(message: &Value) -> Option<String> {
    ["reasoning_content", "reasoning", "thinking"]
        .iter()
        .filter_map(|field| message.get(*field).and_then(Value::as_str))
        .find(|text| !text.is_empty())
        .map(str::to_string)
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
    /// The reasoning the server gave apart from the content, in whichever
    /// field it uses (`reasoning_content`, `reasoning` or `thinking`).
    pub reasoning: String,
    /// The server stopped at `max_tokens`.
    pub truncated: bool,
    pub prompt_tokens: usize,
    pub cached_tokens: usize,
    pub generated_tokens: usize,
    /// Of the generated tokens, those of the reasoning, where the server
    /// counts them (`completion_tokens_details.reasoning_tokens`).
    pub reasoning_tokens: usize,
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
    /// Reasoning the model just wrote, in a field of its own.
    Reasoning(String),
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
        let message = choice.get("message");
        let reasoning = message.and_then(reasoning_of).unwrap_or_default();
        let text = match message.and_then(|m| m.get("content")) {
            Some(Value::String(text)) => text.clone(),
            // A reasoning server may send only reasoning, with no content.
            Some(Value::Null) | None if !reasoning.is_empty() => String::new(),
            _ => return Err("no `choices[0].message.content` string".into()),
        };
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
            reasoning,
            tokens,
            ..Answer::default()
        };
        answer.take_finish(choice);
        answer.take_usage(&v);
        Ok(answer)
    }

    /// Takes one event of a streamed chat completion (`stream: true`): the
    /// reasoning and text it adds (kept in `reasoning` and `text` too), or
    /// the end of the stream.
    pub fn absorb(&mut self, data: &str) -> Result<Vec<Piece>, String> {
        if data.trim() == "[DONE]" {
            return Ok(vec![Piece::Done]);
        }
        let v: Value =
            serde_json::from_str(data).map_err(|e| format!("an event is not JSON ({e})"))?;
        if let Some(error) = v.get("error") {
            return Err(format!("the server sent an error mid-answer: {error}"));
        }
        // The last event may carry only the usage, with no choices.
        self.take_usage(&v);
        let Some(choice) = v.get("choices").and_then(|c| c.get(0)) else {
            return Ok(vec![Piece::Nothing]);
        };
        self.take_finish(choice);
        let delta = choice.get("delta");
        let mut pieces = Vec::new();
        if let Some(reasoning) = delta.and_then(reasoning_of) {
            self.reasoning.push_str(&reasoning);
            pieces.push(Piece::Reasoning(reasoning));
        }
        let text = delta
            .and_then(|d| d.get("content"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !text.is_empty() {
            self.text.push_str(text);
            pieces.push(Piece::Text(text.to_string()));
        }
        if pieces.is_empty() {
            pieces.push(Piece::Nothing);
        }
        Ok(pieces)
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
        set(
            &mut self.reasoning_tokens,
            count(
                usage
                    .and_then(|u| u.get("completion_tokens_details"))
                    .and_then(|d| d.get("reasoning_tokens")),
            ),
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
mod tests;
