//! The runtime: a backend handle plus the registry of model aliases, with
//! the record of which agents passed pre-flight and what was spent.

use std::any::TypeId;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::backend::Completion;
use crate::{Agent, Backend, Error, ModelSpec, Report, Step};

/// Holds the backend and the model registry; everything an agent needs to run.
///
/// Cheap to clone: clones share the backend, its loaded models, the
/// pre-flight record and the usage counters.
#[derive(Clone)]
pub struct Runtime {
    backend: Option<Arc<dyn Backend>>,
    models: Arc<BTreeMap<String, ModelSpec>>,
    /// Agents (by type) whose pre-flight has passed on this runtime.
    checked: Arc<Mutex<HashSet<TypeId>>>,
    usage: Arc<Counters>,
}

#[derive(Default)]
struct Counters {
    calls: AtomicU64,
    prompt_tokens: AtomicU64,
    cached_prompt_tokens: AtomicU64,
    generated_tokens: AtomicU64,
}

/// Model calls and tokens spent on a runtime so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Usage {
    /// Backend calls (each retry, sample and scored call is a call).
    pub calls: u64,
    /// Prompt tokens over all calls that report them.
    pub prompt_tokens: u64,
    /// Of those, the ones a backend took from a cache (a prefix shared with
    /// another call) instead of evaluating them.
    pub cached_prompt_tokens: u64,
    /// Generated tokens over all calls.
    pub generated_tokens: u64,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("has_backend", &self.backend.is_some())
            .field("models", &self.models)
            .finish()
    }
}

impl Runtime {
    /// Starts a runtime with no backend and no registered models.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder {
            backend: None,
            entries: Vec::new(),
        }
    }

    /// The model agents reach under `alias`: one registered with the builder,
    /// else one the backend provides by that name (its default model, say).
    pub fn model(&self, alias: &str) -> Option<ModelSpec> {
        if let Some(spec) = self.models.get(alias) {
            return Some(spec.clone());
        }
        self.backend.as_ref()?.model(alias)
    }

    /// Every model registered with the builder, by alias (not those the
    /// backend provides on its own).
    pub fn models(&self) -> impl Iterator<Item = &ModelSpec> {
        self.models.values()
    }

    /// Resolves the model `agent` asks for, or says which aliases exist and
    /// which one was probably meant.
    pub fn resolve(&self, agent: &str, alias: &str) -> Result<ModelSpec, Error> {
        self.model(alias).ok_or_else(|| {
            let suggestion =
                agentkit_manifest::suggest(alias, self.models.keys().map(String::as_str))
                    .map(str::to_string);
            Error::UnknownModel {
                agent: agent.to_string(),
                alias: alias.to_string(),
                known: self.models.keys().cloned().collect::<Vec<_>>().join(", "),
                suggestion,
            }
        })
    }

    /// Pre-flight for the agent `A`, run once per runtime: its model
    /// resolves, the backend accepts its schema and its fixed prompt. Every
    /// way of running an agent (bare, scored, inside any combinator) goes
    /// through here before its first model call, so one mistake gives the
    /// same [`Error::Preflight`] however the agent is wrapped. An agent that
    /// fails is checked again next time, in case the cause was fixed.
    pub async fn preflight<A: Agent>(&self) -> Result<(), Error> {
        let key = TypeId::of::<A>();
        if self
            .checked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&key)
        {
            return Ok(());
        }
        let problems = crate::run::problems::<A>(self).await;
        if !problems.is_empty() {
            return Err(Error::Preflight {
                report: Report { problems },
            });
        }
        self.checked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key);
        Ok(())
    }

    /// Runs the agent `agent` on `input`: pre-flight (once per runtime),
    /// prompt, generation under the output's grammar, parsing, the agent's
    /// check, retries and voting. What a hand-written agent's
    /// [`Step::run`] calls; `#[agent]` generates the same call.
    pub async fn run_agent<A: Agent>(
        &self,
        agent: &A,
        input: A::Input,
    ) -> Result<A::Output, Error> {
        crate::run::run_agent(agent, self, input).await
    }

    /// The pre-flight problems of the agent `agent` (none once it has passed
    /// on this runtime). What a hand-written agent's [`Step::check`] calls.
    pub async fn check_agent<A: Agent>(&self, agent: &A) -> Vec<crate::Problem> {
        crate::run::check_agent(agent, self).await
    }

    /// Checks `step` without running it: every model alias resolves, every
    /// output schema compiles, every prompt fits, for every step at once.
    pub async fn check<In, S: Step<In>>(&self, step: &S) -> Result<(), Error> {
        let problems = step.check(self).await;
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Preflight {
                report: Report { problems },
            })
        }
    }

    /// Calls and tokens spent on this runtime (and its clones) so far.
    pub fn usage(&self) -> Usage {
        Usage {
            calls: self.usage.calls.load(Ordering::Relaxed),
            prompt_tokens: self.usage.prompt_tokens.load(Ordering::Relaxed),
            cached_prompt_tokens: self.usage.cached_prompt_tokens.load(Ordering::Relaxed),
            generated_tokens: self.usage.generated_tokens.load(Ordering::Relaxed),
        }
    }

    /// Counts one backend call and the tokens it reports.
    pub(crate) fn record(&self, completion: &Completion) {
        self.usage.calls.fetch_add(1, Ordering::Relaxed);
        self.usage
            .prompt_tokens
            .fetch_add(completion.prompt_tokens as u64, Ordering::Relaxed);
        self.usage
            .cached_prompt_tokens
            .fetch_add(completion.cached_prompt_tokens as u64, Ordering::Relaxed);
        self.usage
            .generated_tokens
            .fetch_add(completion.generated_tokens as u64, Ordering::Relaxed);
    }

    /// Counts one backend call that reports no tokens (a scored call).
    pub(crate) fn record_call(&self) {
        self.usage.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// The backend, or [`Error::NoBackend`].
    pub fn backend(&self) -> Result<&dyn Backend, Error> {
        self.backend.as_deref().ok_or(Error::NoBackend)
    }
}

