//! What a model is to a backend: a weights file run in-process, or the
//! servers that serve it.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// A model as the runtime knows it: the alias agents name, and what the
/// model is ([`ModelSource`]): a weights file for an in-process backend, or
/// the servers that serve it.
///
/// Built with [`ModelSpec::new`] or [`ModelSpec::served`]; marked
/// `#[non_exhaustive]` so it can grow.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ModelSpec {
    /// The alias agents name, e.g. `"screen"`.
    pub alias: String,
    /// What the model is: a file, or endpoints.
    pub source: ModelSource,
    /// Variables for the model's chat template, passed with every prompt
    /// (what Hugging Face's `apply_chat_template` takes as keyword
    /// arguments, e.g. `{"enable_thinking": false}`): rendered in-process by
    /// the llama.cpp backend, sent as `chat_template_kwargs` to servers.
    /// Empty by default.
    pub chat_template_kwargs: serde_json::Map<String, serde_json::Value>,
}

/// Where a backend finds a model.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModelSource {
    /// A weights file (a GGUF for the llama.cpp backend).
    File(PathBuf),
    /// Servers that serve the model over an OpenAI-compatible API, tried in
    /// order. Never empty when built by the runtime.
    Served(Vec<Endpoint>),
}

/// What identifies a model's weights across aliases: what calibration and
/// tuning are measured on and keyed by. Two aliases of one file (or of one
/// served model at one endpoint) share it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ModelKey {
    /// The weights file.
    File(PathBuf),
    /// The first endpoint's URL and the name the server serves the model under.
    Served {
        /// The base URL of the first endpoint.
        url: String,
        /// The served model name.
        model: String,
    },
    /// A served model without endpoints (which no backend can run).
    Unserved,
}

impl ModelKey {
    /// The short name a tuning file records for the model: the file's name,
    /// or the served model's name.
    pub fn name(&self) -> Option<String> {
        match self {
            ModelKey::File(path) => path.file_name().map(|n| n.to_string_lossy().into_owned()),
            ModelKey::Served { model, .. } => Some(model.clone()),
            ModelKey::Unserved => None,
        }
    }
}

impl std::fmt::Display for ModelKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelKey::File(path) => write!(f, "{}", path.display()),
            ModelKey::Served { url, model } => write!(f, "`{model}` at {url}"),
            ModelKey::Unserved => f.write_str("a served model without endpoints"),
        }
    }
}

impl ModelSpec {
    /// The model `alias`, a weights file at `path`.
    pub fn new(alias: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        ModelSpec {
            alias: alias.into(),
            source: ModelSource::File(path.into()),
            chat_template_kwargs: serde_json::Map::new(),
        }
    }

    /// The model `alias`, served by `endpoints` (an HTTP backend such as
    /// `agentkit_backends::server::Server` runs it).
    pub fn served(alias: impl Into<String>, endpoints: Vec<Endpoint>) -> Self {
        ModelSpec {
            alias: alias.into(),
            source: ModelSource::Served(endpoints),
            chat_template_kwargs: serde_json::Map::new(),
        }
    }

    /// The same model under another alias.
    pub fn renamed(&self, alias: impl Into<String>) -> Self {
        ModelSpec {
            alias: alias.into(),
            ..self.clone()
        }
    }

    /// With these chat-template variables added (a variable given again
    /// takes the new value).
    pub fn with_chat_template_kwargs(
        mut self,
        kwargs: impl IntoIterator<Item = (String, serde_json::Value)>,
    ) -> Self {
        self.chat_template_kwargs.extend(kwargs);
        self
    }

    /// Whether servers run this model rather than an in-process backend.
    pub fn is_served(&self) -> bool {
        matches!(self.source, ModelSource::Served(_))
    }

    /// The weights file, for a model run in-process.
    pub fn path(&self) -> Option<&Path> {
        match &self.source {
            ModelSource::File(path) => Some(path),
            ModelSource::Served(_) => None,
        }
    }

    /// The servers that serve the model, in the order they are tried; empty
    /// for a model run in-process.
    pub fn endpoints(&self) -> &[Endpoint] {
        match &self.source {
            ModelSource::File(_) => &[],
            ModelSource::Served(endpoints) => endpoints,
        }
    }

    /// What identifies the model's weights: see [`ModelKey`].
    pub fn key(&self) -> ModelKey {
        match &self.source {
            ModelSource::File(path) => ModelKey::File(path.clone()),
            ModelSource::Served(endpoints) => match endpoints.first() {
                Some(e) => ModelKey::Served {
                    url: e.url.clone(),
                    model: e.model.clone(),
                },
                None => ModelKey::Unserved,
            },
        }
    }
}

/// One server that serves a model over the OpenAI-compatible chat
/// completions API: what an `agentkit.toml` entry
/// `{ url = "...", model = "...", api_key_env = "...", timeout_s = 30 }` says.
///
/// Built with [`Endpoint::new`] and the `with_` methods; `#[non_exhaustive]`.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Endpoint {
    /// The base URL, e.g. `http://127.0.0.1:8080`.
    pub url: String,
    /// The name the server serves the model under.
    pub model: String,
    /// The environment variable holding the API key, if one is needed. Only
    /// the variable's name is kept here; the key is read when a request is
    /// sent and never logged.
    pub api_key_env: Option<String>,
    /// How long one attempt may take before another endpoint is tried.
    pub timeout: Duration,
}

impl Endpoint {
    /// How long an attempt may take unless the manifest says otherwise.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

    /// The model `model` served at `url`, with no API key and the default timeout.
    pub fn new(url: impl Into<String>, model: impl Into<String>) -> Self {
        Endpoint {
            url: url.into().trim_end_matches('/').to_string(),
            model: model.into(),
            api_key_env: None,
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }

    /// With the API key read from the environment variable `var`.
    pub fn with_api_key_env(mut self, var: impl Into<String>) -> Self {
        self.api_key_env = Some(var.into());
        self
    }

    /// With a timeout per attempt.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The variable's name only: the key itself is never read here.
        f.debug_struct("Endpoint")
            .field("url", &self.url)
            .field("model", &self.model)
            .field("api_key_env", &self.api_key_env)
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_served_model_is_keyed_by_its_endpoint_and_served_name_not_a_path() {
        let served = ModelSpec::served(
            "judge",
            vec![
                Endpoint::new("http://10.0.0.1:8080/", "smollm2"),
                Endpoint::new("http://10.0.0.2:8080", "smollm2"),
            ],
        );
        assert_eq!(served.path(), None);
        assert_eq!(
            served.key(),
            ModelKey::Served {
                url: "http://10.0.0.1:8080".into(),
                model: "smollm2".into(),
            }
        );
        // A tuning file records the served name, as it records a file's name.
        assert_eq!(served.key().name().as_deref(), Some("smollm2"));
        // Another alias of the same served model shares calibration.
        assert_eq!(served.renamed("screen").key(), served.key());
        // Another served name at the same URL does not.
        let other = ModelSpec::served("x", vec![Endpoint::new("http://10.0.0.1:8080", "qwen")]);
        assert_ne!(other.key(), served.key());
        let file = ModelSpec::new("local", "/models/smollm2.gguf");
        assert_eq!(file.key().name().as_deref(), Some("smollm2.gguf"));
        assert_eq!(file.key(), ModelKey::File("/models/smollm2.gguf".into()));
    }
}
