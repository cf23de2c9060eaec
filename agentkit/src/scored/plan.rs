//! The fields a scored agent decides, read from its output schema.

use crate::schema::model::{Schema, SchemaModel, Type, MAX_REF_DEPTH};
use crate::Error;

/// A field to decide: its JSON path, name (for the lead), and allowed answers.
pub(super) struct Field {
    pub(super) path: String,
    pub(super) name: Option<String>,
    pub(super) options: Vec<String>,
}

/// The answers `schema` allows, as JSON texts, when it is a choice: a bool,
/// a string constant, an enum of strings, or alternatives of those. `refs`
/// counts the levels of alternatives walked to get here, each of which may
/// follow a `$ref` (bounded by [`MAX_REF_DEPTH`]).
fn options_of(schema: &Schema, model: &SchemaModel, refs: usize) -> Option<Vec<String>> {
    if refs >= MAX_REF_DEPTH {
        return None;
    }
    let node = model.deref(schema).node()?;
    if node.types == [Type::Boolean] {
        return Some(vec!["true".into(), "false".into()]);
    }
    if let Some(c) = &node.constant {
        return c.is_string().then(|| vec![c.to_string()]);
    }
    if let Some(variants) = &node.choices {
        return variants
            .iter()
            .map(|v| v.is_string().then(|| v.to_string()))
            .collect();
    }
    // Enums whose variants carry doc comments become `oneOf` of `const`s.
    let alternatives = node.alternatives()?;
    let mut options = Vec::new();
    for alternative in alternatives {
        options.extend(options_of(alternative, model, refs + 1)?);
    }
    (!options.is_empty()).then_some(options)
}

pub(super) fn plan(agent: &str, model: &SchemaModel) -> Result<Vec<Field>, Error> {
    let root = model.root();
    if let Some(options) = options_of(root, model, 0) {
        return Ok(vec![Field {
            path: String::new(),
            name: None,
            options,
        }]);
    }
    let unsupported = |location: String| Error::UnsupportedSchema {
        agent: agent.to_string(),
        location,
        reason: "scored choices need a bool, a fieldless enum, or a struct of those".into(),
    };
    let props = root
        .node()
        .and_then(|n| n.properties.as_ref())
        .ok_or_else(|| unsupported("the schema root".into()))?;
    props
        .iter()
        .map(|(name, prop)| {
            let options = options_of(prop, model, 0)
                .ok_or_else(|| unsupported(format!("`/properties/{name}`")))?;
            Ok(Field {
                path: name.clone(),
                name: Some(name.clone()),
                options,
            })
        })
        .collect()
}
