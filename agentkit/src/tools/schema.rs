//! The shape of one turn of a tool-using agent, and reading it back.
//!
//! A turn is one JSON value, either
//! `{"calls": [{"tool": "price_of", "args": {...}}, ...]}` (one to
//! `parallel` calls, each tool's arguments valid for its schema) or
//! `{"answer": <the output>}`. Both are one schema, so one grammar decides
//! which the model writes.

use serde_json::{json, Map, Value};

use super::DynTool;
use crate::backend::OutputSchema;
use crate::Error;

/// The schema of a turn: calls of `tools` (at most `parallel` at once) or,
/// where `answer` allows it (or there are no tools), the final `output`.
/// Every part keeps its own definitions, renamed apart.
pub fn turn_schema(
    tools: &[std::sync::Arc<dyn DynTool>],
    output: &OutputSchema,
    parallel: u32,
    answer: bool,
) -> OutputSchema {
    let mut defs = Map::new();
    let calls: Vec<Value> = tools
        .iter()
        .enumerate()
        .map(|(i, tool)| {
            let args = embed(tool.schema().full(), &format!("t{i}_"), &mut defs);
            json!({
                "type": "object",
                "properties": {
                    "tool": { "const": tool.name() },
                    "args": args,
                },
                "required": ["tool", "args"],
                "additionalProperties": false,
            })
        })
        .collect();
    let answer_schema = embed(output.full(), "answer_", &mut defs);
    let mut alternatives = Vec::new();
    if !calls.is_empty() {
        alternatives.push(json!({
            "type": "object",
            "properties": {
                "calls": {
                    "type": "array",
                    "items": { "anyOf": calls },
                    "minItems": 1,
                    "maxItems": parallel.max(1),
                },
            },
            "required": ["calls"],
            "additionalProperties": false,
        }));
    }
    if answer || alternatives.is_empty() {
        alternatives.push(json!({
            "type": "object",
            "properties": { "answer": answer_schema },
            "required": ["answer"],
            "additionalProperties": false,
        }));
    }
    let mut root = json!({ "anyOf": alternatives });
    if !defs.is_empty() {
        root["$defs"] = Value::Object(defs);
    }
    OutputSchema::from_full(root)
}

/// `schema` as a part of a bigger one: its definitions moved into `defs`
/// under `prefix`, its `$ref`s renamed to match. A reference to its own root
/// (`#`, a recursive type) points at a copy of the root kept as a definition.
fn embed(schema: &Value, prefix: &str, defs: &mut Map<String, Value>) -> Value {
    let mut body = schema.clone();
    let own = match &mut body {
        Value::Object(map) => {
            map.remove("$schema");
            map.remove("title");
            map.remove("$defs")
        }
        _ => None,
    };
    let root_name = format!("{prefix}_root");
    let refers_to_root = mentions_root(&body)
        || own
            .as_ref()
            .is_some_and(|d| d.as_object().is_some_and(|m| m.values().any(mentions_root)));
    if let Some(Value::Object(own)) = own {
        for (name, mut def) in own {
            rename_refs(&mut def, prefix, &root_name);
            defs.insert(format!("{prefix}{name}"), def);
        }
    }
    rename_refs(&mut body, prefix, &root_name);
    if refers_to_root {
        defs.insert(root_name, body.clone());
    }
    body
}

fn mentions_root(v: &Value) -> bool {
    match v {
        Value::Object(m) => {
            m.get("$ref").and_then(Value::as_str) == Some("#") || m.values().any(mentions_root)
        }
        Value::Array(a) => a.iter().any(mentions_root),
        _ => false,
    }
}

