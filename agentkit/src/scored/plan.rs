//! The fields a scored agent decides, read from its output schema.

use serde_json::Value;

use crate::Error;

/// A field to decide: its JSON path, name (for the lead), and allowed answers.
pub(super) struct Field {
    pub(super) path: String,
    pub(super) name: Option<String>,
    pub(super) options: Vec<String>,
}

fn options_of(schema: &Value, root: &Value) -> Option<Vec<String>> {
    let schema = crate::schema::deref(schema, root);
    if schema.get("type").and_then(Value::as_str) == Some("boolean") {
        return Some(vec!["true".into(), "false".into()]);
    }
    if let Some(c) = schema.get("const") {
        return c.is_string().then(|| vec![c.to_string()]);
    }
    if let Some(variants) = schema.get("enum").and_then(Value::as_array) {
        return variants
            .iter()
            .map(|v| v.is_string().then(|| v.to_string()))
            .collect();
    }
    // Enums whose variants carry doc comments become `oneOf` of `const`s.
    let alternatives = schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))
        .and_then(Value::as_array)?;
    let mut options = Vec::new();
    for alternative in alternatives {
        options.extend(options_of(alternative, root)?);
    }
    (!options.is_empty()).then_some(options)
}

pub(super) fn plan(agent: &str, schema: &Value) -> Result<Vec<Field>, Error> {
    if let Some(options) = options_of(schema, schema) {
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
    let props = schema
        .get("properties")
        .and_then(Value::as_object)
        .ok_or_else(|| unsupported("the schema root".into()))?;
    props
        .iter()
        .map(|(name, prop)| {
            let options = options_of(prop, schema)
                .ok_or_else(|| unsupported(format!("`/properties/{name}`")))?;
            Ok(Field {
                path: name.clone(),
                name: Some(name.clone()),
                options,
            })
        })
        .collect()
}
