//! The picture of the output's shape that the system message shows.

use serde_json::{Number, Value};

use crate::schema::model::{Node, Schema, SchemaModel, Type, MAX_REF_DEPTH};

/// Describes a JSON schema in a compact, TypeScript-like notation that small
/// models read more easily than the schema itself. Field docs become `//`
/// comments, and the bounds the grammar enforces are written beside their
/// types, so the model aims for them: `integer 1..=5`, `number >= 0`,
/// `string (at most 80 chars)`, `string[] (1 to 3 items)`.
///
/// ```
/// let schema = serde_json::json!({
///     "type": "object",
///     "properties": {
///         "relevant": { "type": "boolean", "description": "true when on topic" },
///         "tags": { "type": "array", "items": { "type": "string" } }
///     },
///     "required": ["relevant"]
/// });
/// assert_eq!(
///     agentkit::describe_schema(&schema),
///     "{\n  \"relevant\": boolean, // true when on topic\n  \"tags\"?: string[]\n}"
/// );
/// ```
pub fn describe_schema(schema: &Value) -> String {
    describe(&SchemaModel::parse(schema))
}

/// The picture [`describe_schema`] draws, of a schema already parsed.
pub(crate) fn describe(model: &SchemaModel) -> String {
    let mut out = String::new();
    Describer { model }.write(model.root(), 0, 0, &mut out);
    out
}

struct Describer<'a> {
    model: &'a SchemaModel,
}

/// How deep in the picture a `$ref` is still drawn in full: deeper, it is
/// written by its name. This bounds the picture of a recursive type (as
/// [`MAX_REF_DEPTH`] bounds every reader's walk), and keeps a deeply nested
/// one readable.
const PICTURE_DEPTH: usize = 6;

impl<'a> Describer<'a> {
    /// Writes `schema` at nesting `depth` (its indentation), `refs` `$ref`s
    /// into the walk.
    fn write(&self, schema: &'a Schema, depth: usize, refs: usize, out: &mut String) {
        let node = match schema {
            // `true` / `false` schemas.
            Schema::Bool(allowed) => {
                out.push_str(if *allowed { "any" } else { "never" });
                return;
            }
            Schema::Node(node) => node,
        };
        if let Some(reference) = node.reference.as_deref() {
            match self.model.resolve(reference) {
                Some(def) if depth < PICTURE_DEPTH && refs < MAX_REF_DEPTH => {
                    self.write(def, depth, refs + 1, out)
                }
                _ => out.push_str(self.model.name_of(reference)),
            }
            return;
        }
        if let Some(c) = &node.constant {
            out.push_str(&c.to_string());
            return;
        }
        if let Some(options) = &node.choices {
            let parts: Vec<String> = options.iter().map(Value::to_string).collect();
            out.push_str(&parts.join(" | "));
            return;
        }
        if let Some(options) = node.alternatives() {
            for (i, option) in options.iter().enumerate() {
                if i > 0 {
                    out.push_str(" | ");
                }
                self.write(option, depth + 1, refs, out);
            }
            return;
        }
        if node.types.is_empty() {
            out.push_str("any");
        }
        for (i, t) in node.types.iter().enumerate() {
            if i > 0 {
                out.push_str(" | ");
            }
            match t {
                Type::Object => self.write_object(node, depth, refs, out),
                Type::Array => self.write_array(node, depth, refs, out),
                Type::Integer | Type::Number => {
                    out.push_str(t.as_str());
                    out.push_str(&numeric_bounds(node, *t == Type::Integer));
                }
                Type::String => {
                    out.push_str(t.as_str());
                    out.push_str(&count_bounds(node.min_length, node.max_length, "char"));
                }
                other => out.push_str(other.as_str()),
            }
        }
    }