/// Renames every `$ref` in `v`: `#/$defs/Name` to `#/$defs/{prefix}Name`,
/// `#` to the root's copy. Values under `const`, `enum`, `default` and
/// `examples` are data, not schemas, and are left alone.
fn rename_refs(v: &mut Value, prefix: &str, root_name: &str) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get_mut("$ref") {
                if r == "#" {
                    *r = format!("#/$defs/{root_name}");
                } else if let Some(name) = r.strip_prefix("#/$defs/") {
                    *r = format!("#/$defs/{prefix}{name}");
                }
            }
            for (k, child) in m.iter_mut() {
                if !matches!(k.as_str(), "const" | "enum" | "default" | "examples") {
                    rename_refs(child, prefix, root_name);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|c| rename_refs(c, prefix, root_name)),
        _ => {}
    }
}

/// One turn as the model wrote it.
#[derive(Debug, Clone, PartialEq)]
pub enum Turn {
    /// Calls of tools: each tool's name and its arguments.
    Calls(Vec<(String, Value)>),
    /// The final output, as JSON (not yet parsed into the output type).
    Answer(Value),
}

impl Turn {
    /// Reads the text of a turn `agent` wrote.
    pub fn parse(agent: &str, text: &str) -> Result<Turn, Error> {
        let bad = |reason: String| Error::Parse {
            agent: agent.to_string(),
            output_type: "a turn (`calls` or `answer`)".to_string(),
            reason,
            raw: text.to_string(),
        };
        let value: Value = serde_json::from_str(text.trim()).map_err(|e| bad(e.to_string()))?;
        let Value::Object(mut map) = value else {
            return Err(bad("a turn is a JSON object".into()));
        };
        if let Some(answer) = map.remove("answer") {
            return Ok(Turn::Answer(answer));
        }
        let Some(Value::Array(calls)) = map.remove("calls") else {
            return Err(bad("a turn has `calls` (a list) or `answer`".into()));
        };
        calls
            .into_iter()
            .map(|call| match call {
                Value::Object(mut c) => match (c.remove("tool"), c.remove("args")) {
                    (Some(Value::String(tool)), Some(args)) => Ok((tool, args)),
                    _ => Err(bad("each call has `tool` (a name) and `args`".into())),
                },
                _ => Err(bad("each call is an object".into())),
            })
            .collect::<Result<_, _>>()
            .map(Turn::Calls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_are_renamed_apart_and_refs_follow() {
        let args = json!({"type":"object","properties":{"p":{"$ref":"#/$defs/P"}},"$defs":{"P":{"type":"string"}}});
        let out = json!({"type":"object","properties":{"p":{"$ref":"#/$defs/P"}},"$defs":{"P":{"type":"integer"}}});
        let mut defs = Map::new();
        let a = embed(&args, "t0_", &mut defs);
        let o = embed(&out, "answer_", &mut defs);
        assert_eq!(a["properties"]["p"]["$ref"], "#/$defs/t0_P");
        assert_eq!(o["properties"]["p"]["$ref"], "#/$defs/answer_P");
        assert_eq!(defs["t0_P"]["type"], "string");
        assert_eq!(defs["answer_P"]["type"], "integer");
        assert!(a.get("$defs").is_none());
    }

    #[test]
    fn a_recursive_root_is_kept_as_a_definition() {
        let tree =
            json!({"type":"object","properties":{"kids":{"type":"array","items":{"$ref":"#"}}}});
        let mut defs = Map::new();
        let body = embed(&tree, "answer_", &mut defs);
        assert_eq!(
            body["properties"]["kids"]["items"]["$ref"],
            "#/$defs/answer__root"
        );
        assert_eq!(defs["answer__root"], body);
    }

    #[test]
    fn turns_read_back() {
        let calls = Turn::parse("A", r#"{"calls":[{"tool":"add","args":{"a":1}}]}"#);
        assert!(
            matches!(calls, Ok(Turn::Calls(c)) if c == vec![("add".to_string(), json!({"a":1}))])
        );
        let answer = Turn::parse("A", r#"{"answer":{"x":true}}"#);
        assert!(matches!(answer, Ok(Turn::Answer(v)) if v == json!({"x":true})));
        assert!(Turn::parse("A", r#"{"other":1}"#).is_err());
        assert!(Turn::parse("A", r#"{"calls":[{"tool":1}]}"#).is_err());
    }
}
