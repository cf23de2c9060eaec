//! llama.cpp in-process, with grammar-constrained decoding.
//!
//! [`Llama`] implements [`agentkit::Backend`]. It loads each GGUF file once and
//! shares it between agents and tasks, runs every generation on a blocking
//! thread, and restricts every sampled token with an llguidance grammar
//! compiled from the output type's JSON schema, so the text it returns always
//! matches that schema (or the call fails with a typed error).
//!
//! ```no_run
//! use agentkit::prelude::*;
//! use agentkit_backends::llama::{Llama, LlamaConfig};
//!
//! # fn main() -> Result<(), agentkit::Error> {
//! let runtime = Runtime::builder()
//!     .backend(Llama::new(LlamaConfig::default())?)
//!     .model("qwen-1.5b", "/models/qwen2.5-1.5b-instruct-q4_k_m.gguf")
//!     .build();
//! # Ok(()) }
//! ```

mod backend;
mod budget;
mod chat;
mod config;
mod decode;
mod defaults;
mod engine;
mod errors;
mod grammar;
mod model;
mod pool;
mod report;
mod resident;
mod score;
mod shortest;
mod think;
mod think_first;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use agentkit::backend::{BackendError, Completion, Deltas, ModelSpec, Request};
use agentkit::Error;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::token::LlamaToken;

pub use config::LlamaConfig;
use decode::{Constraint, Generate};
pub use defaults::{
    default_model, default_model_path, known_model, models_dir, DEFAULT_MODEL, DEFAULT_MODEL_FILE,
    FETCH_COMMAND, KNOWN_MODELS,
};
use engine::task::{Answer, Job, Running, Task};
use errors::failure;
use model::LoadedModel;

/// The llama.cpp backend. Cheap to clone; clones share loaded models.
#[derive(Clone)]
pub struct Llama {
    shared: Arc<Shared>,
}

struct Shared {
    backend: &'static LlamaBackend,
    config: LlamaConfig,
    models: Mutex<resident::Resident>,
    loads: AtomicUsize,
    /// Requests submitted and not yet answered or cleared away.
    active: Arc<AtomicUsize>,
    /// The threads all models' engines share, where they share them.
    budget: Option<Arc<budget::ThreadBudget>>,
}

impl std::fmt::Debug for Llama {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Llama")
            .field("config", &self.shared.config)
            .field("loads", &self.load_count())
            .finish()
    }
}

/// The process-wide llama.cpp backend, for code that uses `llama-cpp-2`
/// directly beside agentkit (llama.cpp allows one backend per process, and
/// every [`Llama`] shares this one).
///
/// For the workspace's benchmarks; hidden from the docs and not part of the
/// stable API (it may change or go in any release).
#[doc(hidden)]
pub fn llama_backend() -> Result<&'static LlamaBackend, Error> {
    process_backend(false)
}

/// llama.cpp allows one backend per process; every [`Llama`] shares it.
fn process_backend(logs: bool) -> Result<&'static LlamaBackend, Error> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    let backend = BACKEND.get_or_init(|| {
        llama_cpp_2::send_logs_to_tracing(
            llama_cpp_2::LogOptions::default().with_logs_enabled(logs),
        );
        LlamaBackend::init().map_err(|e| e.to_string())
    });
    backend
        .as_ref()
        .map_err(|reason| failure("", "llama.cpp failed to initialise", reason))
}

impl Llama {
    /// Starts the backend. Models are loaded on first use.
    pub fn new(config: LlamaConfig) -> Result<Llama, Error> {
        Ok(Llama {
            shared: Arc::new(Shared {
                backend: process_backend(config.llama_logs)?,
                models: Mutex::new(resident::Resident::default()),
                loads: AtomicUsize::new(0),
                active: Arc::new(AtomicUsize::new(0)),
                budget: config
                    .share_threads
                    .then(|| Arc::new(budget::ThreadBudget::new(config.thread_count() as usize))),
                config,
            }),
        })
    }

    /// How many requests (generations and scored choices) are queued or
    /// running right now. Drops to zero promptly when the futures awaiting
    /// them are dropped.
    pub fn active_generations(&self) -> usize {
        self.shared.active.load(Ordering::SeqCst)
    }

    /// How many model files this backend has loaded from disk so far. Each
    /// file is loaded once, however many agents and tasks use it.
    pub fn load_count(&self) -> usize {
        self.shared.loads.load(Ordering::SeqCst)
    }

    /// How many models were unloaded so far to stay under
    /// [`LlamaConfig::memory_limit`].
    pub fn unload_count(&self) -> usize {
        self.shared
            .models
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .unloads
    }

    /// The files of the models loaded now, sorted.
    pub fn loaded_models(&self) -> Vec<PathBuf> {
        self.shared
            .models
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .paths()
    }

    /// Loads `model` now (if it is not loaded yet) instead of on first use,
    /// e.g. to fail fast at start-up or to time the load.
    pub async fn preload(&self, model: &ModelSpec) -> Result<(), Error> {
        let this = self.clone();
        let model = model.clone();
        run_blocking("", move || this.model(&model).map(|_| ())).await
    }

