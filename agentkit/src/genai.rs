//! The OpenTelemetry GenAI semantic-convention attributes on agentkit's
//! spans: their names, and the code that sets them, for every span that
//! stands for model work (an agent call now, a tool call later).
//!
//! The attributes are `tracing` fields, declared when a span is made and
//! recorded as the call goes, so any subscriber sees them; the `otel`
//! feature's exporter ([`crate::otel`] there) turns them into span
//! attributes. A `tracing` field holds one value, so
//! `gen_ai.response.finish_reasons` is one reason, not a list.

use std::sync::atomic::{AtomicBool, Ordering};

use tracing::Span;

use crate::backend::{Backend, ModelSpec};
use crate::{Agent, Error, Prompt, Sampling};

/// `gen_ai.operation.name`: what the span does (`chat` for an agent call).
pub(crate) const OPERATION_NAME: &str = "gen_ai.operation.name";
/// `gen_ai.system`: who runs the model (`llama.cpp`, or `openai` for an
/// OpenAI-compatible server).
pub(crate) const SYSTEM: &str = "gen_ai.system";
/// `gen_ai.provider.name`: the same, under the conventions' newer name.
pub(crate) const PROVIDER_NAME: &str = "gen_ai.provider.name";
/// `gen_ai.agent.name`: the agent's name.
pub(crate) const AGENT_NAME: &str = "gen_ai.agent.name";
/// `gen_ai.request.model`: the model alias the agent names.
pub(crate) const REQUEST_MODEL: &str = "gen_ai.request.model";
/// `gen_ai.request.temperature`.
pub(crate) const REQUEST_TEMPERATURE: &str = "gen_ai.request.temperature";
/// `gen_ai.request.max_tokens`.
pub(crate) const REQUEST_MAX_TOKENS: &str = "gen_ai.request.max_tokens";
/// `gen_ai.request.top_p`, where set.
pub(crate) const REQUEST_TOP_P: &str = "gen_ai.request.top_p";
/// `gen_ai.request.seed`.
pub(crate) const REQUEST_SEED: &str = "gen_ai.request.seed";
/// `gen_ai.usage.input_tokens`: prompt tokens over the span's calls.
pub(crate) const USAGE_INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
/// `gen_ai.usage.output_tokens`: generated tokens, think blocks included.
pub(crate) const USAGE_OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
/// `gen_ai.usage.cache_read.input_tokens`: prompt tokens taken from a cache.
pub(crate) const USAGE_CACHE_READ_INPUT_TOKENS: &str = "gen_ai.usage.cache_read.input_tokens";
/// `gen_ai.usage.reasoning.output_tokens`: of the output, the think
/// blocks' (no stable name in the conventions yet; named like the cache's).
pub(crate) const USAGE_REASONING_OUTPUT_TOKENS: &str = "gen_ai.usage.reasoning.output_tokens";
/// `gen_ai.response.finish_reasons`: `stop`, or `length` at the budget.
pub(crate) const RESPONSE_FINISH_REASONS: &str = "gen_ai.response.finish_reasons";
/// `gen_ai.input.messages`: the prompt, only when content is recorded.
pub(crate) const INPUT_MESSAGES: &str = "gen_ai.input.messages";
/// `gen_ai.output.messages`: the answer, only when content is recorded.
pub(crate) const OUTPUT_MESSAGES: &str = "gen_ai.output.messages";
/// `error.type`: the kind of error a failed span ended with.
pub(crate) const ERROR_TYPE: &str = "error.type";
/// `otel.name`: the span's name in OpenTelemetry (`chat {model}`).
pub(crate) const OTEL_NAME: &str = "otel.name";
/// `otel.status_code`: `ERROR` on a failed span.
pub(crate) const OTEL_STATUS_CODE: &str = "otel.status_code";

/// Whether prompts and answers go on spans (off unless the user opts in).
static RECORD_CONTENT: AtomicBool = AtomicBool::new(false);

/// Prompts and answers recorded on spans (`true`) or not (the default).
#[cfg_attr(not(feature = "otel"), allow(dead_code))]
pub(crate) fn set_record_content(on: bool) {
    RECORD_CONTENT.store(on, Ordering::Relaxed);
}

/// The span a chain runs in: a new `chain` span for the outermost step of
/// a chain, none (the current span goes on) inside one, so the agents of a
/// chain are children of one span however its steps nest.
pub(crate) fn chain_span() -> Span {
    let inside = Span::current()
        .metadata()
        .is_some_and(|m| m.name() == "chain");
    if inside {
        Span::none()
    } else {
        tracing::info_span!("chain", { OTEL_NAME } = "chain")
    }
}

/// The span of one call of agent `A` (`mode`: `generate` or `scored`),
/// with its fields declared and the request's attributes set.
pub(crate) fn agent_span<A: Agent>(mode: &'static str) -> Span {
    let span = tracing::info_span!(
        "agent",
        agent = A::NAME,
        model = A::MODEL,
        mode,
        prompt_tokens = tracing::field::Empty,
        generated_tokens = tracing::field::Empty,
        elapsed_ms = tracing::field::Empty,
        retries = tracing::field::Empty,
        { OTEL_NAME } = format!("chat {}", A::MODEL),
        { OPERATION_NAME } = "chat",
        { AGENT_NAME } = A::NAME,
        { REQUEST_MODEL } = A::MODEL,
        { SYSTEM } = tracing::field::Empty,
        { PROVIDER_NAME } = tracing::field::Empty,
        { REQUEST_TEMPERATURE } = tracing::field::Empty,
        { REQUEST_MAX_TOKENS } = tracing::field::Empty,
        { REQUEST_TOP_P } = tracing::field::Empty,
        { REQUEST_SEED } = tracing::field::Empty,
        { USAGE_INPUT_TOKENS } = tracing::field::Empty,
        { USAGE_OUTPUT_TOKENS } = tracing::field::Empty,
        { USAGE_CACHE_READ_INPUT_TOKENS } = tracing::field::Empty,
        { USAGE_REASONING_OUTPUT_TOKENS } = tracing::field::Empty,
        { RESPONSE_FINISH_REASONS } = tracing::field::Empty,
        { INPUT_MESSAGES } = tracing::field::Empty,
        { OUTPUT_MESSAGES } = tracing::field::Empty,
        { ERROR_TYPE } = tracing::field::Empty,
        { OTEL_STATUS_CODE } = tracing::field::Empty,
    );
    record_sampling(&span, &A::SAMPLING);
    span
}

