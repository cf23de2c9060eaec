//! The system message of a tool-using agent, and the messages its calls'
//! results come back in.

use std::sync::Arc;

use super::{DynTool, ToolCall, ToolOutcome};
use crate::backend::OutputSchema;
use crate::prompt::describe::describe;
use crate::{Message, Role};

/// The system message: the instructions, each tool with what it does and
/// the shape of its arguments, and the two shapes a turn can take.
pub(crate) fn system_message(
    instructions: &str,
    tools: &[Arc<dyn DynTool>],
    output: &OutputSchema,
    parallel: u32,
) -> String {
    let mut out = String::new();
    out.push_str(instructions.trim());
    out.push_str("\n\nYou can call these tools:\n");
    for tool in tools {
        let description = tool.description().trim();
        let args = describe(tool.schema().model());
        out.push_str(&format!(
            "- {}: {description}\n  args: {}\n",
            tool.name(),
            indent(&args)
        ));
    }
    let many = if parallel > 1 {
        format!(" (up to {parallel} at once)")
    } else {
        String::new()
    };
    out.push_str(&format!(
        "\nAnswer each turn with one JSON value, either\n\
         {{\"calls\": [{{\"tool\": name, \"args\": {{...}}}}]}} to call tools{many}; \
         their results come back in the next messages; or\n\
         {{\"answer\": ANSWER}} once you can answer, where ANSWER has this shape:\n"
    ));
    out.push_str(&describe(output.model()));
    out
}

fn indent(text: &str) -> String {
    text.replace('\n', "\n  ")
}

/// The tool message that carries one call's outcome back to the model, as
/// the chat template renders tool results.
pub(crate) fn result_message(call: &ToolCall, outcome: &ToolOutcome) -> Message {
    let body = match outcome {
        ToolOutcome::Result(v) => serde_json::json!({ "tool": call.tool, "result": v }),
        ToolOutcome::Error(e) => serde_json::json!({ "tool": call.tool, "error": e }),
    };
    Message {
        role: Role::Tool,
        content: body.to_string(),
    }
}
