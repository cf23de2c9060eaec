//! A tuple input as the prompt shows it: its parts keyed by their type
//! names, nested tuples flattened.

use serde_json::{Map, Value};

/// The parts of a tuple `value` (one whose `schema` has `prefixItems` of
/// its length) as an object keyed by their type names, nested tuples
/// flattened; or by position when a part has no name or two share one.
/// Any other value is returned as it is.
pub(super) fn name_tuple_parts(schema: &Value, value: Value) -> Value {
    if !is_tuple(schema, &value) {
        return value;
    }
    let mut parts = Vec::new();
    flatten_tuple(schema, value, &mut parts);
    let names: Vec<Option<String>> = parts.iter().map(|(name, _)| name.clone()).collect();
    let distinct = names.iter().enumerate().all(|(i, name)| {
        name.as_ref()
            .is_some_and(|n| !names[..i].contains(&Some(n.clone())))
    });
    let object: Map<String, Value> = parts
        .into_iter()
        .enumerate()
        .map(|(i, (name, part))| match name {
            Some(name) if distinct => (name, part),
            _ => ((i + 1).to_string(), part),
        })
        .collect();
    Value::Object(object)
}

/// Whether `schema` describes a tuple and `value` is an array of its length.
fn is_tuple(schema: &Value, value: &Value) -> bool {
    match (schema.get("prefixItems"), value) {
        (Some(Value::Array(parts)), Value::Array(items)) => parts.len() == items.len(),
        _ => false,
    }
}

/// Pushes the parts of the tuple `value` onto `out` with their snake-case
/// type names, descending into parts that are tuples themselves.
fn flatten_tuple(schema: &Value, value: Value, out: &mut Vec<(Option<String>, Value)>) {
    let (Some(Value::Array(schemas)), Value::Array(items)) = (schema.get("prefixItems"), value)
    else {
        return;
    };
    for (part_schema, item) in schemas.iter().zip(items) {
        if is_tuple(part_schema, &item) {
            flatten_tuple(part_schema, item, out);
        } else {
            out.push((type_name(part_schema).map(|n| snake_case(&n)), item));
        }
    }
}

/// The name of the type a sub-schema stands for: the target of its `$ref`,
/// or its `title`.
fn type_name(schema: &Value) -> Option<String> {
    if let Some(name) = crate::schema::ref_name(schema) {
        return Some(name.to_owned());
    }
    schema
        .get("title")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// `ReplyDraft` → `reply_draft`, `HTTPRequest` → `http_request`,
/// `Page_for_Thread` → `page_for_thread`.
fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || prev.is_ascii_digit() || (prev.is_uppercase() && next_lower) {
                out.push('_');
            }
        }
        out.extend(c.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tuple_parts_are_keyed_by_type_name_and_nested_tuples_flattened() {
        let schema = json!({
            "type": "array",
            "prefixItems": [
                {
                    "type": "array",
                    "prefixItems": [{ "$ref": "#/$defs/Thread" }, { "$ref": "#/$defs/Verdict" }],
                    "minItems": 2,
                    "maxItems": 2
                },
                { "$ref": "#/$defs/ReplyDraft" }
            ],
            "minItems": 2,
            "maxItems": 2
        });
        let value = json!([[{ "title": "t" }, { "relevant": true }], { "text": "hi" }]);
        assert_eq!(
            name_tuple_parts(&schema, value),
            json!({
                "thread": { "title": "t" },
                "verdict": { "relevant": true },
                "reply_draft": { "text": "hi" }
            })
        );
    }

    #[test]
    fn tuple_parts_without_distinct_names_are_keyed_by_position() {
        let unnamed = json!({
            "type": "array",
            "prefixItems": [{ "$ref": "#/$defs/Thread" }, { "type": "string" }]
        });
        assert_eq!(
            name_tuple_parts(&unnamed, json!([{ "title": "t" }, "note"])),
            json!({ "1": { "title": "t" }, "2": "note" })
        );
        let twice = json!({
            "type": "array",
            "prefixItems": [{ "$ref": "#/$defs/Thread" }, { "$ref": "#/$defs/Thread" }]
        });
        assert_eq!(
            name_tuple_parts(&twice, json!([{ "title": "a" }, { "title": "b" }])),
            json!({ "1": { "title": "a" }, "2": { "title": "b" } })
        );
        // Not a tuple: a list stays a list.
        let list = json!({ "type": "array", "items": { "type": "string" } });
        assert_eq!(
            name_tuple_parts(&list, json!(["a", "b"])),
            json!(["a", "b"])
        );
    }

    #[test]
    fn type_names_become_snake_case_keys() {
        assert_eq!(snake_case("Thread"), "thread");
        assert_eq!(snake_case("ReplyDraft"), "reply_draft");
        assert_eq!(snake_case("HTTPRequest"), "http_request");
        assert_eq!(snake_case("Page_for_Thread"), "page_for_thread");
        assert_eq!(snake_case("Utf8Text"), "utf8_text");
    }
}
