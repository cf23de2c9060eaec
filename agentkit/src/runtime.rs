//! The runtime: a backend plus the registry of model aliases.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::{
    Agent, Attempt, Backend, Error, Message, ModelSpec, Problem, Prompt, Report, Request, Role,
};

/// The alias of the default model, SmolLM2-135M-Instruct (Q4_1).
pub const DEFAULT_MODEL: &str = "smollm2-135m";

/// The file name of the default model inside the model directory.
pub const DEFAULT_MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// The command that fetches the default model into the model directory.
pub const FETCH_COMMAND: &str = "scripts/fetch-model.sh";

/// Where models are kept: `$AGENTKIT_MODELS` if set, else `agentkit/models`
/// in the user's cache directory ([`dirs::cache_dir`]: `$XDG_CACHE_HOME` or
/// `~/.cache` on Linux, as `scripts/fetch-model.sh` uses; `~/Library/Caches`
/// on macOS; the local app-data folder on Windows), else `./models`.
pub fn models_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("AGENTKIT_MODELS").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    match dirs::cache_dir() {
        Some(cache) => cache.join("agentkit").join("models"),
        None => PathBuf::from("models"),
    }
}

/// Holds the backend and the model registry; everything an agent needs to run.
///
/// Cheap to clone: clones share the backend and its loaded models.
#[derive(Clone)]
pub struct Runtime {
    backend: Option<Arc<dyn Backend>>,
    models: Arc<BTreeMap<String, ModelSpec>>,
    /// Chains (by type name) whose pre-flight has passed on this runtime.
    checked: Arc<Mutex<HashSet<&'static str>>>,
    usage: Arc<Counters>,
}

#[derive(Default)]
struct Counters {
    calls: AtomicU64,
    prompt_tokens: AtomicU64,
    generated_tokens: AtomicU64,
}

/// Model calls and tokens spent on a runtime so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Backend calls (each retry is a call).
    pub calls: u64,
    /// Prompt tokens over all calls.
    pub prompt_tokens: u64,
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
    /// Starts a runtime with the built-in alias `smollm2-135m` registered.
    pub fn builder() -> RuntimeBuilder {
        let mut models = BTreeMap::new();
        models.insert(
            DEFAULT_MODEL.to_string(),
            ModelSpec {
                alias: DEFAULT_MODEL.to_string(),
                path: models_dir().join(DEFAULT_MODEL_FILE),
                fetch_hint: Some(format!(
                    "run `{FETCH_COMMAND}` to fetch it, or set AGENTKIT_MODELS to the directory that holds it"
                )),
            },
        );
        RuntimeBuilder {
            backend: None,
            models,
        }
    }

    /// The model registered under `alias`, if any.
    pub fn model(&self, alias: &str) -> Option<&ModelSpec> {
        self.models.get(alias)
    }

    /// Every registered model, by alias.
    pub fn models(&self) -> impl Iterator<Item = &ModelSpec> {
        self.models.values()
    }

    /// Resolves the model `agent` asks for, or says which aliases exist.
    pub fn resolve(&self, agent: &str, alias: &str) -> Result<&ModelSpec, Error> {
        self.models.get(alias).ok_or_else(|| Error::UnknownModel {
            agent: agent.to_string(),
            alias: alias.to_string(),
            known: self.models.keys().cloned().collect::<Vec<_>>().join(", "),
        })
    }

    /// Runs `check` once per runtime for the chain named `key`; a chain
    /// whose check found problems fails with [`Error::Preflight`] (and is
    /// checked again next time, in case the runtime was fixed meanwhile).
    pub(crate) async fn preflight_once(
        &self,
        key: &'static str,
        check: impl Future<Output = Vec<Problem>>,
    ) -> Result<(), Error> {
        if self
            .checked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(key)
        {
            return Ok(());
        }
        let problems = check.await;
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

    /// Checks `step` without running it: every model alias resolves, every
    /// output schema compiles, every prompt fits, for every step at once.
    pub async fn check<In, S: crate::Step<In>>(&self, step: &S) -> Result<(), Error> {
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
            generated_tokens: self.usage.generated_tokens.load(Ordering::Relaxed),
        }
    }

    fn record(&self, completion: &crate::Completion) {
        self.usage.calls.fetch_add(1, Ordering::Relaxed);
        self.usage
            .prompt_tokens
            .fetch_add(completion.prompt_tokens as u64, Ordering::Relaxed);
        self.usage
            .generated_tokens
            .fetch_add(completion.generated_tokens as u64, Ordering::Relaxed);
    }

    /// The backend, or [`Error::NoBackend`].
    pub fn backend(&self) -> Result<&dyn Backend, Error> {
        self.backend.as_deref().ok_or(Error::NoBackend)
    }
}

