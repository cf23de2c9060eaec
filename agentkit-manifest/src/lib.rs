#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod edit;
mod error;
mod messages;
mod served;
pub mod settings;
mod suggest;

pub use error::ManifestError;
pub use suggest::suggest;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use messages::{article, in_header, nested, shape, syntax, unknown_key};
use served::{local, served};

/// The tables a manifest may hold, for did-you-mean suggestions.
const TABLES: &[&str] = &["models"];

/// What an entry under `[models]` looks like, quoted in error messages.
const ENTRY: &str = "`alias = \"model or path\"`";

/// What the table form of an entry looks like, quoted in error messages.
const SERVED: &str =
    "`alias = { endpoints = [{ url = \"http://127.0.0.1:8080\", model = \"served-name\" }] }`";

/// What the local table form of an entry looks like, quoted in error messages.
const LOCAL: &str =
    "`alias = { model = \"model or path\", chat_template_kwargs = { enable_thinking = false } }`";

/// A model manifest: the aliases under `[models]`, in the order they are
/// declared.
///
/// Order matters because a value may name an alias declared before it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Manifest {
    models: Vec<(String, Model, toml::Table)>,
}

/// Where the model of one alias runs.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Model {
    /// `alias = "value"` (or `alias = { model = "value", ... }`): an alias
    /// declared before it, or a GGUF file relative to the manifest, run
    /// in-process.
    Local(String),
    /// `alias = { endpoints = [...] }`: served by one or more servers that
    /// speak the OpenAI-compatible chat completions API.
    Served(Vec<Endpoint>),
}

/// One server of a served alias: `{ url = "...", model = "...", api_key_env = "...", timeout_s = 30 }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Endpoint {
    /// The server's base URL, e.g. `http://127.0.0.1:8080` (`/v1/chat/completions` is appended).
    pub url: String,
    /// The model name the server serves it under.
    pub model: String,
    /// The environment variable that holds the API key, if the server needs one.
    /// The manifest names the variable, never the key.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Seconds to wait for one answer before trying another endpoint.
    #[serde(default)]
    pub timeout_s: Option<f64>,
}

/// The file as serde sees it. The keys keep their spans so that entries can
/// be put back in declaration order and errors can point at them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    #[serde(default)]
    models: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
}

