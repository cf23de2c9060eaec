//! The table form of an entry: a served alias and its endpoints.

use serde::Deserialize;

use crate::{Endpoint, SERVED};

/// The table form of an entry as serde sees it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServedEntry {
    endpoints: Vec<Endpoint>,
}

/// The endpoints of the table form of `alias`, checked: at least one, each
/// with an `http(s)://` URL, a served model name and a positive timeout.
pub(crate) fn served(alias: &str, table: &toml::Table) -> Result<Vec<Endpoint>, String> {
    let entry: ServedEntry =
        toml::Value::Table(table.clone())
            .try_into()
            .map_err(|e: toml::de::Error| {
                format!(
                "alias `{alias}`: {}; a served alias is {SERVED}, each endpoint with `url` and \
                 `model`, optionally `api_key_env` and `timeout_s`",
                e.message().trim_end()
            )
            })?;
    if entry.endpoints.is_empty() {
        return Err(format!(
            "alias `{alias}` has no endpoints: give at least one, e.g. {SERVED}"
        ));
    }
    for e in &entry.endpoints {
        if !(e.url.starts_with("http://") || e.url.starts_with("https://")) {
            return Err(format!(
                "alias `{alias}`: endpoint url `{}` must start with `http://` or `https://`",
                e.url
            ));
        }
        if e.model.trim().is_empty() {
            return Err(format!(
                "alias `{alias}`: endpoint `{}` has an empty `model`; give the name the server \
                 serves the model under",
                e.url
            ));
        }
        if let Some(t) = e.timeout_s.filter(|t| !(t.is_finite() && *t > 0.0)) {
            return Err(format!(
                "alias `{alias}`: endpoint `{}` has timeout_s = {t}; give a positive number of seconds",
                e.url
            ));
        }
        if e.api_key_env
            .as_deref()
            .is_some_and(|v| v.trim().is_empty())
        {
            return Err(format!(
                "alias `{alias}`: endpoint `{}` has an empty `api_key_env`; name the environment \
                 variable that holds the key, or leave it out",
                e.url
            ));
        }
    }
    Ok(entry.endpoints)
}
