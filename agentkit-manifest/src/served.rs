//! The table forms of an entry: a served alias and its endpoints, or a local
//! model with its chat-template variables.

use serde::Deserialize;

use crate::{Endpoint, LOCAL, SERVED};

/// The served table form as serde sees it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServedEntry {
    endpoints: Vec<Endpoint>,
    #[serde(default)]
    chat_template_kwargs: toml::Table,
}

/// The local table form as serde sees it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LocalEntry {
    model: String,
    #[serde(default)]
    chat_template_kwargs: toml::Table,
}

/// The model (an alias declared before, or a GGUF path) and the template
/// variables of the local table form of `alias`.
pub(crate) fn local(alias: &str, table: &toml::Table) -> Result<(String, toml::Table), String> {
    let entry: LocalEntry =
        toml::Value::Table(table.clone())
            .try_into()
            .map_err(|e: toml::de::Error| {
                format!(
                    "alias `{alias}`: {}; a local model with template variables is {LOCAL}",
                    e.message().trim_end()
                )
            })?;
    Ok((entry.model, entry.chat_template_kwargs))
}

/// The endpoints and template variables of the served table form of
/// `alias`, checked: at least one endpoint, each with an `http(s)://` URL, a
/// served model name and a positive timeout.
pub(crate) fn served(
    alias: &str,
    table: &toml::Table,
) -> Result<(Vec<Endpoint>, toml::Table), String> {
    let entry: ServedEntry =
        toml::Value::Table(table.clone())
            .try_into()
            .map_err(|e: toml::de::Error| {
                format!(
                "alias `{alias}`: {}; a served alias is {SERVED}, each endpoint with `url` and \
                 `model`, optionally `api_key_env` and `timeout_s`; the alias may also have \
                 `chat_template_kwargs = {{ ... }}`",
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
    Ok((entry.endpoints, entry.chat_template_kwargs))
}
