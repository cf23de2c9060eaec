//! Fitting policies as the input type's JSON schema carries them: the
//! `x-agentkit-fit` keyword on a field, read from the schema's top-level
//! properties.

use serde_json::{Map, Value};

/// The JSON-schema keyword a fitting policy is declared with, on a field of
/// an agent's input type:
/// `#[schemars(extend("x-agentkit-fit" = "head"))]`.
pub const FIT_KEYWORD: &str = "x-agentkit-fit";

/// What to keep of a field that is shortened to make an input fit the
/// model's context. The same three words work on text (a `String`) and on
/// lists (a `Vec`): text loses characters, a list loses whole items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Keep {
    /// `"head"`: the start; the end is cut (text) or its last items dropped (list).
    Head,
    /// `"tail"`: the end; the start is cut or its first items dropped.
    Tail,
    /// `"ends"`: the start and the end; the middle is cut or its middle items dropped.
    Ends,
}

impl Keep {
    /// Every policy with the word that declares it.
    pub const ALL: [(Keep, &'static str); 3] = [
        (Keep::Head, "head"),
        (Keep::Tail, "tail"),
        (Keep::Ends, "ends"),
    ];

    /// The word that declares it (`"head"`, `"tail"`, `"ends"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Keep::Head => "head",
            Keep::Tail => "tail",
            Keep::Ends => "ends",
        }
    }

    fn parse(word: &str) -> Option<Keep> {
        Keep::ALL.iter().find(|(_, w)| *w == word).map(|(k, _)| *k)
    }
}

/// One field of the input with a fitting policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Policy {
    /// The field's name as the input serializes it.
    pub field: String,
    /// What to keep of it.
    pub keep: Keep,
}

/// A top-level field of an input schema: its name, its schema (`$ref`
/// resolved) and the schema node that carries keywords written on the field.
struct Property<'a> {
    name: &'a str,
    schema: &'a Map<String, Value>,
    declared: &'a Map<String, Value>,
}

/// The top-level properties of `schema` (an object, possibly behind a `$ref`).
fn properties(schema: &Value) -> Vec<Property<'_>> {
    let root = resolve(schema, schema);
    let Some(props) = root
        .and_then(|r| r.get("properties"))
        .and_then(Value::as_object)
    else {
        return Vec::new();
    };
    props
        .iter()
        .filter_map(|(name, declared)| {
            let declared = declared.as_object()?;
            let schema = resolve_map(schema, declared).unwrap_or(declared);
            Some(Property {
                name,
                schema,
                declared,
            })
        })
        .collect()
}

/// `node` with a `$ref` to the root's `$defs` followed (once).
fn resolve<'a>(root: &'a Value, node: &'a Value) -> Option<&'a Map<String, Value>> {
    resolve_map(root, node.as_object()?)
}

fn resolve_map<'a>(
    root: &'a Value,
    node: &'a Map<String, Value>,
) -> Option<&'a Map<String, Value>> {
    match node.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.strip_prefix("#/$defs/")?;
            root.get("$defs")?.get(name)?.as_object()
        }
        None => Some(node),
    }
}

/// Whether a field's schema is text or a list: the only shapes a policy can
/// shorten. `Option<String>` (`"type": ["string", "null"]`) counts as text.
fn shape(schema: &Map<String, Value>) -> Option<&'static str> {
    let has = |t: &str| match schema.get("type") {
        Some(Value::String(s)) => s == t,
        Some(Value::Array(ts)) => ts.iter().any(|v| v.as_str() == Some(t)),
        _ => false,
    };
    if has("string") {
        Some("text")
    } else if has("array") {
        Some("list")
    } else {
        None
    }
}

/// Whether `schema` has a top-level text field `field`.
pub(crate) fn is_text(schema: &Value, field: &str) -> bool {
    properties(schema)
        .iter()
        .any(|p| p.name == field && shape(p.schema) == Some("text"))
}

/// The fitting policies declared on `schema`'s fields, or what is wrong
/// with one: a word that is not a policy, or a policy on a field that is
/// neither text nor a list.
pub(crate) fn policies(schema: &Value) -> Result<Vec<Policy>, String> {
    let mut out = Vec::new();
    for p in properties(schema) {
        let Some(word) = p
            .declared
            .get(FIT_KEYWORD)
            .or_else(|| p.schema.get(FIT_KEYWORD))
        else {
            continue;
        };
        let keep = word.as_str().and_then(Keep::parse).ok_or_else(|| {
            let words: Vec<String> = Keep::ALL.iter().map(|(_, w)| format!("\"{w}\"")).collect();
            format!(
                "field `{}` declares `{FIT_KEYWORD}` = {word}, which is not a fitting policy; \
                 use one of {}",
                p.name,
                words.join(", ")
            )
        })?;
        if shape(p.schema).is_none() {
            return Err(format!(
                "field `{}` declares `{FIT_KEYWORD}` = \"{}\", but only text (`String`) and \
                 lists (`Vec`) can be shortened; move the policy to a text or list field",
                p.name,
                keep.as_str()
            ));
        }
        out.push(Policy {
            field: p.name.to_string(),
            keep,
        });
    }
    Ok(out)
}

/// The fields of `schema` that can grow without bound (text without
/// `maxLength`, lists without `maxItems`) and have no fitting policy: where
/// an input can overflow any context.
pub(crate) fn unbounded(schema: &Value) -> Vec<String> {
    properties(schema)
        .into_iter()
        .filter(|p| !p.declared.contains_key(FIT_KEYWORD) && !p.schema.contains_key(FIT_KEYWORD))
        .filter(|p| match shape(p.schema) {
            Some("text") => !p.schema.contains_key("maxLength"),
            Some(_) => !p.schema.contains_key("maxItems"),
            None => false,
        })
        .map(|p| p.name.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use schemars::JsonSchema;
    use serde::Serialize;

    use super::*;

    #[derive(Serialize, JsonSchema)]
    struct Thread {
        title: String,
        #[schemars(extend("x-agentkit-fit" = "head"))]
        body: String,
        #[schemars(extend("x-agentkit-fit" = "ends"))]
        replies: Vec<String>,
        #[schemars(length(max = 80))]
        tag: String,
        votes: u32,
    }

    #[derive(Serialize, JsonSchema)]
    struct Typo {
        #[schemars(extend("x-agentkit-fit" = "haed"))]
        body: String,
    }

    #[derive(Serialize, JsonSchema)]
    struct OnNumber {
        #[schemars(extend("x-agentkit-fit" = "tail"))]
        votes: u32,
    }

    #[test]
    fn policies_are_read_from_the_fields_of_the_input_schema() {
        let schema = crate::output_schema::<Thread>();
        let found = policies(&schema).unwrap();
        let found: Vec<(&str, Keep)> = found.iter().map(|p| (p.field.as_str(), p.keep)).collect();
        assert_eq!(found, [("body", Keep::Head), ("replies", Keep::Ends)]);
        // `title` can grow without bound; `tag` is bounded, `votes` is a number.
        assert_eq!(unbounded(&schema), ["title"]);
    }

    #[test]
    fn a_word_that_is_not_a_policy_or_a_policy_on_a_number_is_named() {
        let typo = policies(&crate::output_schema::<Typo>()).unwrap_err();
        assert!(typo.contains("field `body`"), "{typo}");
        assert!(typo.contains("\"haed\""), "{typo}");
        assert!(typo.contains("\"head\", \"tail\", \"ends\""), "{typo}");
        let number = policies(&crate::output_schema::<OnNumber>()).unwrap_err();
        assert!(number.contains("field `votes`"), "{number}");
        assert!(number.contains("only text"), "{number}");
    }
}