/// Builds a [`Runtime`].
pub struct RuntimeBuilder {
    backend: Option<Arc<dyn Backend>>,
    models: BTreeMap<String, ModelSpec>,
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

    /// Registers (or replaces) the model `alias` as the GGUF file at `path`.
    pub fn model(mut self, alias: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        let alias = alias.into();
        self.models.insert(
            alias.clone(),
            ModelSpec {
                alias,
                path: path.into(),
                fetch_hint: None,
            },
        );
        self
    }

    /// Registers `alias` as another name for the already registered model
    /// `of` (e.g. one alias per pipeline step, all on the default model until
    /// a step needs a bigger one). The file is loaded once however many
    /// aliases name it. An unknown `of` leaves `alias` unregistered, so using
    /// it reports [`Error::UnknownModel`].
    pub fn alias(mut self, alias: impl Into<String>, of: &str) -> Self {
        if let Some(spec) = self.models.get(of).cloned() {
            let alias = alias.into();
            self.models
                .insert(alias.clone(), ModelSpec { alias, ..spec });
        }
        self
    }

    /// Reads a model manifest (`agentkit.toml`), a TOML file whose
    /// `[models]` table holds `alias = "value"` entries: the value is an alias
    /// registered before it (`screen = "smollm2-135m"`) or else a GGUF path,
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
        for (alias, value) in manifest.models() {
            self = if self.models.contains_key(value) {
                self.alias(alias, value)
            } else {
                self.model(alias, dir.join(value))
            };
        }
        Ok(self)
    }

    /// Finishes the runtime.
    pub fn build(self) -> Runtime {
        Runtime {
            backend: self.backend,
            models: Arc::new(self.models),
            checked: Arc::default(),
            usage: Arc::default(),
        }
    }
}

/// Runs one agent: renders its prompt, asks the backend under the output's
/// schema, parses the answer into the output type and applies the agent's
/// check, asking again (up to `A::RETRIES` times) with the problem spelled out.
///
/// This is what the `Step` impl generated by `#[agent]` calls.
pub async fn run_agent<A: Agent>(
    _agent: &A,
    runtime: &Runtime,
    input: A::Input,
) -> Result<A::Output, Error> {
    let span = tracing::info_span!(
        "agent",
        agent = A::NAME,
        model = A::MODEL,
        prompt_tokens = tracing::field::Empty,
        generated_tokens = tracing::field::Empty,
        elapsed_ms = tracing::field::Empty,
        retries = tracing::field::Empty,
    );
    let started = std::time::Instant::now();
    let result = tracing::Instrument::instrument(
        async {
            let prompt = Prompt::render::<A>(&input)?;
            tracing::debug!(prompt = %prompt, "rendered prompt");
            let (output, _) = vote::<A>(runtime, &prompt, A::SAMPLES, &span).await?;
            Ok(output)
        },
        span.clone(),
    )
    .await;
    span.record("elapsed_ms", started.elapsed().as_millis() as u64);
    if let Err(e) = &result {
        tracing::warn!(parent: &span, error = %e, "agent failed");
    }
    result
}

/// Draws `samples` answers (seeds `seed`, `seed + 1000`, ...) and returns the
/// one given most often with the share of samples that agree with it. Ties go
/// to the answer seen first. Answers are compared as JSON values, so two that
/// differ only in whitespace or key order are the same answer.
pub(crate) async fn vote<A: Agent>(
    runtime: &Runtime,
    prompt: &Prompt,
    samples: u32,
    span: &tracing::Span,
) -> Result<(A::Output, f64), Error> {
    let samples = samples.max(1);
    let mut answers: Vec<(serde_json::Value, A::Output, u32)> = Vec::new();
    for i in 0..samples {
        let (raw, output) = attempts::<A>(runtime, prompt, i.wrapping_mul(1000), span).await?;
        // The raw text parsed into `A::Output`, so it is JSON.
        let value = serde_json::from_str(raw.trim()).unwrap_or(serde_json::Value::String(raw));
        match answers.iter_mut().find(|(v, _, _)| *v == value) {
            Some(seen) => seen.2 += 1,
            None => answers.push((value, output, 1)),
        }
    }
    let mut best = 0;
    for (i, a) in answers.iter().enumerate() {
        if a.2 > answers[best].2 {
            best = i;
        }
    }
    let (_, output, votes) = answers.swap_remove(best);
    Ok((output, f64::from(votes) / f64::from(samples)))
}

