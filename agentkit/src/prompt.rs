//! Prompt rendering: instructions, a compact picture of the output schema, and the input.

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::{Agent, Error, InputFormat, Shot};

/// Who speaks a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions for the model.
    System,
    /// The input.
    User,
    /// The model's answer (used for examples).
    Assistant,
}

impl Role {
    /// The role's name as chat templates spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    /// Who speaks.
    pub role: Role,
    /// What is said.
    pub content: String,
}

/// The chat messages for one agent call, before the model's chat template is applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Prompt {
    /// The messages in order: system first, then the user's input.
    pub messages: Vec<Message>,
}

impl Prompt {
    /// Renders the prompt for `agent` given `input`.
    ///
    /// The system message holds the agent's instructions and a compact
    /// description of the output's shape with the doc comments of its fields;
    /// the user message holds the input as JSON (or labelled lines, as
    /// [`Agent::INPUT_FORMAT`] says).
    ///
    /// A tuple input, such as the `(Thread, Verdict)` that
    /// [`with_input`](crate::with_input) yields, is written as an object keyed
    /// by its parts' type names in snake case (`{"thread": ..., "verdict":
    /// ...}`), nested tuples flattened, rather than as a JSON array a small
    /// model has to count through. Parts without a name of their own
    /// (`String`, `u8`, `Vec<T>`) or with the same name are keyed by position
    /// instead: `"1"`, `"2"`, ...
    pub fn render<A: Agent>(input: &A::Input) -> Result<Prompt, Error> {
        Prompt::render_with::<A>(input, &A::examples()?)
    }

    /// Renders the prompt for `agent` given `input`, with `shots` as the
    /// few-shot examples in place of the agent's own (what a tuned scored
    /// agent uses; see [`tune`](crate::tune)).
    pub fn render_with<A: Agent>(input: &A::Input, shots: &[Shot]) -> Result<Prompt, Error> {
        let value = serde_json::to_value(input).map_err(|source| Error::Input {
            agent: A::NAME.to_string(),
            source,
        })?;
        let mut prompt = Prompt::with_shots::<A>(shots);
        prompt.messages.push(Message {
            role: Role::User,
            content: render_input(&input_value::<A>(value), A::INPUT_FORMAT),
        });
        Ok(prompt)
    }

    /// Everything before the input: the system message and the few-shot
    /// examples as earlier turns. Pre-flight checks measure it against the
    /// context, and fail on examples that do not load.
    pub(crate) fn preamble<A: Agent>() -> Result<Prompt, Error> {
        Ok(Prompt::with_shots::<A>(&A::examples()?))
    }

    /// The system message, then `shots` as earlier turns.
    fn with_shots<A: Agent>(shots: &[Shot]) -> Prompt {
        let mut prompt = Prompt::system_only::<A>();
        for shot in shots.iter().cloned() {
            prompt.messages.push(Message {
                role: Role::User,
                content: render_input(&input_value::<A>(shot.input), A::INPUT_FORMAT),
            });
            prompt.messages.push(Message {
                role: Role::Assistant,
                content: shot.output.to_string(),
            });
        }
        prompt
    }

    /// The system message of `agent`'s prompt alone: its instructions and
    /// the shape of its output, without few-shot examples or input.
    pub fn system_only<A: Agent>() -> Prompt {
        let schema = crate::schema::output_schema::<A::Output>();
        Prompt {
            messages: vec![Message {
                role: Role::System,
                content: system_message(A::INSTRUCTIONS, &schema),
            }],
        }
    }

    /// The content of the first message with `role`, if any.
    pub fn message(&self, role: Role) -> Option<&str> {
        self.messages
            .iter()
            .find(|m| m.role == role)
            .map(|m| m.content.as_str())
    }
}

impl fmt::Display for Prompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, m) in self.messages.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            writeln!(f, "[{}]", m.role.as_str())?;
            writeln!(f, "{}", m.content)?;
        }
        Ok(())
    }
}

/// `A`'s input as the prompt shows it: a tuple's parts keyed by name (see
/// [`Prompt::render`]), anything else as it serialized.
fn input_value<A: Agent>(value: Value) -> Value {
    // Only an array can be a tuple: the schema is not built for anything else.
    if !value.is_array() {
        return value;
    }
    let schema = crate::schema::output_schema::<A::Input>();
    name_tuple_parts(&schema, value)
}

/// The parts of a tuple `value` (one whose `schema` has `prefixItems` of
/// its length) as an object keyed by their type names, nested tuples
/// flattened; or by position when a part has no name or two share one.
/// Any other value is returned as it is.
fn name_tuple_parts(schema: &Value, value: Value) -> Value {
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

fn system_message(instructions: &str, schema: &Value) -> String {
    let mut out = String::new();
    out.push_str(instructions.trim());
    out.push_str("\n\nAnswer with one JSON value of this shape:\n");
    out.push_str(&describe_schema(schema));
    out
}

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
    let defs = schema
        .get("$defs")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut out = String::new();
    Describer { defs: &defs }.write(schema, 0, &mut out);
    out
}

struct Describer<'a> {
    defs: &'a Map<String, Value>,
}

/// Deeper than this, a `$ref` is written by name: recursive types would never end.
const MAX_DEPTH: usize = 6;

