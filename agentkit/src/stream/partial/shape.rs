//! Completing a closed prefix into a value of the output's shape.

use serde_json::{Map, Number, Value};

/// `value` (a closed prefix, or nothing yet) completed into a value of the
/// shape `schema` describes: what is not written yet is filled with the
/// smallest value the schema allows (`""`, `0` or the minimum, `false`, `[]`,
/// the first of an `enum`, `null` where allowed), and a string cut off
/// inside an `enum` is replaced the same way. `root` resolves `$ref`s.
pub(crate) fn fill(value: Option<&Value>, schema: &Value, root: &Value) -> Value {
    fill_at(value, schema, root, 0)
}

/// How deep `$ref`s are followed before giving up (a recursive type whose
/// every level is required would otherwise never end).
const MAX_DEPTH: usize = 32;

fn fill_at(value: Option<&Value>, schema: &Value, root: &Value, depth: usize) -> Value {
    let Some(schema) = schema.as_object() else {
        return value.cloned().unwrap_or(Value::Null);
    };
    if depth > MAX_DEPTH {
        return value.cloned().unwrap_or(Value::Null);
    }
    if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        if let Some(resolved) = target.strip_prefix('#').and_then(|p| root.pointer(p)) {
            return fill_at(value, resolved, root, depth + 1);
        }
    }
    if let Some(c) = schema.get("const") {
        return c.clone();
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        return match value {
            Some(v) if options.contains(v) => v.clone(),
            _ => options.first().cloned().unwrap_or(Value::Null),
        };
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = schema.get(key).and_then(Value::as_array) {
            let branch = match value {
                Some(v) => branches.iter().find(|b| fits(v, b, root, depth)),
                None => branches
                    .iter()
                    .find(|b| b.get("type").and_then(Value::as_str) == Some("null"))
                    .or(branches.first()),
            };
            return match branch {
                Some(b) => fill_at(value, b, root, depth + 1),
                None => fill_at(None, &branches[0], root, depth + 1),
            };
        }
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        if let Some(first) = all.first() {
            return fill_at(value, first, root, depth + 1);
        }
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let ty = match value {
        Some(v) => types
            .iter()
            .copied()
            .find(|t| type_fits(v, t))
            .or(types.first().copied()),
        // Missing: null where allowed, else the first type.
        None => types
            .iter()
            .copied()
            .find(|t| *t == "null")
            .or(types.first().copied()),
    };
    match ty {
        Some("object") => {
            let written = value.and_then(Value::as_object);
            let mut out = Map::new();
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                for (key, sub) in properties {
                    match written.and_then(|w| w.get(key)) {
                        Some(v) => {
                            out.insert(key.clone(), fill_at(Some(v), sub, root, depth + 1));
                        }
                        None if required.contains(&key.as_str()) => {
                            out.insert(key.clone(), fill_at(None, sub, root, depth + 1));
                        }
                        None => {}
                    }
                }
            } else if let Some(w) = written {
                out = w.clone();
            }
            Value::Object(out)
        }
        Some("array") => {
            let items = schema.get("items").unwrap_or(&Value::Bool(true));
            let mut out: Vec<Value> = value
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|v| fill_at(Some(v), items, root, depth + 1))
                        .collect()
                })
                .unwrap_or_default();
            let min = schema.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
            while out.len() < min {
                out.push(fill_at(None, items, root, depth + 1));
            }
            Value::Array(out)
        }
        Some("string") => match value {
            Some(Value::String(s)) => Value::String(s.clone()),
            _ => {
                let min = schema.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
                Value::String(" ".repeat(min))
            }
        },
        Some(t @ ("integer" | "number")) => match value {
            Some(Value::Number(n)) => Value::Number(n.clone()),
            _ => {
                let bound = |k: &str| schema.get(k).and_then(Value::as_f64);
                let least = match (bound("minimum"), bound("maximum")) {
                    (Some(min), _) if min > 0.0 => min,
                    (_, Some(max)) if max < 0.0 => max,
                    _ => 0.0,
                };
                if t == "integer" {
                    Value::from(least.ceil() as i64)
                } else {
                    Number::from_f64(least).map_or(Value::from(0), Value::Number)
                }
            }
        },
        Some("boolean") => match value {
            Some(Value::Bool(b)) => Value::Bool(*b),
            _ => Value::Bool(false),
        },
        Some("null") => Value::Null,
        _ => value.cloned().unwrap_or(Value::Null),
    }
}

/// Whether `value` could be an instance of `schema`, judged by its kind
/// (and its constant or enum, where the schema has one): enough to pick the
/// branch of an `anyOf` a prefix belongs to.
fn fits(value: &Value, schema: &Value, root: &Value, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        return target
            .strip_prefix('#')
            .and_then(|p| root.pointer(p))
            .is_some_and(|s| fits(value, s, root, depth + 1));
    }
    if let Some(c) = schema.get("const") {
        return c == value;
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        return options.contains(value);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = schema.get(key).and_then(Value::as_array) {
            return branches.iter().any(|b| fits(value, b, root, depth + 1));
        }
    }
    match schema.get("type") {
        Some(Value::String(t)) => type_fits(value, t),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .any(|t| type_fits(value, t)),
        _ => true,
    }
}

fn type_fits(value: &Value, ty: &str) -> bool {
    match ty {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fill_completes_a_prefix_into_the_schema_s_shape() {
        let schema = json!({
            "type": "object",
            "properties": {
                "topic": { "type": "string", "enum": ["hardware", "software"] },
                "score": { "type": "integer", "minimum": 1, "maximum": 5 },
                "ok": { "type": "boolean" },
                "note": { "type": ["string", "null"] },
                "points": { "type": "array", "items": { "$ref": "#/$defs/Point" }, "minItems": 1 },
                "extra": { "type": "string" }
            },
            "required": ["topic", "score", "ok", "note", "points"],
            "$defs": { "Point": { "type": "object", "properties": { "x": { "type": "number" } }, "required": ["x"] } }
        });
        let filled = fill(Some(&json!({"topic": "hardw"})), &schema, &schema);
        assert_eq!(
            filled,
            json!({"topic": "hardware", "score": 1, "ok": false, "note": null, "points": [{"x": 0.0}]})
        );
        let filled = fill(
            Some(&json!({"topic": "software", "points": [{}]})),
            &schema,
            &schema,
        );
        assert_eq!(filled["topic"], "software");
        assert_eq!(filled["points"], json!([{"x": 0.0}]));
    }
}