/// One answer: generate, parse, check; ask again with feedback up to `A::RETRIES` times.
async fn attempts<A: Agent>(
    runtime: &Runtime,
    base: &Prompt,
    seed_offset: u32,
    span: &tracing::Span,
) -> Result<(String, A::Output), Error> {
    let model = runtime.resolve(A::NAME, A::MODEL)?.clone();
    let backend = runtime.backend()?;
    let schema = crate::schema::output_schema::<A::Output>();
    tracing::debug!(schema = %schema, "output schema (the decoding grammar)");
    let mut tried: Vec<Attempt> = Vec::new();
    let (mut prompt_tokens, mut generated_tokens) = (0, 0);
    loop {
        let mut prompt = base.clone();
        for a in &tried {
            prompt.messages.push(Message {
                role: Role::Assistant,
                content: a.raw.clone(),
            });
            prompt.messages.push(Message {
                role: Role::User,
                content: format!(
                    "That answer was rejected: {}. Answer again, fixing that.",
                    a.problem
                ),
            });
        }
        let mut sampling = A::SAMPLING;
        sampling.seed = sampling
            .seed
            .wrapping_add(seed_offset)
            .wrapping_add(tried.len() as u32);
        let request = Request {
            agent: A::NAME,
            model: model.clone(),
            prompt,
            schema: schema.clone(),
            sampling,
        };
        let completion = backend.generate(request).await?;
        runtime.record(&completion);
        prompt_tokens += completion.prompt_tokens;
        generated_tokens += completion.generated_tokens;
        span.record("prompt_tokens", prompt_tokens);
        span.record("generated_tokens", generated_tokens);
        span.record("retries", tried.len());
        tracing::debug!(output = %completion.text, attempt = tried.len() + 1, "model output");
        let failure = match crate::schema::parse_output::<A::Output>(A::NAME, &completion.text) {
            Ok(output) => match A::validate(&output) {
                Ok(()) => return Ok((completion.text, output)),
                Err(problem) => Error::Invalid {
                    agent: A::NAME.to_string(),
                    problem,
                    raw: completion.text,
                },
            },
            Err(e) => e,
        };
        let problem = match &failure {
            Error::Invalid { problem, .. } => problem.clone(),
            Error::Parse { reason, .. } => {
                format!("it is not valid JSON for the requested shape ({reason})")
            }
            other => other.to_string(),
        };
        tracing::info!(attempt = tried.len() + 1, %problem, "output rejected");
        if A::RETRIES == 0 {
            return Err(failure);
        }
        let raw = match failure {
            Error::Invalid { raw, .. } | Error::Parse { raw, .. } => raw,
            _ => String::new(),
        };
        tried.push(Attempt { raw, problem });
        if tried.len() > A::RETRIES as usize {
            return Err(Error::Rejected {
                agent: A::NAME.to_string(),
                attempts: tried,
            });
        }
    }
}

/// Pre-flight for one agent: the problems that would stop it before it
/// generates anything. This is what the `Step::check` generated by `#[agent]` calls.
pub async fn check_agent<A: Agent>(_agent: &A, runtime: &Runtime) -> Vec<Problem> {
    let problem = |message: String| {
        vec![Problem {
            step: A::NAME.to_string(),
            message,
        }]
    };
    let model = match runtime.resolve(A::NAME, A::MODEL) {
        Ok(m) => m.clone(),
        Err(e) => return problem(e.to_string()),
    };
    let backend = match runtime.backend() {
        Ok(b) => b,
        Err(e) => return problem(e.to_string()),
    };
    // Few-shot examples are part of every prompt: they must load, and they
    // count against the context.
    let prompt = match Prompt::preamble::<A>() {
        Ok(p) => p,
        Err(e) => return problem(e.to_string()),
    };
    let request = Request {
        agent: A::NAME,
        model,
        prompt,
        schema: crate::schema::output_schema::<A::Output>(),
        sampling: A::SAMPLING,
    };
    match backend.check(&request).await {
        Ok(()) => Vec::new(),
        Err(e) => problem(e.to_string()),
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
            "# Models.\n[ models ]\nscreen = \"smollm2-135m\"\njudge = \"models/run #2/judge.gguf\" # a comment\nfinal = 'judge'\n",
        );
        let runtime = Runtime::builder()
            .manifest(dir.join("agentkit.toml"))
            .unwrap()
            .build();
        let path = |alias: &str| runtime.model(alias).map(|m| m.path.clone());
        let judge = dir.join("models/run #2/judge.gguf");
        assert_eq!(path("judge"), Some(judge.clone()));
        assert_eq!(path("final"), Some(judge));
        assert_eq!(path("screen"), path(DEFAULT_MODEL));
        assert_eq!(
            runtime.model("final").map(|m| m.alias.as_str()),
            Some("final")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn manifest_error(path: &Path) -> Error {
        match Runtime::builder().manifest(path) {
            Ok(_) => panic!("`{}` was accepted", path.display()),
            Err(e) => e,
        }
    }

    #[test]
    fn manifest_error_names_path_line_and_column() {
        let dir = manifest_dir(
            "syntax",
            "[models]\nscreen = \"smollm2-135m\"\njudge \"x.gguf\"\n",
        );
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
