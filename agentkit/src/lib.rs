#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod agent;
pub mod backend;
mod chain;
mod error;
pub mod eval;
pub mod fit;
mod genai;
#[cfg(feature = "otel")]
pub mod otel;
mod preflight;
mod prompt;
mod run;
mod runtime;
mod sampling;
mod schema;
mod scored;
pub mod size;
pub mod stream;
pub mod tools;
pub mod tune;

// What users write: agents, chains, the runtime and its errors.
pub use agent::{Agent, Attempt, InputFormat, Shot};
pub use agentkit_macros::{agent, tool};
/// A backend is handed to [`Runtime::builder`]; models are registered as
/// [`ModelSpec`]s (with [`Endpoint`]s where servers serve them). What a
/// backend's author needs is in [`backend`].
pub use backend::{Backend, Endpoint, ModelSpec};
pub use chain::{
    both, chunked, each, tool, with_input, Both, Chunked, Each, Filter, Items, Map, Step, StepExt,
    Then, Tool, When, WithInput, Yields, DEFAULT_OVERLAP,
};
pub use error::{Error, ErrorKind, FieldTokens};
pub use preflight::{Problem, Report};
pub use prompt::{describe_schema, render_input, Message, Prompt, Role};
pub use runtime::{Runtime, RuntimeBuilder, Usage};
pub use sampling::{Dry, Reasoning, Repetition, Sampling};
pub use schema::{close_schema, grammar_schema, output_schema, parse_output};
pub use scored::{scored, Scored, ScoredAgent};
pub use stream::Streams;

/// Re-exports for serde, schemars and JSON, so agents need no extra dependencies.
pub use schemars;
pub use serde;
pub use serde_json;

/// Everything an agent definition and a pipeline need, in one import.
pub mod prelude {
    pub use crate::{
        agent, both, each, scored, tool, with_input, Agent, Error, Runtime, Step, StepExt, Streams,
        Yields,
    };
    pub use schemars::JsonSchema;
    pub use serde::{Deserialize, Serialize};
}

/// Paths used by code that `#[agent]` generates. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::agent::{shots, shots_from_jsonl, validate_with, Validate};
    pub use crate::backend::OutputSchema;
    pub use crate::run::{check_agent, run_agent};
    pub use crate::tools::{shared_tool, tool_result, ToolUse, TypedTool};
    pub use crate::{
        Agent, Dry, Error, InputFormat, Problem, Reasoning, Repetition, Runtime, Sampling, Shot,
        Step, Yields,
    };
    pub use core::future::Future;
    pub use core::result::Result;
    pub use std::string::String;
    pub use std::vec;
    pub use std::vec::Vec;
}
