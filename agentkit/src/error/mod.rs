//! The one error type of agentkit.

mod overflow;

use std::path::PathBuf;

pub use overflow::FieldTokens;
use overflow::{field_list, overflow_advice};

/// Everything that can go wrong while running an agent or a chain.
///
/// Each variant says what went wrong and what to do about it. Variants that
/// concern one agent name it, so a failure deep in a chain points at its step.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The agent names a model alias that the runtime does not know.
    #[error(
        "agent `{agent}` uses model `{alias}`, which is not registered{}; registered models: {}. \
         Register it with `Runtime::builder().model(\"{alias}\", path)` or fix the name",
        suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default(),
        if known.is_empty() { "none" } else { known.as_str() }
    )]
    UnknownModel {
        /// The agent that asked for the model.
        agent: String,
        /// The alias it asked for.
        alias: String,
        /// The aliases the runtime knows, comma separated.
        known: String,
        /// The registered alias closest to `alias`, when one is close.
        suggestion: Option<String>,
    },

    /// The model alias is registered, but its file is not on disk.
    #[error("model `{alias}` not found at `{}`; {fix}", path.display())]
    ModelNotFound {
        /// The alias of the model.
        alias: String,
        /// Where the file was looked for.
        path: PathBuf,
        /// What to do: the command that fetches it, or how to register another path.
        fix: String,
    },

    /// The model file exists but could not be loaded.
    #[error("could not load model `{alias}` from `{}`: {reason}; check that it is a complete model file in the backend's format (fetch it again if it was cut short)", path.display())]
    ModelLoad {
        /// The alias of the model.
        alias: String,
        /// The file that failed to load.
        path: PathBuf,
        /// What the loader said.
        reason: String,
    },

    /// The runtime has no backend to run agents with.
    #[error("the runtime has no backend; add one with `Runtime::builder().backend(...)`")]
    NoBackend,

    /// The agent's input could not be turned into JSON for the prompt.
    #[error("the input of agent `{agent}` could not be serialized: {source}")]
    Input {
        /// The agent whose input failed.
        agent: String,
        /// The serializer's error.
        #[source]
        source: serde_json::Error,
    },

    /// The output type's JSON schema cannot be enforced by the decoding grammar.
    #[error("the output schema of agent `{agent}` cannot be turned into a decoding grammar at {location}: {reason}; simplify the output type (see the book's \"Types, schemas and grammars\" chapter)")]
    UnsupportedSchema {
        /// The agent whose output type failed.
        agent: String,
        /// Where in the schema: a JSON pointer or the keyword.
        location: String,
        /// What the grammar engine said.
        reason: String,
    },

    /// A scored agent's integer field allows too many values (or any value)
    /// to score each one as a choice.
    #[error("agent `{agent}` decides {field} by scored choices, but it allows {allowed}, more than the {max} values scored choices take; bound it with `#[schemars(range(min = 1, max = 5))]` (at most {max} values), or run the agent without `scored(..)`")]
    ScoredRange {
        /// The scored agent.
        agent: String,
        /// The field: "field `urgency`", or "its output" for a bare integer.
        field: String,
        /// What the schema allows: "256 values (0 to 255)", "any integer".
        allowed: String,
        /// The most values a scored integer may take.
        max: u64,
    },

    /// The model's text did not parse into the agent's output type.
    #[error("the output of agent `{agent}` did not parse as `{output_type}`: {reason}; raw output: {raw:?}")]
    Parse {
        /// The agent that produced the text.
        agent: String,
        /// The Rust type it should have parsed into.
        output_type: String,
        /// What the parser said.
        reason: String,
        /// The text the model produced, unchanged.
        raw: String,
    },

    /// The output was valid JSON but broke the output schema.
    #[error(
        "the output of agent `{agent}` does not match its schema: {reason}; raw output: {raw:?}"
    )]
    SchemaMismatch {
        /// The agent that produced the text.
        agent: String,
        /// Which part of the schema was broken.
        reason: String,
        /// The text that broke it.
        raw: String,
    },

    /// The prompt and the token budget do not fit in the model's context.
    ///
    /// Where the runtime measured it before the call, `fields` names the
    /// input's largest fields and their tokens, and `shortest` is the
    /// prompt with the fields it may shorten (a fitting policy) or split
    /// ([`chunked`](crate::chunked)) cut to nothing.
    #[error(
        "agent `{agent}`: the prompt is {prompt_tokens} tokens{} and max_tokens is {max_tokens}, \
         but the context of model `{model}` holds {context} tokens{}; {}",
        field_list(fields),
        shortest.map(|s| format!(" (and still {s} tokens with the fields the runtime may shorten or split cut to nothing)")).unwrap_or_default(),
        overflow_advice(fields, shortest.is_some())
    )]
    ContextOverflow {
        /// The agent being run.
        agent: String,
        /// The model alias.
        model: String,
        /// Tokens in the rendered prompt.
        prompt_tokens: usize,
        /// The agent's generation budget.
        max_tokens: u32,
        /// The context size of the model.
        context: usize,
        /// The input's text and list fields, largest first, with the tokens
        /// each takes in the prompt; empty where the backend found the
        /// overflow (it does not know the fields).
        fields: Vec<FieldTokens>,
        /// The prompt's tokens with the fields the runtime may shorten or
        /// split cut to nothing, where there are such fields: still too many.
        shortest: Option<usize>,
    },

    /// A fitting policy (`x-agentkit-fit`) on the agent's input type is
    /// not one, or sits on a field that cannot be shortened.
    #[error(
        "the input type of agent `{agent}`: {reason} (see the book's \"Long inputs\" chapter)"
    )]
    FitPolicy {
        /// The agent whose input type declares it.
        agent: String,
        /// What is wrong and what to do.
        reason: String,
    },

    /// Generation hit `max_tokens` before the output was complete.
    #[error("agent `{agent}` hit max_tokens = {max_tokens} before its output was complete; raise `max_tokens` or bound the output's strings and arrays; partial output: {partial:?}")]
    Truncated {
        /// The agent being run.
        agent: String,
        /// The budget it hit.
        max_tokens: u32,
        /// The text generated before the cut.
        partial: String,
    },

    /// The model's chat template is missing or could not be applied.
    #[error("model `{model}`: {reason}; give the backend a chat template or use a model file that carries one")]
    ChatTemplate {
        /// The model alias.
        model: String,
        /// What went wrong.
        reason: String,
    },

    /// A tool step (an async Rust function) failed.
    #[error("tool `{tool}` failed: {source}")]
    Tool {
        /// The tool's name.
        tool: String,
        /// The tool's own error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// A tool-using agent's tools are set up wrong: a tool source that is not
    /// registered or failed to list its tools, two tools with one name, a
    /// name a model cannot write, or an option the tool loop does not take.
    #[error("the tools of agent `{agent}` cannot be used: {problem}")]
    Tools {
        /// The agent.
        agent: String,
        /// What is wrong and how to fix it.
        problem: String,
    },

    /// A [`ToolSource`](crate::tools::ToolSource) (an MCP server, say) could
    /// not give its tools: it did not start, did not connect, or failed to
    /// list them. Found at pre-flight, before any model call.
    #[error("the tool source {name} cannot be used: {problem}")]
    ToolSource {
        /// The source, as its error names it (an MCP server's command or URL).
        name: String,
        /// What went wrong and how to fix it.
        problem: String,
    },

    /// A tool-using agent did not give its answer within its turns.
    #[error("agent `{agent}` gave no answer within {turns} turns (each turn called tools); raise `max_turns`, give it tools that answer in fewer calls, or try a bigger model. The turns:\n{transcript}")]
    ToolTurns {
        /// The agent.
        agent: String,
        /// Its turn limit.
        turns: u32,
        /// Every turn: what the model wrote, the calls and their results.
        transcript: crate::tools::Transcript,
    },

    /// Pre-flight found steps that cannot run; nothing was generated.
    #[error("the pipeline cannot run; fix these first:{report}")]
    Preflight {
        /// Every problem found, per step.
        report: crate::Report,
    },

    /// The output parsed but failed the agent's own check.
    #[error("the output of agent `{agent}` failed its check: {problem}; raw output: {raw:?}")]
    Invalid {
        /// The agent.
        agent: String,
        /// What the check said.
        problem: String,
        /// The output, unchanged.
        raw: String,
    },

    /// Every attempt of an agent with `retries` failed to parse or to pass its check.
    #[error("agent `{agent}` gave no acceptable output in {} attempts; last problem: {}", attempts.len(), attempts.last().map(|a| a.problem.as_str()).unwrap_or("none"))]
    Rejected {
        /// The agent.
        agent: String,
        /// Every attempt, in order, with its raw output and what was wrong.
        attempts: Vec<crate::Attempt>,
    },

    /// A labelled dataset (for [`eval`](crate::eval)) or a few-shot examples
    /// file could not be read. `reason` says what each line must hold.
    #[error("dataset `{}` line {line}: {reason}", path.display())]
    Dataset {
        /// The file.
        path: PathBuf,
        /// The 1-based line (0 when the file itself could not be read).
        line: usize,
        /// What went wrong.
        reason: String,
    },

    /// A sizing run (see [`size`](crate::size)) could not choose a model,
    /// or could not write its choice.
    #[error("sizing agent `{agent}`: {reason}")]
    Sizing {
        /// The agent being sized.
        agent: String,
        /// What went wrong and what to do.
        reason: String,
    },

    /// A tuning file (written by [`tune`](crate::tune)) could not be read,
    /// written, or does not fit the agent it was given to.
    #[error("tuning file `{}`: {reason}", path.display())]
    Tuning {
        /// The file.
        path: PathBuf,
        /// What went wrong and what to do.
        reason: String,
    },

    /// The model manifest (`agentkit.toml`) could not be read or is not a
    /// valid manifest. Displays as `path:line:column: reason`.
    #[error("{}: {reason}", manifest_place(path, *line, *column))]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// The 1-based line of the mistake (0 when the file could not be read).
        line: usize,
        /// The 1-based column of the mistake (0 when the line is 0).
        column: usize,
        /// What went wrong and what to do.
        reason: String,
        /// The I/O or TOML error underneath; the TOML one quotes the line.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// Any other failure inside a backend. Its cause, where it has one, is
    /// the [`source`](std::error::Error::source) of `error`.
    #[error("backend error in agent `{agent}`: {error}")]
    Backend {
        /// The agent being run.
        agent: String,
        /// What the backend reported.
        #[source]
        error: crate::backend::BackendError,
    },
}

/// `path:line:column`, or just the path when no line is known.
fn manifest_place(path: &std::path::Path, line: usize, column: usize) -> String {
    match line {
        0 => path.display().to_string(),
        line => format!("{}:{line}:{column}", path.display()),
    }
}

mod kind;
pub use kind::ErrorKind;

#[cfg(test)]
mod tests;