/// The name of a tool an `execute_tool` span runs.
pub(crate) const TOOL_NAME: &str = "gen_ai.tool.name";

/// The span of one tool call of a tool-using agent (an `execute_tool`
/// operation), under its turn's span.
pub(crate) fn tool_span(parent: &Span, tool: &str) -> Span {
    tracing::info_span!(
        parent: parent,
        "tool_call",
        tool,
        elapsed_ms = tracing::field::Empty,
        outcome = tracing::field::Empty,
        { OTEL_NAME } = format!("execute_tool {tool}"),
        { OPERATION_NAME } = "execute_tool",
        { TOOL_NAME } = tool,
        { ERROR_TYPE } = tracing::field::Empty,
        { OTEL_STATUS_CODE } = tracing::field::Empty,
    )
}

/// How a tool call ended, on its span: `error.type` `ToolError` when the
/// tool (or its arguments, or its timeout) failed.
pub(crate) fn record_tool_outcome(span: &Span, failed: bool) {
    span.record("outcome", if failed { "error" } else { "ok" });
    if failed {
        span.record(ERROR_TYPE, "ToolError");
        span.record(OTEL_STATUS_CODE, "ERROR");
    }
}

/// The request's sampling settings on `span`.
fn record_sampling(span: &Span, sampling: &Sampling) {
    span.record(REQUEST_TEMPERATURE, f64::from(sampling.temperature));
    span.record(REQUEST_MAX_TOKENS, i64::from(sampling.max_tokens));
    span.record(REQUEST_SEED, i64::from(sampling.seed));
    if let Some(top_p) = sampling.top_p {
        span.record(REQUEST_TOP_P, f64::from(top_p));
    }
}

/// Who runs `model`, as the backend names it (see
/// [`Backend::system`](crate::Backend::system)).
pub(crate) fn record_system(span: &Span, backend: &dyn Backend, model: &ModelSpec) {
    if let Some(system) = backend.system(model) {
        span.record(SYSTEM, system);
        span.record(PROVIDER_NAME, system);
    }
}

/// Token counts summed over one agent run's calls (its retries, samples or
/// turns), recorded on the agent's span as they grow.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    prompt: usize,
    cached: usize,
    generated: usize,
    reasoning: usize,
}

impl Tally {
    /// Adds `completion`'s tokens and records the sums on `span`: the
    /// `prompt_tokens` and `generated_tokens` fields and the GenAI usage.
    pub(crate) fn add(&mut self, span: &Span, completion: &crate::backend::Completion) {
        self.prompt += completion.prompt_tokens;
        self.cached += completion.cached_prompt_tokens;
        self.generated += completion.generated_tokens;
        self.reasoning += completion.reasoning_tokens;
        span.record("prompt_tokens", self.prompt);
        span.record("generated_tokens", self.generated);
        record_usage(
            span,
            self.prompt,
            self.cached,
            self.generated,
            self.reasoning,
        );
    }
}

/// Token counts so far on `span`: prompt, of it cached, answer, think block.
pub(crate) fn record_usage(
    span: &Span,
    prompt: usize,
    cached: usize,
    generated: usize,
    reasoning: usize,
) {
    span.record(USAGE_INPUT_TOKENS, int(prompt));
    span.record(USAGE_CACHE_READ_INPUT_TOKENS, int(cached));
    span.record(USAGE_OUTPUT_TOKENS, int(generated + reasoning));
    span.record(USAGE_REASONING_OUTPUT_TOKENS, int(reasoning));
}

/// A count as the signed integer OpenTelemetry attributes hold (the
/// `tracing` bridge writes an unsigned one as text).
fn int(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Why the answer ended: `length` where it was closed at its budget.
pub(crate) fn record_finish(span: &Span, cut: bool) {
    span.record(RESPONSE_FINISH_REASONS, if cut { "length" } else { "stop" });
}

/// The prompt, where content is recorded.
pub(crate) fn record_prompt(span: &Span, prompt: &Prompt) {
    if RECORD_CONTENT.load(Ordering::Relaxed) {
        let messages = serde_json::to_string(&prompt.messages).unwrap_or_default();
        span.record(INPUT_MESSAGES, messages);
    }
}

/// The answer, where content is recorded.
pub(crate) fn record_output(span: &Span, text: &str) {
    if RECORD_CONTENT.load(Ordering::Relaxed) {
        let message = serde_json::json!([{ "role": "assistant", "content": text }]);
        span.record(OUTPUT_MESSAGES, message.to_string());
    }
}

/// The failure `error` ended `span` with: its variant's name
/// (`ContextOverflow`, `Parse`, ...) as `error.type`.
pub(crate) fn record_error(span: &Span, error: &Error) {
    let debug = format!("{error:?}");
    let variant = debug.split([' ', '{', '(']).next().unwrap_or("Error");
    span.record(ERROR_TYPE, variant);
    span.record(OTEL_STATUS_CODE, "ERROR");
}