    fn model(&self, spec: &ModelSpec) -> Result<Arc<LoadedModel>, Error> {
        let Some(path) = spec.path() else {
            return Err(Error::backend(
                "",
                BackendError::configuration(format!(
                    "model `{}` is served by endpoints, and the llama.cpp backend runs GGUF files \
                     in-process; run it with `agentkit_backends::server::Router`, which sends \
                     served models to their servers",
                    spec.alias
                )),
            ));
        };
        let mut models = self.shared.models.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = models.get(path) {
            return Ok(m);
        }
        if !path.is_file() {
            return Err(Error::ModelNotFound {
                alias: spec.alias.clone(),
                path: path.to_path_buf(),
                fix: defaults::missing_file_fix(spec),
            });
        }
        let limit = self.shared.config.memory_limit;
        if let Some(limit) = limit {
            // The file's size stands for its weights until they are loaded.
            let incoming = std::fs::metadata(path).map_or(0, |m| m.len());
            models.make_room(limit, incoming, path);
        }
        let loaded = Arc::new(LoadedModel::load(
            self.shared.backend,
            &spec.alias,
            path,
            &self.shared.config,
        )?);
        self.shared.loads.fetch_add(1, Ordering::SeqCst);
        models.insert(path.to_path_buf(), Arc::clone(&loaded));
        if let Some(limit) = limit {
            models.make_room(limit, 0, path);
        }
        Ok(loaded)
    }
}

/// Runs blocking llama.cpp work off the async executor.
async fn run_blocking<T: Send + 'static>(
    agent: &str,
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| errors::caused(agent, "the generation thread failed", e))?
}

/// Sets the flag when dropped, so a generation whose future was dropped stops
/// at its next token instead of running to `max_tokens` unobserved.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Llama {
    /// Generates for `request` **without** the grammar: the output is whatever
    /// the model writes and may not parse. For benchmarks and comparisons (how
    /// much the constraint costs, how a model behaves unconstrained); agents
    /// never take this path.
    ///
    /// Hidden from the docs and not part of the stable API (it may change or
    /// go in any release).
    #[doc(hidden)]
    pub async fn generate_unconstrained(&self, request: Request) -> Result<Completion, Error> {
        self.run(request, Constraint::Free, None).await
    }

    /// `request`'s prompt as agentkit renders it (through the model's Jinja
    /// template) and as llama.cpp's built-in list renders the same template
    /// (`None` where the model has no Jinja template to guess from), to
    /// check that the two agree on a model.
    ///
    /// Hidden from the docs and not part of the stable API (it may change or
    /// go in any release).
    #[doc(hidden)]
    pub async fn rendered_prompts(
        &self,
        request: Request,
    ) -> Result<(String, Option<Result<String, String>>), Error> {
        let this = self.clone();
        run_blocking(request.agent, move || {
            let model = this.model(&request.model)?;
            model.rendered_prompts(&request)
        })
        .await
    }

    async fn run(
        &self,
        request: Request,
        constraint: Constraint,
        deltas: Option<Deltas>,
    ) -> Result<Completion, Error> {
        let fast_forward = self.shared.config.fast_forward;
        self.submit(request, move |model, request, n_ctx, prompt, answer| {
            let max_tokens = think::reserve(request);
            model.fits(request.agent, prompt.len(), max_tokens, n_ctx)?;
            let generate = Generate::new(
                model,
                request,
                prompt,
                constraint,
                fast_forward,
                deltas,
                answer,
            )?;
            Ok((Box::new(generate) as Box<dyn Task>, max_tokens))
        })
        .await
    }

    /// Runs one request on its model: the prompt rendered and tokenized, the
    /// task made by `task` (given the model, the request, the context size,
    /// the prompt and where its answer goes; it returns the task and the
    /// tokens it may add), then queued on the model's engine. Dropping the
    /// future cancels the request at the engine's next step.
    async fn submit<T: Send + 'static>(
        &self,
        request: Request,
        task: impl FnOnce(
                &LoadedModel,
                &Request,
                usize,
                &[LlamaToken],
                Answer<T>,
            ) -> Result<(Box<dyn Task>, usize), Error>
            + Send
            + 'static,
    ) -> Result<T, Error> {
        let agent = request.agent;
        let cancelled = Arc::new(AtomicBool::new(false));
        let _guard = CancelOnDrop(Arc::clone(&cancelled));
        let (reply, answer) = Answer::channel();
        let this = self.clone();
        run_blocking(agent, move || {
            let running = Running::new(&this.shared.active);
            let model = this.model(&request.model)?;
            let running = running.also(model.in_flight());
            let prompt = model.prompt_tokens(&request)?;
            if prompt.is_empty() {
                return Err(failure(agent, "the prompt", "tokenized to nothing"));
            }
            let n_ctx = model.context_size(this.shared.config.context_size);
            let (task, reserve) = task(&model, &request, n_ctx, &prompt, reply)?;
            let job = Job {
                agent,
                prompt,
                reserve,
                task,
                cancelled,
                running,
            };
            model.submit(&this.shared, job)
        })
        .await?;
        answer.await.map_err(|_| {
            failure(
                agent,
                "the request",
                "was dropped by the engine without an answer",
            )
        })?
    }
}
