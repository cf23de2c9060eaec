//! A compact GBNF grammar from an output schema, for servers that take one
//! (llama-server's `grammar` field).
//!
//! Compact means no whitespace anywhere and object properties in schema
//! order: the same short JSON agentkit writes in-process. A server's own
//! `json_schema` grammar lets the model pretty-print, which costs tokens and,
//! under `max_tokens`, complete answers.
//!
//! Covers what output types produce: objects (every property, in order),
//! strings (with `minLength`/`maxLength`), integers and numbers, booleans,
//! `null`, `enum` and `const`, arrays (with `minItems`/`maxItems`), `$ref`
//! into `$defs`, `anyOf`/`oneOf`, type lists such as `["string", "null"]`,
//! maps (`additionalProperties` with a schema) and the empty schema.

use std::collections::BTreeMap;

use agentkit::backend::{Node, Schema, SchemaModel, Type};
use serde_json::Value;

/// Why a schema has no grammar: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unsupported {
    /// A JSON pointer into the schema.
    pub location: String,
    /// What is not supported.
    pub reason: String,
}

/// The grammar of the output schema `model` (a request's
/// [`OutputSchema::model`](agentkit::backend::OutputSchema::model)), its
/// start rule `root`. It enforces what the grammar form enforces: the model
/// keeps `uniqueItems`, which this writer passes over.
pub(crate) fn grammar(model: &SchemaModel) -> Result<String, Unsupported> {
    let mut g = Grammar {
        model,
        rules: BTreeMap::new(),
    };
    let root = g.rule(model.root(), "#")?;
    let mut out = format!("root ::= {root}\n");
    for (name, body) in &g.rules {
        out.push_str(&format!("{name} ::= {body}\n"));
    }
    Ok(out)
}

/// A grammar that admits exactly `text`: scored choices force each option.
pub(crate) fn literal_grammar(text: &str) -> String {
    format!("root ::= {}\n", literal(text))
}

/// Rules shared by every grammar that needs them.
const CHAR: &str = r#"[^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})"#;
const INTEGER: &str = r#""-"? ("0" | [1-9] [0-9]{0,17})"#;
const NATURAL: &str = r#""0" | [1-9] [0-9]{0,17}"#;
const NUMBER: &str = r#"integer ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,3})?"#;
const STRING: &str = r#""\"" char* "\"""#;
const VALUE: &str = r#"object-any | array-any | string | number | "true" | "false" | "null""#;
const OBJECT_ANY: &str = r#""{" (string ":" value ("," string ":" value)*)? "}""#;
const ARRAY_ANY: &str = r#""[" (value ("," value)*)? "]""#;

struct Grammar<'a> {
    model: &'a SchemaModel,
    rules: BTreeMap<String, String>,
}

/// An [`Unsupported`] at `at`.
fn unsupported(at: &str, reason: String) -> Unsupported {
    Unsupported {
        location: at.to_string(),
        reason,
    }
}

