//! Prompt rendering: instructions, a compact picture of the output schema, and the input.

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::{Agent, Error, InputFormat};

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
    /// the user message holds the input as JSON.
    pub fn render<A: Agent>(input: &A::Input) -> Result<Prompt, Error> {
        let value = serde_json::to_value(input).map_err(|source| Error::Input {
            agent: A::NAME.to_string(),
            source,
        })?;
        let mut prompt = Prompt::preamble::<A>()?;
        prompt.messages.push(Message {
            role: Role::User,
            content: render_input(&value, A::INPUT_FORMAT),
        });
        Ok(prompt)
    }

    /// Everything before the input: the system message and the few-shot
    /// examples as earlier turns. Pre-flight checks measure it against the
    /// context, and fail on examples that do not load.
    pub(crate) fn preamble<A: Agent>() -> Result<Prompt, Error> {
        let mut prompt = Prompt::system_only::<A>();
        for shot in A::examples()? {
            prompt.messages.push(Message {
                role: Role::User,
                content: render_input(&shot.input, A::INPUT_FORMAT),
            });
            prompt.messages.push(Message {
                role: Role::Assistant,
                content: shot.output.to_string(),
            });
        }
        Ok(prompt)
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

fn system_message(instructions: &str, schema: &Value) -> String {
    let mut out = String::new();
    out.push_str(instructions.trim());
    out.push_str("\n\nAnswer with one JSON value of this shape:\n");
    out.push_str(&describe_schema(schema));
    out
}

/// Describes a JSON schema in a compact, TypeScript-like notation that small
/// models read more easily than the schema itself. Field docs become `//` comments.
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
        if let Some(Value::String(r)) = obj.get("$ref") {
            let name = r.rsplit('/').next().unwrap_or(r);
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
                "array" => {
                    let items = obj.get("items").cloned().unwrap_or(Value::Bool(true));
                    let mut inner = String::new();
                    self.write(&items, depth + 1, &mut inner);
                    if inner.contains(" | ") {
                        out.push_str(&format!("({inner})[]"));
                    } else {
                        out.push_str(&inner);
                        out.push_str("[]");
                    }
                }
                other => out.push_str(other),
            },
            _ => out.push_str("any"),
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
