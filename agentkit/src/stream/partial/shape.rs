//! Completing a closed prefix into a value of the output's shape.

use serde_json::{Map, Number, Value};

use crate::schema::model::{Node, Schema, SchemaModel, Type, MAX_REF_DEPTH};

/// `value` (a closed prefix, or nothing yet) completed into a value of the
/// shape `model` describes: what is not written yet is filled with the
/// smallest value the schema allows (`""`, `0` or the minimum, `false`, `[]`,
/// the first of an `enum`, `null` where allowed), and a string cut off
/// inside an `enum` is replaced the same way. Past [`MAX_REF_DEPTH`]
/// `$ref`s (a recursive type whose every level is required would otherwise
/// never end), what is written is kept as it is.
pub(crate) fn fill(value: Option<&Value>, model: &SchemaModel) -> Value {
    Filler { model }.fill(value, model.root(), 0)
}

/// Walks a value and its schema together; `refs` counts the `$ref`s
/// followed on the way.
struct Filler<'a> {
    model: &'a SchemaModel,
}

impl Filler<'_> {
    fn fill(&self, value: Option<&Value>, schema: &Schema, refs: usize) -> Value {
        let as_written = || value.cloned().unwrap_or(Value::Null);
        let Some(node) = schema.node() else {
            return as_written();
        };
        if let Some(reference) = node.reference.as_deref() {
            if refs >= MAX_REF_DEPTH {
                return as_written();
            }
            if let Some(resolved) = self.model.resolve(reference) {
                return self.fill(value, resolved, refs + 1);
            }
        }
        if let Some(c) = &node.constant {
            return c.clone();
        }
        if let Some(options) = &node.choices {
            return match value {
                Some(v) if options.contains(v) => v.clone(),
                _ => options.first().cloned().unwrap_or(Value::Null),
            };
        }
        if let Some(branches) = node.any_of.as_deref().or(node.one_of.as_deref()) {
            let branch = match value {
                Some(v) => branches.iter().find(|b| self.fits(v, b, refs)),
                None => branches
                    .iter()
                    .find(|b| b.node().is_some_and(|n| n.types == [Type::Null]))
                    .or(branches.first()),
            };
            return match (branch, branches.first()) {
                (Some(b), _) => self.fill(value, b, refs),
                (None, Some(first)) => self.fill(None, first, refs),
                (None, None) => as_written(),
            };
        }
        if let Some(first) = node.all_of.as_deref().and_then(<[Schema]>::first) {
            return self.fill(value, first, refs);
        }
        let types = &node.types;
        let ty = match value {
            Some(v) => types.iter().find(|t| t.admits(v)).or(types.first()),
            // Missing: null where allowed, else the first type.
            None => types.iter().find(|t| **t == Type::Null).or(types.first()),
        };
        match ty {
            Some(Type::Object) => self.fill_object(value, node, refs),
            Some(Type::Array) => {
                let any = Schema::Bool(true);
                let items = node.items.as_ref().unwrap_or(&any);
                let mut out: Vec<Value> = value
                    .and_then(Value::as_array)
                    .map(|a| a.iter().map(|v| self.fill(Some(v), items, refs)).collect())
                    .unwrap_or_default();
                let min = node.min_items.unwrap_or(0) as usize;
                while out.len() < min {
                    out.push(self.fill(None, items, refs));
                }
                Value::Array(out)
            }
            Some(Type::String) => match value {
                Some(Value::String(s)) => Value::String(s.clone()),
                _ => Value::String(" ".repeat(node.min_length.unwrap_or(0) as usize)),
            },
            Some(t @ (Type::Integer | Type::Number)) => match value {
                Some(Value::Number(n)) => Value::Number(n.clone()),
                _ => least_number(node, *t == Type::Integer),
            },
            Some(Type::Boolean) => match value {
                Some(Value::Bool(b)) => Value::Bool(*b),
                _ => Value::Bool(false),
            },
            Some(Type::Null) => Value::Null,
            _ => as_written(),
        }
    }

    /// The written properties filled, and the required ones not written yet.
    fn fill_object(&self, value: Option<&Value>, node: &Node, refs: usize) -> Value {
        let written = value.and_then(Value::as_object);
        let Some(properties) = &node.properties else {
            return Value::Object(written.cloned().unwrap_or_default());
        };
        let mut out = Map::new();
        for (key, sub) in properties {
            match written.and_then(|w| w.get(key)) {
                Some(v) => {
                    out.insert(key.clone(), self.fill(Some(v), sub, refs));
                }
                None if node.requires(key) => {
                    out.insert(key.clone(), self.fill(None, sub, refs));
                }
                None => {}
            }
        }
        Value::Object(out)
    }

    /// Whether `value` could be an instance of `schema`, judged by its kind
    /// (and its constant or enum, where the schema has one): enough to pick
    /// the branch of an `anyOf` a prefix belongs to.
    fn fits(&self, value: &Value, schema: &Schema, refs: usize) -> bool {
        let Some(node) = schema.node() else {
            return true;
        };
        if let Some(reference) = node.reference.as_deref() {
            return refs < MAX_REF_DEPTH
                && self
                    .model
                    .resolve(reference)
                    .is_some_and(|s| self.fits(value, s, refs + 1));
        }
        if let Some(c) = &node.constant {
            return c == value;
        }
        if let Some(options) = &node.choices {
            return options.contains(value);
        }
        if let Some(branches) = node.any_of.as_deref().or(node.one_of.as_deref()) {
            return branches.iter().any(|b| self.fits(value, b, refs));
        }
        node.types.is_empty() || node.types.iter().any(|t| t.admits(value))
    }
}

/// The number nearest zero that `node`'s bounds allow (its positive minimum
/// or negative maximum), an integer when `integer`.
fn least_number(node: &Node, integer: bool) -> Value {
    let bound = |n: &Option<Number>| n.as_ref().and_then(Number::as_f64);
    let least = match (bound(&node.minimum), bound(&node.maximum)) {
        (Some(min), _) if min > 0.0 => min,
        (_, Some(max)) if max < 0.0 => max,
        _ => 0.0,
    };
    if integer {
        Value::from(least.ceil() as i64)
    } else {
        Number::from_f64(least).map_or(Value::from(0), Value::Number)
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
        let model = SchemaModel::parse(&schema);
        let filled = fill(Some(&json!({"topic": "hardw"})), &model);
        assert_eq!(
            filled,
            json!({"topic": "hardware", "score": 1, "ok": false, "note": null, "points": [{"x": 0.0}]})
        );
        let filled = fill(Some(&json!({"topic": "software", "points": [{}]})), &model);
        assert_eq!(filled["topic"], "software");
        assert_eq!(filled["points"], json!([{"x": 0.0}]));
    }

    #[test]
    fn fill_follows_a_recursive_type_as_deep_as_it_is_written() {
        #[derive(schemars::JsonSchema, serde::Deserialize)]
        #[allow(dead_code)]
        struct Node {
            name: String,
            kids: Vec<Node>,
        }
        let model = SchemaModel::parse(&crate::output_schema::<Node>());
        let mut written = json!({});
        for _ in 0..20 {
            written = json!({ "kids": [written] });
        }
        let filled = fill(Some(&written), &model);
        assert!(serde_json::from_value::<Node>(filled).is_ok());
    }
}