/// One registration, applied in order when the runtime is built (so an alias
/// may name a model the backend provides, whenever the backend is set).
enum Entry {
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
    backend: Option<Arc<dyn Backend>>,
    entries: Vec<Entry>,
}

impl RuntimeBuilder {
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
            }
        }
        Runtime {
            backend: self.backend,
            models: Arc::new(models),
            checked: Arc::default(),
            usage: Arc::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory holding `agentkit.toml` with `text`.
    fn manifest_dir(name: &str, text: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("agentkit-runtime-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("agentkit.toml"), text).unwrap();
        dir
    }

    #[test]
    fn manifest_registers_paths_and_aliases() {
        let dir = manifest_dir(
            "paths",
            "# Models.\n[ models ]\nscreen = \"base\"\njudge = \"models/run #2/judge.bin\" # a comment\nfinal = 'judge'\n",
        );
        let runtime = Runtime::builder()
            .model("base", "/models/base.bin")
            .manifest(dir.join("agentkit.toml"))
            .unwrap()
            .build();
        let path = |alias: &str| {
            runtime
                .model(alias)
                .and_then(|m| m.path().map(Path::to_path_buf))
        };
        let judge = dir.join("models/run #2/judge.bin");
        assert_eq!(path("judge"), Some(judge.clone()));
        assert_eq!(path("final"), Some(judge));
        assert_eq!(path("screen"), Some(PathBuf::from("/models/base.bin")));
        assert_eq!(
            runtime.model("final").map(|m| m.alias.clone()),
            Some("final".to_string())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn manifest_registers_served_aliases_and_aliases_of_them() {
        let dir = manifest_dir(
            "served",
            "[models]\njudge = { endpoints = [{ url = \"http://127.0.0.1:9/\", model = \"smol\", api_key_env = \"K\", timeout_s = 2.5 }] }\nfinal = \"judge\"\nlocal = \"a.gguf\"\n",
        );
        let runtime = Runtime::builder()
            .manifest(dir.join("agentkit.toml"))
            .unwrap()
            .build();
        let judge = runtime.model("judge").unwrap();
        assert!(judge.is_served());
        assert_eq!(judge.endpoints()[0].url, "http://127.0.0.1:9");
        assert_eq!(judge.endpoints()[0].model, "smol");
        assert_eq!(judge.endpoints()[0].api_key_env.as_deref(), Some("K"));
        assert_eq!(judge.endpoints()[0].timeout.as_millis(), 2500);
        let fin = runtime.model("final").unwrap();
        assert_eq!(
            (fin.alias.as_str(), fin.endpoints()),
            ("final", judge.endpoints())
        );
        assert!(!runtime.model("local").unwrap().is_served());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A backend that provides one model, `builtin`, by name.
    struct Provides;

    #[async_trait::async_trait]
    impl Backend for Provides {
        async fn generate(&self, _: crate::backend::Request) -> Result<Completion, Error> {
            Err(Error::NoBackend)
        }
        fn model(&self, alias: &str) -> Option<ModelSpec> {
            (alias == "builtin").then(|| ModelSpec::new(alias, "/cache/builtin.bin"))
        }
    }

    #[test]
    fn aliases_may_name_a_backend_model_whenever_the_backend_is_set() {
        let dir = manifest_dir("builtin", "[models]\nscreen = \"builtin\"\n");
        // The manifest and the alias come before the backend that provides the model.
        let runtime = Runtime::builder()
            .manifest(dir.join("agentkit.toml"))
            .unwrap()
            .alias("judge", "builtin")
            .backend(Provides)
            .build();
        let builtin = Some(PathBuf::from("/cache/builtin.bin"));
        let path = |alias: &str| {
            runtime
                .model(alias)
                .and_then(|m| m.path().map(Path::to_path_buf))
        };
        assert_eq!(path("screen"), builtin);
        assert_eq!(path("judge"), builtin);
        assert_eq!(path("builtin"), builtin);
        assert!(runtime.model("other").is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_unknown_alias_suggests_the_nearest_registered_one() {
        let runtime = Runtime::builder().model("qwen-1.5b", "/m/q.bin").build();
        match runtime.resolve("Score", "qwen-15b") {
            Err(Error::UnknownModel { suggestion, .. }) => {
                assert_eq!(suggestion.as_deref(), Some("qwen-1.5b"))
            }
            other => panic!("expected UnknownModel, got {other:?}"),
        }
        match runtime.resolve("Score", "llama") {
            Err(Error::UnknownModel { suggestion, .. }) => assert_eq!(suggestion, None),
            other => panic!("expected UnknownModel, got {other:?}"),
        }
    }

    fn manifest_error(path: &Path) -> Error {
        match Runtime::builder().manifest(path) {
            Ok(_) => panic!("`{}` was accepted", path.display()),
            Err(e) => e,
        }
    }

    #[test]
    fn manifest_error_names_path_line_and_column() {
        let dir = manifest_dir("syntax", "[models]\nscreen = \"base\"\njudge \"x.bin\"\n");
        let path = dir.join("agentkit.toml");
        let err = manifest_error(&path);
        assert!(
            matches!(
                err,
                Error::Manifest {
                    line: 3,
                    column: 7,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with(&format!("{}:3:7: not valid TOML: ", path.display())),
            "{err}"
        );
        assert!(std::error::Error::source(&err).is_some());
        std::fs::remove_dir_all(&dir).unwrap();

        let err = manifest_error(&path);
        assert!(matches!(err, Error::Manifest { line: 0, .. }), "{err:?}");
        assert!(
            err.to_string().starts_with(&format!(
                "{}: cannot read the model manifest: ",
                path.display()
            )),
            "{err}"
        );
    }
}
