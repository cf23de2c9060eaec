//! What happened over a tool-using agent's turns: kept for the caller, and
//! in [`Error::ToolTurns`](crate::Error::ToolTurns) when the turns run out.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

/// One call the model wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolCall {
    /// The tool's name.
    pub tool: String,
    /// Its arguments, as written.
    pub args: Value,
}

/// How one call ended; either way it goes back to the model.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolOutcome {
    /// The tool's result.
    Result(Value),
    /// Why there is no result: the tool's error, its timeout, or arguments
    /// its schema refuses.
    Error(String),
}

impl ToolOutcome {
    /// Whether the call failed.
    pub fn is_error(&self) -> bool {
        matches!(self, ToolOutcome::Error(_))
    }
}

/// One model turn: what it wrote, and the calls it made (none in the turn
/// that answered).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TurnRecord {
    /// The turn's text, as the model wrote it.
    pub text: String,
    /// The calls and how each ended, in the order written.
    pub calls: Vec<(ToolCall, ToolOutcome)>,
    /// Prompt tokens of this turn's request.
    pub prompt_tokens: usize,
    /// Of those, the ones the backend took from its cache (the earlier
    /// turns) rather than evaluating them again.
    pub cached_prompt_tokens: usize,
}

/// Every turn of one run of a tool-using agent, in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Transcript {
    /// The turns.
    pub turns: Vec<TurnRecord>,
}

impl Transcript {
    /// Every call made, over all turns, in order.
    pub fn calls(&self) -> impl Iterator<Item = &(ToolCall, ToolOutcome)> {
        self.turns.iter().flat_map(|t| t.calls.iter())
    }
}

impl fmt::Display for Transcript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, turn) in self.turns.iter().enumerate() {
            writeln!(f, "turn {}: {}", i + 1, turn.text.trim())?;
            for (call, outcome) in &turn.calls {
                match outcome {
                    ToolOutcome::Result(v) => writeln!(f, "  {} -> {v}", call.tool)?,
                    ToolOutcome::Error(e) => writeln!(f, "  {} failed: {e}", call.tool)?,
                }
            }
        }
        Ok(())
    }
}
