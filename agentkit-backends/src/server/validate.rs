//! Answers checked against the output schema, because servers do not
//! always enforce it: each schema compiled once, its validator kept.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use agentkit::Error;
use serde_json::Value;

/// The compiled validator of each schema seen, by its JSON text.
#[derive(Default)]
pub(super) struct Validators {
    compiled: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

impl Validators {
    /// The compiled validator of `schema`, kept per schema.
    pub fn validator(
        &self,
        agent: &str,
        schema: &Value,
    ) -> Result<Arc<jsonschema::Validator>, Error> {
        let key = schema.to_string();
        let mut map = self.compiled.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = map.get(&key) {
            return Ok(v.clone());
        }
        let validator =
            jsonschema::validator_for(schema).map_err(|e| Error::UnsupportedSchema {
                agent: agent.to_string(),
                location: e.instance_path().to_string(),
                reason: e.to_string(),
            })?;
        let validator = Arc::new(validator);
        map.insert(key, validator.clone());
        Ok(validator)
    }

    /// What is wrong with `text` under `schema`, if anything.
    pub fn violation(
        &self,
        agent: &str,
        schema: &Value,
        text: &str,
    ) -> Result<Option<String>, Error> {
        let value: Value = match serde_json::from_str(text.trim()) {
            Ok(v) => v,
            Err(e) => return Ok(Some(format!("not JSON ({e})"))),
        };
        let validator = self.validator(agent, schema)?;
        let problem = validator
            .iter_errors(&value)
            .next()
            .map(|e| format!("at `{}`: {e}", e.instance_path()));
        Ok(problem)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": { "relevant": { "type": "boolean" } },
            "required": ["relevant"]
        })
    }

    #[test]
    fn answers_are_checked_and_the_problem_named_where_it_is() {
        let validators = Validators::default();
        let schema = schema();
        let check = |text| validators.violation("Judge", &schema, text).unwrap();
        assert_eq!(check(" {\"relevant\":true}\n"), None);
        assert_eq!(
            check(r#"{"relevant":"yes"}"#).as_deref(),
            Some("at `/relevant`: \"yes\" is not of type \"boolean\"")
        );
        let not_json = check("relevant: yes").unwrap();
        assert!(not_json.starts_with("not JSON ("), "{not_json}");
    }

    #[test]
    fn a_schema_is_compiled_once_and_a_bad_one_is_an_unsupported_schema() {
        let validators = Validators::default();
        let first = validators.validator("Judge", &schema()).unwrap();
        let again = validators.validator("Judge", &schema()).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        let bad = json!({ "type": "no-such-type" });
        let e = validators.validator("Judge", &bad).unwrap_err();
        assert!(matches!(e, Error::UnsupportedSchema { .. }), "{e}");
    }
}