impl Describer<'_> {
    fn write(&self, schema: &Value, depth: usize, out: &mut String) {
        let Some(obj) = schema.as_object() else {
            // `true` / `false` schemas.
            out.push_str(if schema == &Value::Bool(false) {
                "never"
            } else {
                "any"
            });
            return;
        };
        if let Some(name) = crate::schema::ref_name(schema) {
            match self.defs.get(name) {
                Some(def) if depth < MAX_DEPTH => self.write(def, depth, out),
                _ => out.push_str(name),
            }
            return;
        }
        if let Some(c) = obj.get("const") {
            out.push_str(&c.to_string());
            return;
        }
        if let Some(Value::Array(options)) = obj.get("enum") {
            let parts: Vec<String> = options.iter().map(Value::to_string).collect();
            out.push_str(&parts.join(" | "));
            return;
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(Value::Array(options)) = obj.get(key) {
                for (i, option) in options.iter().enumerate() {
                    if i > 0 {
                        out.push_str(" | ");
                    }
                    self.write(option, depth + 1, out);
                }
                return;
            }
        }
        match obj.get("type") {
            Some(Value::Array(types)) => {
                for (i, t) in types.iter().enumerate() {
                    if i > 0 {
                        out.push_str(" | ");
                    }
                    let mut single = obj.clone();
                    single.insert("type".into(), t.clone());
                    self.write(&Value::Object(single), depth, out);
                }
            }
            Some(Value::String(t)) => match t.as_str() {
                "object" => self.write_object(obj, depth, out),
                "array" => self.write_array(obj, depth, out),
                "integer" | "number" => {
                    out.push_str(t);
                    out.push_str(&numeric_bounds(obj, t == "integer"));
                }
                "string" => {
                    out.push_str(t);
                    out.push_str(&count_bounds(obj, "minLength", "maxLength", "char"));
                }
                other => out.push_str(other),
            },
            _ => out.push_str("any"),
        }
    }

    /// `item[]`, or `[a, b]` for a tuple, followed by the bounds on the
    /// number of items.
    fn write_array(&self, obj: &Map<String, Value>, depth: usize, out: &mut String) {
        let mut counted = true;
        if let Some(Value::Array(parts)) = obj.get("prefixItems") {
            out.push('[');
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                self.write(part, depth + 1, out);
            }
            out.push(']');
            // A tuple's length is in its picture already.
            counted = obj.get("maxItems").and_then(Value::as_u64) != Some(parts.len() as u64);
        } else {
            let items = obj.get("items").cloned().unwrap_or(Value::Bool(true));
            let mut inner = String::new();
            self.write(&items, depth + 1, &mut inner);
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
            out.push_str(&count_bounds(obj, "minItems", "maxItems", "item"));
        }
    }

    fn write_object(&self, obj: &Map<String, Value>, depth: usize, out: &mut String) {
        let Some(Value::Object(props)) = obj.get("properties") else {
            out.push_str("object");
            return;
        };
        if props.is_empty() {
            out.push_str("{}");
            return;
        }
        let required: Vec<&str> = obj
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let pad = "  ".repeat(depth + 1);
        out.push_str("{\n");
        let last = props.len() - 1;
        for (i, (name, prop)) in props.iter().enumerate() {
            out.push_str(&pad);
            out.push_str(&Value::String(name.clone()).to_string());
            if !required.contains(&name.as_str()) {
                out.push('?');
            }
            out.push_str(": ");
            self.write(prop, depth + 1, out);
            if i != last {
                out.push(',');
            }
            let mut comment = match prop.get("description") {
                Some(Value::String(doc)) => doc.split_whitespace().collect::<Vec<_>>().join(" "),
                _ => String::new(),
            };
            // A set: the grammar lets the model repeat an item (the parsed
            // set drops the repeat), so the prompt is what asks it not to.
            if prop.get("uniqueItems") == Some(&Value::Bool(true)) {
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
fn numeric_bounds(obj: &Map<String, Value>, integer: bool) -> String {
    let wide = |v: &Value| {
        integer
            && [
                Value::from(i32::MIN),
                Value::from(i32::MAX),
                Value::from(u32::MAX),
                Value::from(i64::MIN),
                Value::from(i64::MAX),
                Value::from(u64::MAX),
            ]
            .contains(v)
    };
    let bound = |key: &str| obj.get(key).filter(|v| v.is_number() && !wide(v));
    let (min, max) = (bound("minimum"), bound("maximum"));
    let (above, below) = (bound("exclusiveMinimum"), bound("exclusiveMaximum"));
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
fn count_bounds(obj: &Map<String, Value>, min_key: &str, max_key: &str, unit: &str) -> String {
    let min = obj.get(min_key).and_then(Value::as_u64).filter(|&n| n > 0);
    let max = obj.get(max_key).and_then(Value::as_u64);
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

/// Writes an input value the way `format` says.
pub fn render_input(value: &Value, format: InputFormat) -> String {
    match format {
        InputFormat::Json => {
            serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
        }
        InputFormat::Labelled => {
            let mut out = String::new();
            labelled(value, 0, &mut out);
            out.trim_end().to_string()
        }
    }
}

fn label_of(key: &str) -> String {
    let words = key.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => words,
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "(none)".into(),
        other => other.to_string(),
    }
}

fn labelled(value: &Value, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match v {
                    Value::Object(_) => {
                        out.push_str(&format!("{pad}{}:\n", label_of(k)));
                        labelled(v, depth + 1, out);
                    }
                    Value::Array(items) if items.is_empty() => {
                        out.push_str(&format!("{pad}{}: (none)\n", label_of(k)));
                    }
                    Value::Array(_) => {
                        out.push_str(&format!("{pad}{}:\n", label_of(k)));
                        labelled(v, depth + 1, out);
                    }
                    _ => out.push_str(&format!("{pad}{}: {}\n", label_of(k), scalar(v))),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Object(_) | Value::Array(_) => {
                        out.push_str(&format!("{pad}-\n"));
                        labelled(item, depth + 1, out);
                    }
                    _ => out.push_str(&format!("{pad}- {}\n", scalar(item))),
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
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
