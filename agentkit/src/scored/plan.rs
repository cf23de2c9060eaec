//! The fields a scored agent decides, read from its output schema.

use crate::schema::model::{Node, Schema, SchemaModel, Type, MAX_REF_DEPTH};
use crate::Error;

/// The most values an integer field may allow to be scored as a choice:
/// each value is one more continuation to score.
pub(crate) const MAX_INTEGER_OPTIONS: u64 = 64;

/// Why a field cannot be scored.
enum NotAChoice {
    /// Not a bool, an enum of strings, nor a bounded integer.
    Shape,
    /// An integer with too many values: what it allows.
    Range(String),
}

/// A field to decide: its JSON path, name (for the lead), and allowed answers.
pub(super) struct Field {
    pub(super) path: String,
    pub(super) name: Option<String>,
    pub(super) options: Vec<String>,
}

/// The answers `schema` allows, as JSON texts, when it is a choice: a bool,
/// a string constant, an enum of strings, an integer with at most
/// [`MAX_INTEGER_OPTIONS`] values, or alternatives of those. `refs` counts
/// the levels of alternatives walked to get here, each of which may follow a
/// `$ref` (bounded by [`MAX_REF_DEPTH`]).
fn options_of(
    schema: &Schema,
    model: &SchemaModel,
    refs: usize,
) -> Result<Vec<String>, NotAChoice> {
    if refs >= MAX_REF_DEPTH {
        return Err(NotAChoice::Shape);
    }
    let node = model.deref(schema).node().ok_or(NotAChoice::Shape)?;
    if node.types == [Type::Boolean] {
        return Ok(vec!["true".into(), "false".into()]);
    }
    if node.types == [Type::Integer] && node.choices.is_none() && node.constant.is_none() {
        return integer_options(node);
    }
    let text = |v: &serde_json::Value| {
        let scorable = v.is_string() || v.is_i64() || v.is_u64();
        scorable.then(|| v.to_string()).ok_or(NotAChoice::Shape)
    };
    if let Some(c) = &node.constant {
        return Ok(vec![text(c)?]);
    }
    if let Some(variants) = &node.choices {
        return variants.iter().map(text).collect();
    }
    // Enums whose variants carry doc comments become `oneOf` of `const`s.
    let alternatives = node.alternatives().ok_or(NotAChoice::Shape)?;
    let mut options = Vec::new();
    for alternative in alternatives {
        options.extend(options_of(alternative, model, refs + 1)?);
    }
    if options.is_empty() {
        return Err(NotAChoice::Shape);
    }
    Ok(options)
}

/// Every value of a bounded integer, least first, when there are at most
/// [`MAX_INTEGER_OPTIONS`] of them.
fn integer_options(node: &Node) -> Result<Vec<String>, NotAChoice> {
    // An integer bound as an integer; a fractional one rounded inward.
    let bound = |n: &Option<serde_json::Number>, up: bool| {
        let n = n.as_ref()?;
        let exact = n.as_i64().map(i128::from).or(n.as_u64().map(i128::from));
        exact.or_else(|| {
            let f = n.as_f64()?;
            Some((if up { f.ceil() } else { f.floor() }) as i128)
        })
    };
    let low = [
        bound(&node.minimum, true),
        bound(&node.exclusive_minimum, false).map(|b| b + 1),
    ]
    .into_iter()
    .flatten()
    .max();
    let high = [
        bound(&node.maximum, false),
        bound(&node.exclusive_maximum, true).map(|b| b - 1),
    ]
    .into_iter()
    .flatten()
    .min();
    let (Some(low), Some(high)) = (low, high) else {
        return Err(NotAChoice::Range(
            "any integer (it has no `minimum` or no `maximum`)".into(),
        ));
    };
    let count = high - low + 1;
    if !(1..=i128::from(MAX_INTEGER_OPTIONS)).contains(&count) {
        return Err(NotAChoice::Range(format!(
            "{count} values ({low} to {high})"
        )));
    }
    Ok((low..=high).map(|v| v.to_string()).collect())
}

pub(super) fn plan(agent: &str, model: &SchemaModel) -> Result<Vec<Field>, Error> {
    let fail = |location: String, field: String, why: NotAChoice| {
        match why {
        NotAChoice::Shape => Error::UnsupportedSchema {
            agent: agent.to_string(),
            location,
            reason: "scored choices need a bool, a fieldless enum, an integer with a small range, or a struct of those".into(),
        },
        NotAChoice::Range(allowed) => Error::ScoredRange {
            agent: agent.to_string(),
            field,
            allowed,
            max: MAX_INTEGER_OPTIONS,
        },
    }
    };
    let root = model.root();
    match options_of(root, model, 0) {
        Ok(options) => {
            return Ok(vec![Field {
                path: String::new(),
                name: None,
                options,
            }])
        }
        Err(why @ NotAChoice::Range(_)) => {
            return Err(fail("the schema root".into(), "its output".into(), why))
        }
        Err(NotAChoice::Shape) => {}
    }
    let props = root
        .node()
        .and_then(|n| n.properties.as_ref())
        .ok_or_else(|| fail("the schema root".into(), String::new(), NotAChoice::Shape))?;
    props
        .iter()
        .map(|(name, prop)| {
            let options = options_of(prop, model, 0).map_err(|why| {
                fail(
                    format!("`/properties/{name}`"),
                    format!("field `{name}`"),
                    why,
                )
            })?;
            Ok(Field {
                path: name.clone(),
                name: Some(name.clone()),
                options,
            })
        })
        .collect()
}
