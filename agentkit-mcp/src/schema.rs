//! An MCP tool's input schema as agentkit takes it: one schema that is at
//! once the prompt's picture of the arguments, their decoding grammar and
//! the check before the call.
//!
//! MCP servers write their schemas in several drafts and styles, so the
//! schema is normalised first:
//! - `$schema` and `$id` are dropped (agentkit validates under one draft);
//! - draft-07 `definitions` become `$defs`, and their `$ref`s follow;
//! - a root without `type` is an object (MCP arguments always are);
//! - keywords a decoding grammar cannot enforce (`not`, `if`/`then`/`else`,
//!   `dependentRequired`, `propertyNames`, `unevaluatedProperties`, ...) and
//!   string `format`s it does not know are dropped: the server still checks
//!   its own arguments, and its error is fed back to the model;
//! - then [`agentkit::close_schema`]: an object that lists its `properties`
//!   and says nothing about others takes no others, so the grammar never
//!   lets a small model invent keys, and integer formats (`int64`) become
//!   bounds.

use serde_json::{Map, Value};

/// The normalised form of the input schema `raw` (see the module docs).
pub(crate) fn input_schema(raw: &Map<String, Value>) -> Value {
    let mut root = raw.clone();
    root.remove("$schema");
    root.remove("$id");
    let mut renamed = false;
    if let Some(Value::Object(old)) = root.remove("definitions") {
        let defs = root
            .entry("$defs")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(defs) = defs {
            for (name, def) in old {
                defs.entry(name).or_insert(def);
            }
        }
        renamed = true;
    }
    let combined = ["anyOf", "oneOf", "allOf", "$ref"]
        .iter()
        .any(|k| root.contains_key(*k));
    if !root.contains_key("type") && !combined {
        root.insert("type".into(), Value::String("object".into()));
    }
    let mut schema = Value::Object(root);
    if renamed {
        rename_definitions(&mut schema);
    }
    drop_ungrammatical(&mut schema);
    agentkit::close_schema(schema)
}

/// Keywords a decoding grammar cannot enforce (llguidance, which the llama
/// backend compiles the schema with, refuses a schema that has them).
const UNENFORCEABLE: &[&str] = &[
    "not",
    "if",
    "then",
    "else",
    "contains",
    "minContains",
    "maxContains",
    "dependentRequired",
    "dependentSchemas",
    "dependencies",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
    "$dynamicRef",
    "$dynamicAnchor",
    "$recursiveRef",
    "$recursiveAnchor",
];

/// The string formats a grammar can enforce; others are dropped (integer
/// formats are left for `close_schema`, which turns them into bounds).
const KNOWN_FORMATS: &[&str] = &[
    "date-time",
    "time",
    "date",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uuid",
    "uri",
];

const INTEGER_FORMATS: &[&str] = &[
    "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
];

/// Removes [`UNENFORCEABLE`] keywords and unknown string formats from
/// `schema` and its sub-schemas. Only keywords whose values are schemas
/// are walked, so a property called `not` and data under `const`,
/// `default` or `examples` are left alone.
fn drop_ungrammatical(schema: &mut Value) {
    let Value::Object(map) = schema else {
        return;
    };
    map.retain(|k, _| !UNENFORCEABLE.contains(&k.as_str()));
    if let Some(Value::String(format)) = map.get("format") {
        let known =
            KNOWN_FORMATS.contains(&format.as_str()) || INTEGER_FORMATS.contains(&format.as_str());
        if !known {
            map.remove("format");
        }
    }
    for (keyword, value) in map.iter_mut() {
        match (keyword.as_str(), value) {
            ("properties" | "patternProperties" | "$defs", Value::Object(named)) => {
                named.values_mut().for_each(drop_ungrammatical)
            }
            ("allOf" | "anyOf" | "oneOf" | "prefixItems" | "items", Value::Array(list)) => {
                list.iter_mut().for_each(drop_ungrammatical)
            }
            ("items" | "additionalItems" | "additionalProperties", one) => drop_ungrammatical(one),
            _ => {}
        }
    }
}

/// `#/definitions/X` to `#/$defs/X` in every `$ref` under `v`. Values under
/// `const`, `enum`, `default` and `examples` are data and are left alone.
fn rename_definitions(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get_mut("$ref") {
                if let Some(name) = r.strip_prefix("#/definitions/") {
                    *r = format!("#/$defs/{name}");
                }
            }
            for (k, child) in m.iter_mut() {
                if !matches!(k.as_str(), "const" | "enum" | "default" | "examples") {
                    rename_definitions(child);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(rename_definitions),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn normalised(v: Value) -> Value {
        match v {
            Value::Object(m) => input_schema(&m),
            _ => unreachable!("test schemas are objects"),
        }
    }

    #[test]
    fn draft_07_definitions_become_defs_and_refs_follow() {
        let s = normalised(json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {"p": {"$ref": "#/definitions/Point"}},
            "definitions": {"Point": {"type": "object", "properties": {"x": {"type": "integer"}}}},
        }));
        assert!(s.get("$schema").is_none());
        assert!(s.get("definitions").is_none());
        assert_eq!(s["properties"]["p"]["$ref"], "#/$defs/Point");
        assert_eq!(s["$defs"]["Point"]["additionalProperties"], false);
        assert_eq!(s["additionalProperties"], false);
    }

    #[test]
    fn a_root_without_type_is_an_object() {
        let s = normalised(json!({"properties": {"q": {"type": "string"}}, "required": ["q"]}));
        assert_eq!(s["type"], "object");
        let empty = normalised(json!({}));
        assert_eq!(empty, json!({"type": "object"}));
    }

    #[test]
    fn what_a_grammar_cannot_enforce_is_dropped() {
        let s = normalised(json!({
            "type": "object",
            "properties": {
                "n": {"type": "integer", "format": "int64", "not": {"const": 0}},
                "when": {"type": "string", "format": "date-time"},
                "path": {"type": "string", "format": "path"},
                "not": {"type": "string"},
            },
            "dependentRequired": {"n": ["when"]},
            "unevaluatedProperties": false,
        }));
        assert!(s.get("dependentRequired").is_none());
        assert!(s.get("unevaluatedProperties").is_none());
        assert_eq!(s["additionalProperties"], false);
        assert_eq!(s["properties"]["n"]["maximum"], i64::MAX - 2047);
        assert!(s["properties"]["n"].get("not").is_none());
        assert!(s["properties"]["n"].get("format").is_none());
        assert_eq!(s["properties"]["when"]["format"], "date-time");
        assert!(s["properties"]["path"].get("format").is_none());
        assert_eq!(s["properties"]["not"]["type"], "string");
    }

    #[test]
    fn open_objects_and_data_are_left_as_the_server_wrote_them() {
        let s = normalised(json!({
            "type": "object",
            "properties": {
                "tags": {"type": "object", "additionalProperties": {"type": "string"}},
                "properties": {"type": "string", "default": {"properties": {}}},
            },
        }));
        assert_eq!(
            s["properties"]["tags"]["additionalProperties"]["type"],
            "string"
        );
        assert_eq!(
            s["properties"]["properties"]["default"],
            json!({"properties": {}})
        );
        assert!(s["properties"]["properties"]
            .get("additionalProperties")
            .is_none());
    }
}
