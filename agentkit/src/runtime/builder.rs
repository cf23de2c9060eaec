//! Building a runtime: the backend, and the models registered by alias.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Runtime;
use crate::{Backend, Error, ModelSpec};

/// One registration, applied in order when the runtime is built (so an alias
/// may name a model the backend provides, whenever the backend is set).
pub(super) enum Entry {
    /// `alias` is the model at `path`.
    Model { alias: String, path: PathBuf },
    /// `alias` is another name for the model `of`.
    Alias { alias: String, of: String },
    /// From a manifest: `alias` names the model `value` if that is an alias
    /// known by then, else the file `dir/value`.
    AliasOrPath {
        alias: String,
        value: String,
        dir: PathBuf,
    },
    /// From a manifest: `alias` is served by `endpoints`.
    Served {
        alias: String,
        endpoints: Vec<crate::Endpoint>,
    },
    /// `alias`, registered before, gets these chat-template variables.
    Kwargs {
        alias: String,
        kwargs: serde_json::Map<String, serde_json::Value>,
    },
}

/// A manifest's endpoint as the runtime keeps it.
fn endpoint(e: &agentkit_manifest::Endpoint) -> crate::Endpoint {
    let mut endpoint = crate::Endpoint::new(e.url.clone(), e.model.clone());
    if let Some(var) = &e.api_key_env {
        endpoint = endpoint.with_api_key_env(var.clone());
    }
    if let Some(t) = e.timeout_s {
        // The manifest crate checked it is finite and positive.
        endpoint = endpoint.with_timeout(std::time::Duration::from_secs_f64(t));
    }
    endpoint
}

/// Builds a [`Runtime`].
pub struct RuntimeBuilder {
    pub(super) backend: Option<Arc<dyn Backend>>,
    pub(super) entries: Vec<Entry>,
    pub(super) sources: super::sources::Sources,
}

impl RuntimeBuilder {
    /// Registers a source of tools (an MCP server, say) as `name`; agents
    /// call its tools when they name it in `#[agent(tool_sources = ["name"])]`.
    /// Its tools are listed once, at the first pre-flight that needs them.
    pub fn tool_source(
        mut self,
        name: impl Into<String>,
        source: impl crate::tools::ToolSource,
    ) -> Self {
        self.sources
            .insert(name.into(), super::sources::Source::new(Arc::new(source)));
        self
    }

    /// Sets the backend that runs every agent.
    pub fn backend(mut self, backend: impl Backend) -> Self {
        self.backend = Some(Arc::new(backend));
        self
    }

    /// Sets a backend that is already shared.
    pub fn shared_backend(mut self, backend: Arc<dyn Backend>) -> Self {
        self.backend = Some(backend);
        self
    }

    /// Registers (or replaces) the model `alias` as the file at `path`.
    pub fn model(mut self, alias: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        self.entries.push(Entry::Model {
            alias: alias.into(),
            path: path.into(),
        });
        self
    }

    /// Registers (or replaces) the model `alias` as served by `endpoints`
    /// over the OpenAI-compatible API (a backend such as
    /// `agentkit_backends::server::Router` runs it): what
    /// `alias = { endpoints = [...] }` in a manifest says.
    pub fn served(mut self, alias: impl Into<String>, endpoints: Vec<crate::Endpoint>) -> Self {
        self.entries.push(Entry::Served {
            alias: alias.into(),
            endpoints,
        });
        self
    }

    /// Registers `alias` as another name for the model `of`: one registered
    /// before it, or one the backend provides (e.g. one alias per pipeline
    /// step, all on the backend's default model until a step needs a bigger
    /// one). The model is loaded once however many aliases name it. An
    /// unknown `of` leaves `alias` unregistered, so using it reports
    /// [`Error::UnknownModel`].
    pub fn alias(mut self, alias: impl Into<String>, of: &str) -> Self {
        self.entries.push(Entry::Alias {
            alias: alias.into(),
            of: of.to_string(),
        });
        self
    }

