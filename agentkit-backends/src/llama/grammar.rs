//! JSON schema → llguidance token matcher.

use std::sync::Arc;

use agentkit::Error;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;
use llguidance::api::TopLevelGrammar;
use llguidance::{Matcher, ParserFactory};
use serde_json::Value;

/// The grammar engine for `model`'s vocabulary (~0.2 s for 49k tokens):
/// build it once per model and share it between every grammar.
pub(super) fn parser_factory(model: &LlamaModel) -> Result<Arc<ParserFactory>, String> {
    let env = LlamaSampler::llguidance_tok_env(model);
    ParserFactory::new_simple(&env)
        .map(|mut f| {
            f.quiet();
            Arc::new(f)
        })
        .map_err(|e| e.to_string())
}

/// Compiles `schema` into a token matcher, before any token is generated:
/// a schema the engine cannot express is an error, never an unconstrained run.
/// `schema` is the grammar form ([`agentkit::backend::OutputSchema::grammar`]):
/// what a grammar cannot enforce (a set's `uniqueItems`) is already left out,
/// to the output type's deserializer.
pub(super) fn matcher(
    factory: &ParserFactory,
    agent: &str,
    schema: &Value,
) -> Result<Matcher, Error> {
    let mut schema = schema.clone();
    if let Value::Object(map) = &mut schema {
        // Compact JSON: a weak model must not spend its budget on whitespace.
        map.insert(
            "x-guidance".into(),
            serde_json::json!({ "whitespace_flexible": false, "lenient": false }),
        );
    }
    let unsupported = |reason: String| Error::UnsupportedSchema {
        agent: agent.to_string(),
        location: locate(&schema, &reason),
        reason,
    };
    let parser = factory
        .create_parser(TopLevelGrammar::from_json_schema(schema.clone()))
        .map_err(|e| unsupported(format!("{e:#}")))?;
    let matcher = Matcher::new(Ok(parser));
    match matcher.get_error() {
        Some(e) => Err(unsupported(e)),
        None => Ok(matcher),
    }
}

/// Finds where in `schema` the engine's complaint is: the JSON pointer of the
/// first object key (or string value, such as a regex) the message quotes,
/// else the root.
fn locate(schema: &Value, message: &str) -> String {
    fn walk(v: &Value, path: &str, message: &str) -> Option<String> {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    let here = format!("{path}/{k}");
                    if k != "x-guidance" && message.contains(&format!("\"{k}\"")) {
                        return Some(here);
                    }
                    if let Some(found) = walk(child, &here, message) {
                        return Some(found);
                    }
                }
                None
            }
            Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, c)| walk(c, &format!("{path}/{i}"), message)),
            // Regex errors quote the pattern, not the key that holds it.
            Value::String(s) if s.len() >= 2 && message.contains(s.as_str()) => {
                Some(path.to_string())
            }
            _ => None,
        }
    }
    match walk(schema, "", message) {
        Some(pointer) => format!("`{pointer}`"),
        None => "the schema root".to_string(),
    }
}
