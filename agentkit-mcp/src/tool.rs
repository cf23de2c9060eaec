//! One MCP tool as an agentkit [`DynTool`]: `tools/call` on the server, its
//! result turned into JSON for the model.

use std::sync::Arc;
use std::time::Duration;

use agentkit::backend::OutputSchema;
use agentkit::tools::DynTool;
use rmcp::model::{CallToolRequestParams, CallToolResult, ContentBlock, Tool};
use serde_json::Value;

use crate::connect::Connection;
use crate::schema::input_schema;

/// A tool listed by an MCP server, called on that server.
pub(crate) struct McpTool {
    name: String,
    description: String,
    schema: OutputSchema,
    timeout: Duration,
    connection: Arc<Connection>,
}

impl McpTool {
    /// The tool `tool` as the server listed it, called over `connection`.
    pub(crate) fn new(tool: Tool, timeout: Duration, connection: Arc<Connection>) -> McpTool {
        let description = tool
            .description
            .as_deref()
            .or(tool.title.as_deref())
            .unwrap_or("(the server gives no description)")
            .to_string();
        McpTool {
            name: tool.name.to_string(),
            description,
            schema: OutputSchema::from_full(input_schema(&tool.input_schema)),
            timeout,
            connection,
        }
    }
}

#[async_trait::async_trait]
impl DynTool for McpTool {
    fn name(&self) -> &str {
        &self.name
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn schema(&self) -> &OutputSchema {
        &self.schema
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    async fn call(&self, args: Value) -> Result<Value, String> {
        let Value::Object(arguments) = args else {
            return Err(format!(
                "the arguments of an MCP tool are a JSON object, not {args}"
            ));
        };
        let params = CallToolRequestParams::new(self.name.clone()).with_arguments(arguments);
        let result = self
            .connection
            .service
            .peer()
            .call_tool(params)
            .await
            .map_err(|e| {
                format!(
                    "the call did not reach the MCP server {} or got no result: {e}",
                    self.connection.server
                )
            })?;
        result_json(result)
    }
}

/// A `tools/call` result as the model reads it: the structured content
/// where the server gives it, else the text (one string, or a list of them
/// for several blocks). An `isError` result is `Err` with its text.
pub(crate) fn result_json(result: CallToolResult) -> Result<Value, String> {
    let mut texts: Vec<String> = result.content.iter().map(block_text).collect();
    if result.is_error == Some(true) {
        if texts.is_empty() {
            if let Some(structured) = result.structured_content {
                return Err(structured.to_string());
            }
            return Err("the tool failed without saying why".into());
        }
        return Err(texts.join("\n"));
    }
    if let Some(structured) = result.structured_content {
        return Ok(structured);
    }
    Ok(match texts.len() {
        0 => Value::Null,
        1 => Value::String(texts.remove(0)),
        _ => Value::Array(texts.into_iter().map(Value::String).collect()),
    })
}

/// One content block in words: its text, or what it is where a small text
/// model cannot read it.
fn block_text(block: &ContentBlock) -> String {
    match block {
        ContentBlock::Text(text) => text.text.clone(),
        ContentBlock::Image(_) => "(an image, not shown)".into(),
        ContentBlock::Audio(_) => "(audio, not shown)".into(),
        ContentBlock::Resource(_) => "(an embedded resource, not shown)".into(),
        ContentBlock::ResourceLink(_) => "(a link to a resource, not shown)".into(),
        _ => "(content of a kind this client does not read, not shown)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::ContentBlock;
    use serde_json::json;

    #[test]
    fn structured_content_wins_over_text() {
        let mut r = CallToolResult::success(vec![ContentBlock::text("{\"sum\":3}")]);
        r.structured_content = Some(json!({"sum": 3}));
        assert_eq!(result_json(r), Ok(json!({"sum": 3})));
    }

    #[test]
    fn text_content_is_a_string_or_a_list() {
        let one = CallToolResult::success(vec![ContentBlock::text("blue")]);
        assert_eq!(result_json(one), Ok(json!("blue")));
        let two = CallToolResult::success(vec![ContentBlock::text("a"), ContentBlock::text("b")]);
        assert_eq!(result_json(two), Ok(json!(["a", "b"])));
        assert_eq!(
            result_json(CallToolResult::success(vec![])),
            Ok(Value::Null)
        );
    }

    #[test]
    fn an_error_result_is_err_with_its_text() {
        let r = CallToolResult::error(vec![ContentBlock::text("no key \"x\"")]);
        assert_eq!(result_json(r), Err("no key \"x\"".to_string()));
        let silent = CallToolResult::error(vec![]);
        assert!(result_json(silent).is_err());
    }
}