impl Grammar<'_> {
    /// Adds a named helper rule once.
    fn helper(&mut self, name: &str, body: &str) -> String {
        self.rules
            .entry(name.to_string())
            .or_insert_with(|| body.to_string());
        name.to_string()
    }

    fn char(&mut self) -> String {
        self.helper("char", CHAR)
    }

    fn string(&mut self) -> String {
        self.char();
        self.helper("string", STRING)
    }

    fn integer(&mut self) -> String {
        self.helper("integer", INTEGER)
    }

    fn number(&mut self) -> String {
        self.integer();
        self.helper("number", NUMBER)
    }

    fn any_value(&mut self) -> String {
        self.string();
        self.number();
        self.helper("object-any", OBJECT_ANY);
        self.helper("array-any", ARRAY_ANY);
        self.helper("value", VALUE)
    }

    /// The grammar expression for `schema`, found at `at` (a JSON pointer).
    fn rule(&mut self, schema: &Schema, at: &str) -> Result<String, Unsupported> {
        let node = match schema {
            Schema::Bool(true) => return Ok(self.any_value()),
            Schema::Bool(false) => {
                return Err(unsupported(at, "`false` is not a schema".into()));
            }
            Schema::Node(node) => node,
        };
        if let Some(other) = &node.not_a_schema {
            return Err(unsupported(at, format!("`{other}` is not a schema")));
        }
        if let Some(reference) = node.reference.as_deref() {
            return self.reference(reference, at);
        }
        if let Some(value) = &node.constant {
            return Ok(literal(&value.to_string()));
        }
        if let Some(values) = &node.choices {
            if values.is_empty() {
                return Err(unsupported(at, "an empty `enum` admits no value".into()));
            }
            return Ok(alternatives(
                values.iter().map(|v| literal(&v.to_string())).collect(),
            ));
        }
        for (keyword, list) in [("anyOf", &node.any_of), ("oneOf", &node.one_of)] {
            if let Some(list) = list {
                let mut options = Vec::with_capacity(list.len());
                for (i, s) in list.iter().enumerate() {
                    options.push(self.rule(s, &format!("{at}/{keyword}/{i}"))?);
                }
                return Ok(alternatives(options));
            }
        }
        if let Some(list) = &node.all_of {
            return match list.as_slice() {
                [only] => self.rule(only, &format!("{at}/allOf/0")),
                _ => Err(unsupported(at, "`allOf` with more than one schema".into())),
            };
        }
        self.types(node, at)
    }

    /// The rule `def-Name` for the definition a `$ref` names, written once.
    /// The root has no rule of its own, so `#` (a recursive root type) is
    /// not supported.
    fn reference(&mut self, reference: &str, at: &str) -> Result<String, Unsupported> {
        let missing = || {
            unsupported(
                at,
                format!("`$ref` to `{reference}`, which is not in `$defs`"),
            )
        };
        if reference == "#" {
            return Err(missing());
        }
        let name = self.model.name_of(reference);
        let rule = format!("def-{}", rule_name(name));
        if !self.rules.contains_key(&rule) {
            let def = self.model.resolve(reference).ok_or_else(missing)?;
            // Reserve the name first: a recursive type refers to itself.
            self.rules.insert(rule.clone(), String::new());
            let body = self.rule(def, &format!("#/$defs/{name}"))?;
            self.rules.insert(rule.clone(), body);
        }
        Ok(rule)
    }

    /// The expression for `type`: any value when absent, one type's
    /// expression for a name, the alternatives for a list.
    fn types(&mut self, node: &Node, at: &str) -> Result<String, Unsupported> {
        let not_a_name = |t: &Value| unsupported(at, format!("type `{t}` is not a name"));
        if !node.types_listed {
            if let Some((_, t)) = &node.type_not_a_name {
                return Err(not_a_name(t));
            }
            return match node.types.first() {
                None => Ok(self.any_value()),
                Some(t) => self.typed(t, node, at),
            };
        }
        let mut options = Vec::with_capacity(node.types.len());
        for i in 0..=node.types.len() {
            if let Some((_, t)) = node.type_not_a_name.as_ref().filter(|(n, _)| *n == i) {
                return Err(not_a_name(t));
            }
            if let Some(t) = node.types.get(i) {
                options.push(self.typed(t, node, at)?);
            }
        }
        Ok(alternatives(options))
    }

    /// The expression for one `type` of the schema `node`.
    fn typed(&mut self, t: &Type, node: &Node, at: &str) -> Result<String, Unsupported> {
        Ok(match t {
            Type::Null => literal("null"),
            Type::Boolean => r#"("true" | "false")"#.to_string(),
            Type::Integer => {
                let natural = node
                    .minimum
                    .as_ref()
                    .and_then(|m| m.as_f64())
                    .is_some_and(|m| m >= 0.0);
                let max = node.maximum.as_ref().and_then(|m| m.as_u64());
                match (natural, max) {
                    (true, Some(max)) => format!("(\"0\" | {})", up_to(max)),
                    (true, None) => self.helper("natural", NATURAL),
                    _ => self.integer(),
                }
            }
            Type::Number => self.number(),
            Type::String => match (node.min_length, node.max_length) {
                (None, None) => self.string(),
                (min, max) => {
                    let c = self.char();
                    format!(
                        r#"("\"" {c}{{{},{}}} "\"")"#,
                        min.unwrap_or(0),
                        max.map(|m| m.to_string()).unwrap_or_default()
                    )
                }
            },
            Type::Array => {
                let item = match &node.items {
                    Some(items) => self.rule(items, &format!("{at}/items"))?,
                    None => self.any_value(),
                };
                let min = node.min_items.unwrap_or(0);
                let max = node.max_items;
                let more = |n: u64| match max {
                    Some(m) => format!("{{{},{}}}", n, m.saturating_sub(1)),
                    None => format!("{{{n},}}"),
                };
                match (min, max) {
                    (_, Some(0)) => literal("[]"),
                    (0, _) => format!(r#"("[" ({item} ("," {item}){})? "]")"#, more(0)),
                    (min, _) => format!(r#"("[" {item} ("," {item}){} "]")"#, more(min - 1)),
                }
            }
            Type::Object => self.object(node, at)?,
            Type::Other(other) => {
                return Err(unsupported(at, format!("unknown type `{other}`")));
            }
        })
    }

    /// An object: every listed property in order (an optional one may be
    /// `null` where its schema allows), or a map when only
    /// `additionalProperties` gives a schema.
    fn object(&mut self, node: &Node, at: &str) -> Result<String, Unsupported> {
        match &node.properties {
            Some(props) if !props.is_empty() => {
                let mut parts = Vec::with_capacity(props.len());
                for (i, (name, schema)) in props.iter().enumerate() {
                    let value = self.rule(schema, &format!("{at}/properties/{name}"))?;
                    let key = format!(
                        "{}{}:",
                        if i == 0 { "{" } else { "," },
                        Value::from(name.as_str())
                    );
                    parts.push(format!("{} {value}", literal(&key)));
                }
                Ok(format!("({} \"}}\")", parts.join(" ")))
            }
            _ => {
                let value = match &node.additional_properties {
                    Some(Schema::Bool(false)) => return Ok(literal("{}")),
                    // A schema object; anything else written there allows
                    // any value.
                    Some(schema @ Schema::Node(n)) if n.not_a_schema.is_none() => {
                        self.rule(schema, &format!("{at}/additionalProperties"))?
                    }
                    _ => self.any_value(),
                };
                let key = self.string();
                Ok(format!(
                    r#"("{{" ({key} ":" {value} ("," {key} ":" {value})*)? "}}")"#
                ))
            }
        }
    }
}

/// The positive integers up to `max` (no leading zeros), exactly: every
/// shorter length freely, then the length of `max` digit by digit.
fn up_to(max: u64) -> String {
    let digits: Vec<u8> = max.to_string().bytes().map(|b| b - b'0').collect();
    let mut options: Vec<String> = (1..digits.len())
        .map(|len| match len {
            1 => "[1-9]".to_string(),
            n => format!("[1-9] [0-9]{{{}}}", n - 1),
        })
        .collect();
    if max > 0 {
        options.push(at_most(&digits, 1));
    }
    alternatives(options)
}

/// Numbers of exactly `digits.len()` digits, at most `digits`, the first
/// digit at least `low`.
fn at_most(digits: &[u8], low: u8) -> String {
    let Some((&first, rest)) = digits.split_first() else {
        return String::new();
    };
    let mut options = Vec::new();
    if first > low {
        let range = format!("[{low}-{}]", first - 1);
        options.push(match rest.len() {
            0 => range,
            n => format!("{range} [0-9]{{{n}}}"),
        });
    }
    if first >= low {
        options.push(match rest.len() {
            0 => format!("\"{first}\""),
            _ => format!("\"{first}\" {}", at_most(rest, 0)),
        });
    }
    alternatives(options)
}

/// `(a | b | c)`.
fn alternatives(options: Vec<String>) -> String {
    format!("({})", options.join(" | "))
}

/// A GBNF string literal that matches exactly `text`.
fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\x{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A rule name from a definition name: GBNF names are letters, digits and `-`.
fn rule_name(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

#[cfg(test)]
mod tests;
