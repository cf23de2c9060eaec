//! Agents that use tools over several turns.
//!
//! An agent declared with `#[agent(tools = [price_of, add])]` may, at each
//! turn, call one or several of its tools or give its final output. Every
//! turn is decoded under one grammar that allows exactly those three shapes
//! (a call with arguments valid for the tool's input type, several calls at
//! once, or the output type), so a call is well-formed whatever the model.
//! The runtime runs the calls (concurrently, up to
//! [`ToolUse::parallel`]), writes their results (or their errors) back into
//! the conversation as tool messages, and asks again, up to
//! [`ToolUse::max_turns`]; then it fails with [`Error::ToolTurns`], which
//! keeps the transcript.
//!
//! A tool is an async Rust function marked `#[tool]` (see
//! [`tool`](macro@crate::tool)), or any [`DynTool`]; tools from elsewhere
//! (an MCP server) come from a [`ToolSource`] registered on the runtime
//! ([`RuntimeBuilder::tool_source`](crate::RuntimeBuilder::tool_source)) and
//! named in `#[agent(tool_sources = ["files"])]`.

mod function;
mod prompt;
mod run;
mod schema;
mod transcript;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::backend::OutputSchema;
use crate::Error;

pub use function::{function, function_with_timeout};
pub use run::run_with_transcript;
pub(crate) use run::{preflight_request, run_turns};
pub use schema::{turn_schema, Turn};
pub use transcript::{ToolCall, ToolOutcome, Transcript, TurnRecord};

/// How long a tool may run before its call fails with a timeout, unless it
/// says otherwise (`#[tool(timeout_ms = ...)]`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A tool an agent can call, as the runtime sees it: a name, a description
/// the model reads, the JSON schema of its arguments (which becomes the
/// call's grammar) and an async call on JSON.
///
/// Rust tools get this from `#[tool]` (through [`function`]); an MCP client
/// implements it for each tool its server lists.
#[async_trait::async_trait]
pub trait DynTool: Send + Sync + 'static {
    /// The name the model writes to call it: letters, digits, `_` and `-`.
    fn name(&self) -> &str;
    /// What it does, in words for the model (a Rust tool's doc comment).
    fn description(&self) -> &str;
    /// The schema of its arguments: shown in the prompt, compiled into the
    /// call's grammar, and checked before the call runs.
    fn schema(&self) -> &OutputSchema;
    /// How long one call may take.
    fn timeout(&self) -> Duration {
        DEFAULT_TIMEOUT
    }
    /// Runs the tool on `args` (valid against [`schema`](DynTool::schema)).
    /// `Err` is the tool's failure in words: it is fed back to the model as
    /// the call's result, so the model can try something else.
    async fn call(&self, args: Value) -> Result<Value, String>;
}

/// A typed Rust tool: what `#[tool]` implements for an async function
/// `async fn name(args: Args) -> Result<Output, E>` (`E: Display`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tool",
    label = "not a function marked `#[tool]`",
    note = "mark an async function `#[tool]` (`#[tool] async fn name(args: Args) -> Result<Output, String>`) and list it by name in `tools = [..]`"
)]
pub trait TypedTool: Send + Sync + 'static {
    /// The arguments: one type whose JSON schema the call is decoded under.
    type Args: DeserializeOwned + JsonSchema + Send + 'static;
    /// What the tool returns, written back to the model as JSON.
    type Output: Serialize + Send + 'static;
    /// The name the model calls it by (the function's name).
    const NAME: &'static str;
    /// What it does (the function's doc comment).
    const DESCRIPTION: &'static str;
    /// How long one call may take.
    const TIMEOUT: Duration = DEFAULT_TIMEOUT;
    /// Runs the function; `Err` is its error, in words.
    fn call(args: Self::Args) -> impl Future<Output = Result<Self::Output, String>> + Send;
}

/// A tool function's result with its error in words: what the `call` that
/// `#[tool]` generates returns.
#[doc(hidden)]
pub fn tool_result<T, E: fmt::Display>(result: Result<T, E>) -> Result<T, String> {
    result.map_err(|e| e.to_string())
}

/// The tool `T` as a [`DynTool`]: what `#[agent(tools = [..])]` lists,
/// built as [`function`] builds a closure's (arguments parsed into
/// `T::Args`, the result serialized). A free function, so that naming
/// something that is not a tool reports [`TypedTool`]'s own message.
#[doc(hidden)]
pub fn shared_tool<T: TypedTool>() -> Arc<dyn DynTool> {
    function_with_timeout(T::NAME, T::DESCRIPTION, T::TIMEOUT, T::call)
}

/// Where tools come from at run time (an MCP server, say), registered on the
/// runtime under a name with
/// [`RuntimeBuilder::tool_source`](crate::RuntimeBuilder::tool_source) and
/// named by agents in `#[agent(tool_sources = ["name"])]`.
#[async_trait::async_trait]
pub trait ToolSource: Send + Sync + 'static {
    /// The tools on offer, connecting first where needed. Called at
    /// pre-flight and kept by the runtime for its lifetime. A source that
    /// cannot give them fails with [`Error::ToolSource`].
    async fn tools(&self) -> Result<Vec<Arc<dyn DynTool>>, Error>;
}

/// What an agent may do with tools: its tools, the sources it draws more
/// from, and the bounds of its loop. Built by `#[agent(tools = [..])]`;
/// [`ToolUse::none`] for an agent without tools.
#[derive(Clone, Default)]
pub struct ToolUse {
    /// The agent's own tools.
    pub tools: Vec<Arc<dyn DynTool>>,
    /// The names of the [`ToolSource`]s whose tools it may call too.
    pub sources: Vec<&'static str>,
    /// Model turns before [`Error::ToolTurns`] (`max_turns`, default 4).
    pub max_turns: u32,
    /// Calls one turn may make at once, run concurrently (`parallel`,
    /// default 4; 1 for one call a turn).
    pub parallel: u32,
    /// Whether the first turn must call a tool (`require_call = true`): its
    /// grammar leaves the answer out, as OpenAI's `tool_choice: "required"`
    /// does. Small models often answer at once from what they think they
    /// know; this makes them look first.
    pub require_call: bool,
}

impl ToolUse {
    /// No tools: the agent answers in one turn.
    pub fn none() -> Self {
        ToolUse {
            tools: Vec::new(),
            sources: Vec::new(),
            max_turns: 4,
            parallel: 4,
            require_call: false,
        }
    }

    /// Whether the agent has tools (its own or from a source).
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty() && self.sources.is_empty()
    }
}

impl fmt::Debug for ToolUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolUse")
            .field(
                "tools",
                &self.tools.iter().map(|t| t.name()).collect::<Vec<_>>(),
            )
            .field("sources", &self.sources)
            .field("max_turns", &self.max_turns)
            .field("parallel", &self.parallel)
            .field("require_call", &self.require_call)
            .finish()
    }
}

/// Whether `name` is a name a model can write in a call: 1 to 64 of ASCII
/// letters, digits, `_`, `-` and `.`.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}