    /// Gives the model `alias` (registered before this call) variables for
    /// its chat template, passed with every prompt: what
    /// `chat_template_kwargs = { ... }` in a manifest entry says. E.g.
    /// `{"enable_thinking": false}` turns a Qwen3-style model's thinking off.
    /// Added to the variables it has; an alias registered later replaces them.
    pub fn chat_template_kwargs(
        mut self,
        alias: impl Into<String>,
        kwargs: serde_json::Map<String, serde_json::Value>,
    ) -> Self {
        self.entries.push(Entry::Kwargs {
            alias: alias.into(),
            kwargs,
        });
        self
    }

    /// Reads a model manifest (`agentkit.toml`, TOML): each entry under
    /// `[models]` is `alias = "value"`, where the value is an alias known
    /// before it (registered, or provided by the backend) or a model file,
    /// relative to the manifest's directory. The same file lets
    /// `#[agent(model = ...)]` check aliases at compile time.
    ///
    /// A file that cannot be read or parsed fails with [`Error::Manifest`],
    /// which gives the line and column of the mistake.
    pub fn manifest(mut self, path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let manifest = agentkit_manifest::Manifest::load(path).map_err(|e| Error::Manifest {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            reason: e.message().to_string(),
            source: e.into_source(),
        })?;
        let dir = path.parent().unwrap_or_else(|| Path::new("."));
        for (alias, model) in manifest.entries() {
            // TOML values serialize as the JSON values they read as.
            let kwargs = match serde_json::to_value(manifest.chat_template_kwargs(alias)) {
                Ok(serde_json::Value::Object(kwargs)) if !kwargs.is_empty() => {
                    Some(Entry::Kwargs {
                        alias: alias.to_string(),
                        kwargs,
                    })
                }
                _ => None,
            };
            self.entries.push(match model {
                agentkit_manifest::Model::Served(endpoints) => Entry::Served {
                    alias: alias.to_string(),
                    endpoints: endpoints.iter().map(endpoint).collect(),
                },
                agentkit_manifest::Model::Local(value) => Entry::AliasOrPath {
                    alias: alias.to_string(),
                    value: value.clone(),
                    dir: dir.to_path_buf(),
                },
                // A future entry form this runtime does not know: a
                // configuration error would be better, but the manifest
                // crate is pinned to this one, so it cannot happen.
                _ => continue,
            });
            self.entries.extend(kwargs);
        }
        Ok(self)
    }

    /// Finishes the runtime, resolving aliases in the order they were given.
    pub fn build(self) -> Runtime {
        let mut models: BTreeMap<String, ModelSpec> = BTreeMap::new();
        let known = |models: &BTreeMap<String, ModelSpec>, name: &str| {
            models
                .get(name)
                .cloned()
                .or_else(|| self.backend.as_ref()?.model(name))
        };
        for entry in &self.entries {
            match entry {
                Entry::Model { alias, path } => {
                    models.insert(alias.clone(), ModelSpec::new(alias.clone(), path.clone()));
                }
                Entry::Alias { alias, of } => {
                    if let Some(spec) = known(&models, of) {
                        models.insert(alias.clone(), spec.renamed(alias.clone()));
                    }
                }
                Entry::AliasOrPath { alias, value, dir } => {
                    let spec = match known(&models, value) {
                        Some(spec) => spec.renamed(alias.clone()),
                        None => ModelSpec::new(alias.clone(), dir.join(value)),
                    };
                    models.insert(alias.clone(), spec);
                }
                Entry::Served { alias, endpoints } => {
                    models.insert(
                        alias.clone(),
                        ModelSpec::served(alias.clone(), endpoints.clone()),
                    );
                }
                Entry::Kwargs { alias, kwargs } => {
                    if let Some(spec) = models.get_mut(alias) {
                        spec.chat_template_kwargs.extend(kwargs.clone());
                    }
                }
            }
        }
        Runtime {
            backend: self.backend,
            models: Arc::new(models),
            checked: Arc::default(),
            warned: Arc::default(),
            usage: Arc::default(),
            sources: Arc::new(self.sources),
        }
    }
}