    /// `item[]`, or `[a, b]` for a tuple, followed by the bounds on the
    /// number of items.
    fn write_array(&self, node: &'a Node, depth: usize, refs: usize, out: &mut String) {
        let mut counted = true;
        if let Some(parts) = &node.prefix_items {
            out.push('[');
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                self.write(part, depth + 1, refs, out);
            }
            out.push(']');
            // A tuple's length is in its picture already.
            counted = node.max_items != Some(parts.len() as u64);
        } else {
            let mut inner = String::new();
            match &node.items {
                Some(items) => self.write(items, depth + 1, refs, &mut inner),
                None => self.write(&Schema::Bool(true), depth + 1, refs, &mut inner),
            }
            // `integer 1..=5[]` would read as a range of arrays.
            let bare = !inner.contains(' ') || inner.starts_with('{');
            if bare && !inner.contains(" | ") {
                out.push_str(&inner);
                out.push_str("[]");
            } else {
                out.push_str(&format!("({inner})[]"));
            }
        }
        if counted {
            out.push_str(&count_bounds(node.min_items, node.max_items, "item"));
        }
    }

    fn write_object(&self, node: &'a Node, depth: usize, refs: usize, out: &mut String) {
        let Some(props) = &node.properties else {
            out.push_str("object");
            return;
        };
        if props.is_empty() {
            out.push_str("{}");
            return;
        }
        let pad = "  ".repeat(depth + 1);
        out.push_str("{\n");
        let last = props.len() - 1;
        for (i, (name, prop)) in props.iter().enumerate() {
            out.push_str(&pad);
            out.push_str(&Value::String(name.clone()).to_string());
            if !node.requires(name) {
                out.push('?');
            }
            out.push_str(": ");
            self.write(prop, depth + 1, refs, out);
            if i != last {
                out.push(',');
            }
            let prop = prop.node();
            let mut comment = match prop.and_then(|p| p.description.as_deref()) {
                Some(doc) => doc.split_whitespace().collect::<Vec<_>>().join(" "),
                None => String::new(),
            };
            // A set: the grammar lets the model repeat an item (the parsed
            // set drops the repeat), so the prompt is what asks it not to.
            if prop.is_some_and(|p| p.unique_items) {
                if !comment.is_empty() {
                    comment.push(' ');
                }
                comment.push_str("(no duplicates)");
            }
            if !comment.is_empty() {
                out.push_str(" // ");
                out.push_str(&comment);
            }
            out.push('\n');
        }
        out.push_str(&"  ".repeat(depth));
        out.push('}');
    }
}

/// The range of a number, as a suffix: ` 1..=5`, ` >= 0`, ` > 0 and < 1`;
/// empty when it is unbounded.
///
/// The limits of 32- and 64-bit integers, which the schema carries for every
/// `i32` or `u64` field, are left out: `integer 0..=4294967295` tells a
/// model nothing it can use, while `integer >= 0` does.
fn numeric_bounds<'a>(node: &'a Node, integer: bool) -> String {
    let wide = |v: &Number| {
        integer
            && [
                Value::from(i32::MIN),
                Value::from(i32::MAX),
                Value::from(u32::MAX),
                Value::from(i64::MIN),
                Value::from(i64::MAX),
                Value::from(u64::MAX),
                Value::from(-crate::schema::LARGEST_BOUND),
                Value::from(crate::schema::LARGEST_BOUND),
            ]
            .contains(&Value::Number(v.clone()))
    };
    let bound = |n: &'a Option<Number>| n.as_ref().filter(|v| !wide(v));
    let (min, max) = (bound(&node.minimum), bound(&node.maximum));
    let (above, below) = (
        bound(&node.exclusive_minimum),
        bound(&node.exclusive_maximum),
    );
    if let (Some(min), Some(max), None, None) = (min, max, above, below) {
        return format!(" {min}..={max}");
    }
    let parts: Vec<String> = [(">", above), (">=", min), ("<", below), ("<=", max)]
        .into_iter()
        .filter_map(|(op, v)| v.map(|v| format!("{op} {v}")))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" {}", parts.join(" and "))
    }
}

