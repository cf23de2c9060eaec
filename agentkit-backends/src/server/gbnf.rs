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

use serde_json::Value;

/// Why a schema has no grammar: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unsupported {
    /// A JSON pointer into the schema.
    pub location: String,
    /// What is not supported.
    pub reason: String,
}

/// The grammar of `schema` (as [`agentkit::grammar_schema`] gives it), its
/// start rule `root`.
pub(crate) fn grammar(schema: &Value) -> Result<String, Unsupported> {
    let mut g = Grammar {
        root: schema,
        rules: BTreeMap::new(),
    };
    let root = g.rule(schema, "#")?;
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
    root: &'a Value,
    rules: BTreeMap<String, String>,
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
    fn rule(&mut self, schema: &Value, at: &str) -> Result<String, Unsupported> {
        let unsupported = |reason: String| Unsupported {
            location: at.to_string(),
            reason,
        };
        let map = match schema {
            Value::Bool(true) => return Ok(self.any_value()),
            Value::Object(map) => map,
            other => return Err(unsupported(format!("`{other}` is not a schema"))),
        };
        if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
            let name = reference.rsplit('/').next().unwrap_or(reference);
            let rule = format!("def-{}", rule_name(name));
            if !self.rules.contains_key(&rule) {
                let def = self
                    .root
                    .get("$defs")
                    .and_then(|d| d.get(name))
                    .ok_or_else(|| {
                        unsupported(format!("`$ref` to `{reference}`, which is not in `$defs`"))
                    })?;
                // Reserve the name first: a recursive type refers to itself.
                self.rules.insert(rule.clone(), String::new());
                let body = self.rule(def, &format!("#/$defs/{name}"))?;
                self.rules.insert(rule.clone(), body);
            }
            return Ok(rule);
        }
        if let Some(value) = map.get("const") {
            return Ok(literal(&value.to_string()));
        }
        if let Some(values) = map.get("enum").and_then(Value::as_array) {
            if values.is_empty() {
                return Err(unsupported("an empty `enum` admits no value".into()));
            }
            return Ok(alternatives(
                values.iter().map(|v| literal(&v.to_string())).collect(),
            ));
        }
        for keyword in ["anyOf", "oneOf"] {
            if let Some(list) = map.get(keyword).and_then(Value::as_array) {
                let mut options = Vec::with_capacity(list.len());
                for (i, s) in list.iter().enumerate() {
                    options.push(self.rule(s, &format!("{at}/{keyword}/{i}"))?);
                }
                return Ok(alternatives(options));
            }
        }
        if let Some(list) = map.get("allOf").and_then(Value::as_array) {
            return match list.as_slice() {
                [only] => self.rule(only, &format!("{at}/allOf/0")),
                _ => Err(unsupported("`allOf` with more than one schema".into())),
            };
        }
        match map.get("type") {
            None => Ok(self.any_value()),
            Some(Value::String(t)) => self.typed(t, map, at),
            Some(Value::Array(types)) => {
                let mut options = Vec::with_capacity(types.len());
                for t in types {
                    let t = t
                        .as_str()
                        .ok_or_else(|| unsupported(format!("type `{t}` is not a name")))?;
                    options.push(self.typed(t, map, at)?);
                }
                Ok(alternatives(options))
            }
            Some(other) => Err(unsupported(format!("type `{other}` is not a name"))),
        }
    }

    /// The expression for one `type` of the schema `map`.
    fn typed(
        &mut self,
        t: &str,
        map: &serde_json::Map<String, Value>,
        at: &str,
    ) -> Result<String, Unsupported> {
        let count = |key: &str| map.get(key).and_then(Value::as_u64);
        Ok(match t {
            "null" => literal("null"),
            "boolean" => r#"("true" | "false")"#.to_string(),
            "integer" => {
                let natural = map
                    .get("minimum")
                    .and_then(Value::as_f64)
                    .is_some_and(|m| m >= 0.0);
                let max = map.get("maximum").and_then(Value::as_u64);
                match (natural, max) {
                    (true, Some(max)) => format!("(\"0\" | {})", up_to(max)),
                    (true, None) => self.helper("natural", NATURAL),
                    _ => self.integer(),
                }
            }
            "number" => self.number(),
            "string" => match (count("minLength"), count("maxLength")) {
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
            "array" => {
                let item = match map.get("items") {
                    Some(items) => self.rule(items, &format!("{at}/items"))?,
                    None => self.any_value(),
                };
                let min = count("minItems").unwrap_or(0);
                let max = count("maxItems");
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
            "object" => self.object(map, at)?,
            other => {
                return Err(Unsupported {
                    location: at.to_string(),
                    reason: format!("unknown type `{other}`"),
                })
            }
        })
    }

    /// An object: every listed property in order (an optional one may be
    /// `null` where its schema allows), or a map when only
    /// `additionalProperties` gives a schema.
    fn object(
        &mut self,
        map: &serde_json::Map<String, Value>,
        at: &str,
    ) -> Result<String, Unsupported> {
        let properties = map.get("properties").and_then(Value::as_object);
        match properties {
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
                let value = match map.get("additionalProperties") {
                    Some(Value::Bool(false)) => return Ok(literal("{}")),
                    Some(schema @ Value::Object(_)) => {
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
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_are_compact_and_in_order() {
        let s = json!({
            "type": "object",
            "properties": {
                "subject": { "$ref": "#/$defs/Subject" },
                "ok": { "type": "boolean" },
                "n": { "type": "integer", "minimum": 0 },
                "note": { "type": ["string", "null"], "maxLength": 20 },
                "tags": { "type": "array", "items": { "type": "string" }, "maxItems": 3 }
            },
            "required": ["subject", "ok", "n", "tags"],
            "$defs": { "Subject": { "type": "string", "enum": ["a_b", "c\"d"] } }
        });
        let g = grammar(&s).unwrap();
        assert!(g.starts_with(
            r#"root ::= ("{\"subject\":" def-Subject ",\"ok\":" ("true" | "false") ",\"n\":" natural ",\"note\":" (("\"" char{0,20} "\"") | "null") ",\"tags\":" ("[" (string ("," string){0,2})? "]") "}")"#
        ), "{g}");
        assert!(
            g.contains(r#"def-Subject ::= ("\"a_b\"" | "\"c\\\"d\"")"#),
            "{g}"
        );
        assert!(!g.contains(" ws"), "no whitespace rule: {g}");
    }

    #[test]
    fn agentkit_output_schemas_compile() {
        #[derive(schemars::JsonSchema)]
        #[allow(dead_code)]
        struct Inner {
            x: f64,
        }
        #[derive(schemars::JsonSchema)]
        #[allow(dead_code)]
        enum Kind {
            A,
            B(u8),
        }
        #[derive(schemars::JsonSchema)]
        #[allow(dead_code)]
        struct Out {
            #[schemars(length(max = 5))]
            list: Vec<Inner>,
            maybe: Option<Inner>,
            kind: Kind,
            map: std::collections::BTreeMap<String, i32>,
            set: std::collections::BTreeSet<String>,
        }
        let full = agentkit::output_schema::<Out>();
        let g = grammar(&agentkit::grammar_schema(&full)).unwrap();
        assert!(g.contains("def-Inner ::= "), "{g}");
        assert!(g.contains("def-Kind ::= "), "{g}");
    }

    #[test]
    fn bounded_naturals_are_exact() {
        assert_eq!(up_to(5), "(([1-4] | \"5\"))");
        assert_eq!(
            up_to(255),
            "([1-9] | [1-9] [0-9]{1} | ([1-1] [0-9]{2} | \"2\" ([0-4] [0-9]{1} | \"5\" ([0-4] | \"5\"))))"
        );
        let g = grammar(&json!({ "type": "integer", "minimum": 0, "maximum": 65535 })).unwrap();
        assert!(g.starts_with("root ::= (\"0\" | ([1-9] | "), "{g}");
    }

    #[test]
    fn literals_escape_what_gbnf_needs() {
        assert_eq!(
            literal_grammar("{\"a\":\"x\\y\n\"}"),
            "root ::= \"{\\\"a\\\":\\\"x\\\\y\\n\\\"}\"\n"
        );
    }

    #[test]
    fn unsupported_schemas_name_the_place() {
        let e = grammar(&json!({ "type": "object", "properties": { "a": { "type": "date" } } }))
            .unwrap_err();
        assert_eq!(e.location, "#/properties/a");
        assert!(e.reason.contains("date"), "{e:?}");
        let e = grammar(&json!({ "$ref": "#/$defs/Missing" })).unwrap_err();
        assert!(e.reason.contains("not in `$defs`"), "{e:?}");
    }
}