impl Manifest {
    /// Parses the text of a manifest.
    ///
    /// The text is TOML: comments, single- or double-quoted strings and
    /// `[ models ]` all mean what TOML says. An error gives the line and
    /// column of the mistake; it has no path (use [`Manifest::load`] for one).
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
        // First every top-level key, so an unknown table is reported by name
        // (with a suggestion) rather than as serde's bare "unknown field".
        let top: BTreeMap<Spanned<String>, toml::Value> =
            toml::from_str(text).map_err(|e| ManifestError::from_toml(text, syntax(&e), e))?;
        if let Some((key, value)) = top
            .iter()
            .filter(|(key, _)| !TABLES.contains(&key.get_ref().as_str()))
            .min_by_key(|(key, _)| key.span().start)
        {
            return Err(ManifestError::at(
                text,
                key.span(),
                unknown_key(key.get_ref(), value),
            ));
        }
        let document: Document =
            toml::from_str(text).map_err(|e| ManifestError::from_toml(text, shape(&e), e))?;
        let mut models: Vec<_> = document.models.into_iter().collect();
        models.sort_by_key(|(alias, _)| alias.span().start);
        let mut manifest = Manifest::default();
        for (alias, value) in models {
            if alias.get_ref().trim().is_empty() {
                return Err(ManifestError::at(
                    text,
                    alias.span(),
                    format!("empty alias: give the model a name, e.g. {ENTRY}"),
                ));
            }
            let (value, kwargs) = match value.get_ref() {
                toml::Value::String(v) => {
                    (Spanned::new(value.span(), v.clone()), toml::Table::new())
                }
                toml::Value::Table(table) if table.contains_key("endpoints") => {
                    let (endpoints, kwargs) = served(alias.get_ref(), table)
                        .map_err(|message| ManifestError::at(text, value.span(), message))?;
                    manifest
                        .models
                        .push((alias.into_inner(), Model::Served(endpoints), kwargs));
                    continue;
                }
                toml::Value::Table(table) if table.contains_key("model") => {
                    let (model, kwargs) = local(alias.get_ref(), table)
                        .map_err(|message| ManifestError::at(text, value.span(), message))?;
                    (Spanned::new(value.span(), model), kwargs)
                }
                toml::Value::Table(table) => {
                    return Err(ManifestError::at(
                        text,
                        alias.span(),
                        nested(alias.get_ref(), table, in_header(text, alias.span().start)),
                    ))
                }
                other => {
                    return Err(ManifestError::at(
                        text,
                        value.span(),
                        format!(
                            "the value of alias `{}` is {}, not a string: quote it, \
                             e.g. `{} = \"models/model.gguf\"`",
                            alias.get_ref(),
                            article(other.type_str()),
                            alias.get_ref(),
                        ),
                    ))
                }
            };
            if value.get_ref().trim().is_empty() {
                return Err(ManifestError::at(
                    text,
                    value.span(),
                    format!(
                        "alias `{}` has an empty value: name an alias declared above it \
                         (such as \"smollm2-135m\") or a GGUF file relative to the manifest",
                        alias.get_ref()
                    ),
                ));
            }
            manifest
                .models
                .push((alias.into_inner(), Model::Local(value.into_inner()), kwargs));
        }
        Ok(manifest)
    }

    /// Reads and parses the manifest at `path`; errors name the file.
    pub fn load(path: impl AsRef<Path>) -> Result<Manifest, ManifestError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ManifestError {
            path: Some(path.to_path_buf()),
            line: 0,
            column: 0,
            message: format!(
                "cannot read the model manifest: {e}; check the path (the manifest is \
                 `agentkit.toml` beside the crate's Cargo.toml)"
            ),
            source: Some(Box::new(e)),
        })?;
        Manifest::parse(&text).map_err(|e| e.with_path(path))
    }

    /// Every `(alias, value)` under `[models]` of the string form, in
    /// declaration order. A value is either an alias declared before it or a
    /// path to a GGUF file, relative to the manifest's directory; the
    /// manifest does not decide which (the runtime does, knowing its
    /// built-in aliases). Served aliases are in [`Manifest::entries`].
    pub fn models(&self) -> impl Iterator<Item = (&str, &str)> {
        self.models.iter().filter_map(|(a, m, _)| match m {
            Model::Local(v) => Some((a.as_str(), v.as_str())),
            Model::Served(_) => None,
        })
    }

    /// Every entry under `[models]`, local and served, in declaration order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Model)> {
        self.models.iter().map(|(a, m, _)| (a.as_str(), m))
    }

    /// The chat-template variables of `alias` (`chat_template_kwargs = { ... }`
    /// in its table form), passed to the model's chat template with every
    /// prompt, e.g. `enable_thinking = false`. Empty when it has none or the
    /// manifest does not declare it.
    pub fn chat_template_kwargs(&self, alias: &str) -> &toml::Table {
        static NONE: std::sync::OnceLock<toml::Table> = std::sync::OnceLock::new();
        self.models
            .iter()
            .find(|(a, _, _)| a == alias)
            .map(|(_, _, kwargs)| kwargs)
            .unwrap_or_else(|| NONE.get_or_init(toml::Table::new))
    }

    /// Every alias the manifest declares, in declaration order.
    pub fn aliases(&self) -> impl Iterator<Item = &str> {
        self.models.iter().map(|(a, _, _)| a.as_str())
    }

    /// The value of `alias`, if the manifest declares it in the string form.
    pub fn get(&self, alias: &str) -> Option<&str> {
        self.models().find(|(a, _)| *a == alias).map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests;