/// Bounds on a count (a string's length, an array's items), as a suffix:
/// ` (at most 80 chars)`, ` (1 to 3 items)`, ` (exactly 1 char)`; empty
/// when there are none.
fn count_bounds(min: Option<u64>, max: Option<u64>, unit: &str) -> String {
    let min = min.filter(|&n| n > 0);
    let units = |n: u64| {
        if n == 1 {
            unit.to_string()
        } else {
            format!("{unit}s")
        }
    };
    match (min, max) {
        (Some(a), Some(b)) if a == b => format!(" (exactly {a} {})", units(a)),
        (Some(a), Some(b)) => format!(" ({a} to {b} {})", units(b)),
        (Some(a), None) => format!(" (at least {a} {})", units(a)),
        (None, Some(b)) => format!(" (at most {b} {})", units(b)),
        (None, None) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numeric_ranges_are_written_compactly() {
        let describe = |s: Value| describe_schema(&s);
        let range = json!({ "type": "integer", "minimum": 1, "maximum": 5 });
        assert_eq!(describe(range), "integer 1..=5");
        let floor = json!({ "type": "integer", "minimum": 0 });
        assert_eq!(describe(floor), "integer >= 0");
        let ceiling = json!({ "type": "number", "maximum": 1.5 });
        assert_eq!(describe(ceiling), "number <= 1.5");
        let open = json!({ "type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1 });
        assert_eq!(describe(open), "number > 0 and < 1");
        let half_open = json!({ "type": "number", "minimum": 0, "exclusiveMaximum": 1 });
        assert_eq!(describe(half_open), "number >= 0 and < 1");
        // The limits of wide integer types are noise, and left out.
        let u32_like = json!({ "type": "integer", "minimum": 0, "maximum": u32::MAX });
        assert_eq!(describe(u32_like), "integer >= 0");
        let i64_like = json!({ "type": "integer", "minimum": i64::MIN, "maximum": i64::MAX });
        assert_eq!(describe(i64_like), "integer");
        // A nullable number keeps its range on the number.
        let maybe = json!({ "type": ["integer", "null"], "minimum": 1, "maximum": 5 });
        assert_eq!(describe(maybe), "integer 1..=5 | null");
    }

    #[test]
    fn lengths_and_item_counts_are_written_in_words() {
        let describe = |s: Value| describe_schema(&s);
        assert_eq!(
            describe(json!({ "type": "string", "maxLength": 80 })),
            "string (at most 80 chars)"
        );
        assert_eq!(
            describe(json!({ "type": "string", "minLength": 1 })),
            "string (at least 1 char)"
        );
        assert_eq!(
            describe(json!({ "type": "string", "minLength": 1, "maxLength": 1 })),
            "string (exactly 1 char)"
        );
        assert_eq!(
            describe(json!({ "type": "string", "minLength": 0, "maxLength": 1 })),
            "string (at most 1 char)"
        );
        let items = json!({ "type": "string" });
        assert_eq!(
            describe(json!({ "type": "array", "items": items, "maxItems": 3 })),
            "string[] (at most 3 items)"
        );
        assert_eq!(
            describe(json!({ "type": "array", "items": items, "minItems": 1, "maxItems": 3 })),
            "string[] (1 to 3 items)"
        );
        // Bounded items are bracketed, so the bound is not read as the array's.
        let stars = json!({ "type": "integer", "minimum": 1, "maximum": 5 });
        assert_eq!(
            describe(json!({ "type": "array", "items": stars, "maxItems": 2 })),
            "(integer 1..=5)[] (at most 2 items)"
        );
    }

    #[test]
    fn tuples_are_written_as_their_parts() {
        let pair = json!({
            "type": "array",
            "prefixItems": [{ "type": "integer", "minimum": 0, "maximum": 255 }, { "type": "string" }],
            "minItems": 2,
            "maxItems": 2
        });
        assert_eq!(describe_schema(&pair), "[integer 0..=255, string]");
    }

    #[test]
    fn a_recursive_type_is_drawn_to_the_picture_s_depth_then_named() {
        #[derive(schemars::JsonSchema)]
        #[allow(dead_code)]
        struct Node {
            name: String,
            kids: Vec<Node>,
        }
        // The root refers to itself as `#`, written by its title.
        assert_eq!(
            describe_schema(&crate::output_schema::<Node>()),
            "{\n  \"name\": string,\n  \"kids\": {\n      \"name\": string,\n      \"kids\": {\n          \"name\": string,\n          \"kids\": Node[]\n        }[]\n    }[]\n}"
        );
    }
}
