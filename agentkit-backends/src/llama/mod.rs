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

mod chat;
mod decode;
mod defaults;
mod engine;
#[cfg(any(test, feature = "testing"))]
pub mod fixture;
mod grammar;
mod model;
mod pool;
mod score;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use agentkit::stream::Deltas;
use agentkit::{Backend, Choice, Completion, Error, ModelSpec, Request};
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::token::LlamaToken;
use tokio::sync::oneshot;

use decode::{Constraint, Generate};
pub use defaults::{default_model, models_dir, DEFAULT_MODEL, DEFAULT_MODEL_FILE, FETCH_COMMAND};
use engine::{Job, Reply, Running, Task};
use model::LoadedModel;
use score::Score;

/// Settings for the llama.cpp backend.
#[derive(Debug, Clone)]
pub struct LlamaConfig {
    /// Threads for decoding and prompt evaluation. `None`: the number of
    /// available cores. llama.cpp's own default (4) crawls on a 2-core machine.
    pub threads: Option<usize>,
    /// Context size in tokens for each call (capped at what the model was trained on).
    pub context_size: u32,
    /// A chat template to use instead of the one stored in the GGUF (a Jinja
    /// template string, or a name llama.cpp knows such as `"chatml"`).
    pub chat_template: Option<String>,
    /// Whether llama.cpp's own log lines are forwarded to `tracing` (at their
    /// level) instead of being dropped.
    pub llama_logs: bool,
    /// Keep a context per model between calls and re-evaluate only the part
    /// of a prompt that differs from the previous one (on by default; off
    /// only to measure what it saves).
    pub reuse_prefix: bool,
    /// How many of a model's layers to offload to the GPU. `None`: all of
    /// them when a GPU backend is compiled in (cargo features `cuda`, `metal`,
    /// `vulkan`), none on a CPU-only build. `Some(0)` keeps everything on the CPU.
    pub gpu_layers: Option<u32>,
    /// Decode concurrent requests for one model together, in one batch per
    /// step (continuous batching; on by default). Off, each call runs on a
    /// context of its own, as before batching: only for comparisons.
    pub batching: bool,
    /// With batching, how many requests to one model decode together at
    /// most; the next ones wait for a slot.
    pub parallel: usize,
    /// With batching, the KV cache of each model in tokens. With a stream
    /// per sequence (the default) each sequence gets `kv_size / parallel`
    /// cells (rounded up to a multiple of 256), and a request whose prompt
    /// plus `max_tokens` does not fit one stream fails with an error naming
    /// both settings; the default, 16384 over 8, gives each stream the
    /// default `context_size`. Unified, the cells are shared by all
    /// sequences (a shared prompt prefix counts once) and a request waits
    /// until it fits beside the running ones. At least `context_size`.
    pub kv_size: u32,
    /// With batching, whether a model's sequences share one KV cache
    /// (`true`) or each gets a stream of its own (`false`, the default).
    /// Unified, a sequence's attention spans the cells of every sequence in
    /// the cache (masked, but the kernels' summation order changes with the
    /// cache's layout and with who else is running, so greedy output can
    /// differ from the same call alone); with a stream each, it spans only
    /// its own cells, as in a context of its own, and a shared prompt prefix
    /// is copied from stream to stream. Unified needs fewer cells when many
    /// calls share a long prefix.
    pub unified_kv: bool,
    /// Whether llama.cpp computes attention with its fused flash-attention
    /// kernel (`Some(false)` by default; `None`: llama.cpp decides, which is
    /// on for the CPU). Its CPU kernel sums in a different order (split over
    /// the cache, or tiled) depending on how many tokens and sequences a
    /// batch holds, so a batched sequence can round differently from the
    /// same call alone. Off, attention is plain matrix products whose sums
    /// do not depend on the batch: with a stream per sequence, batched
    /// greedy output equals the output of the call alone.
    pub flash_attention: Option<bool>,
}

impl Default for LlamaConfig {
    fn default() -> Self {
        LlamaConfig {
            threads: None,
            context_size: 2048,
            chat_template: None,
            llama_logs: false,
            reuse_prefix: true,
            gpu_layers: None,
            batching: true,
            parallel: 8,
            kv_size: 16384,
            unified_kv: false,
            flash_attention: Some(false),
        }
    }
}

impl LlamaConfig {
    /// Sets the thread count.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads);
        self
    }

    /// Sets the context size.
    pub fn context_size(mut self, tokens: u32) -> Self {
        self.context_size = tokens;
        self
    }

    /// Sets a chat template that overrides the GGUF's own.
    pub fn chat_template(mut self, template: impl Into<String>) -> Self {
        self.chat_template = Some(template.into());
        self
    }

    /// Forwards llama.cpp's log lines to `tracing`.
    pub fn llama_logs(mut self, on: bool) -> Self {
        self.llama_logs = on;
        self
    }

    /// Turns KV prefix reuse on or off.
    pub fn reuse_prefix(mut self, on: bool) -> Self {
        self.reuse_prefix = on;
        self
    }

    /// Offloads `layers` layers of each model to the GPU (`0`: none; a number
    /// above the model's layer count: all of them). Without a GPU backend
    /// compiled in, llama.cpp runs everything on the CPU whatever this says.
    pub fn gpu_layers(mut self, layers: u32) -> Self {
        self.gpu_layers = Some(layers);
        self
    }

    /// Turns continuous batching on or off.
    pub fn batching(mut self, on: bool) -> Self {
        self.batching = on;
        self
    }

    /// Sets how many requests to one model decode together at most.
    pub fn parallel(mut self, sequences: usize) -> Self {
        self.parallel = sequences;
        self
    }

    /// Sets the KV cache size of each model in tokens (with batching).
    pub fn kv_size(mut self, tokens: u32) -> Self {
        self.kv_size = tokens;
        self
    }

    /// Shares one KV cache among a model's sequences (`true`) or gives each
    /// a stream of its own (`false`); see [`LlamaConfig::unified_kv`].
    pub fn unified_kv(mut self, on: bool) -> Self {
        self.unified_kv = on;
        self
    }

    /// Turns llama.cpp's flash attention on or off; see
    /// [`LlamaConfig::flash_attention`].
    pub fn flash_attention(mut self, on: bool) -> Self {
        self.flash_attention = Some(on);
        self
    }

    /// The layer count handed to llama.cpp: the configured one, else all
    /// layers where the build can offload and none where it cannot.
    fn gpu_layer_count(&self, can_offload: bool) -> u32 {
        match self.gpu_layers {
            Some(n) => n,
            None if can_offload => u32::MAX,
            None => 0,
        }
    }

    fn thread_count(&self) -> i32 {
        let n = self.threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(2)
        });
        i32::try_from(n.max(1)).unwrap_or(i32::MAX)
    }
}

/// The llama.cpp backend. Cheap to clone; clones share loaded models.
#[derive(Clone)]
pub struct Llama {
    shared: Arc<Shared>,
}

struct Shared {
    backend: &'static LlamaBackend,
    config: LlamaConfig,
    models: Mutex<HashMap<PathBuf, Arc<LoadedModel>>>,
    loads: AtomicUsize,
    /// Requests submitted and not yet answered or cleared away.
    active: Arc<AtomicUsize>,
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
/// For benchmarks: available with the `testing` feature, which is not part of
/// the stable API.
#[cfg(feature = "testing")]
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
    backend.as_ref().map_err(|reason| Error::Backend {
        agent: String::new(),
        reason: format!("llama.cpp failed to initialise: {reason}"),
    })
}

impl Llama {
    /// Starts the backend. Models are loaded on first use.
    pub fn new(config: LlamaConfig) -> Result<Llama, Error> {
        Ok(Llama {
            shared: Arc::new(Shared {
                backend: process_backend(config.llama_logs)?,
                config,
                models: Mutex::new(HashMap::new()),
                loads: AtomicUsize::new(0),
                active: Arc::new(AtomicUsize::new(0)),
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

    /// Loads `model` now (if it is not loaded yet) instead of on first use,
    /// e.g. to fail fast at start-up or to time the load.
    pub async fn preload(&self, model: &ModelSpec) -> Result<(), Error> {
        let this = self.clone();
        let model = model.clone();
        run_blocking("", move || this.model(&model).map(|_| ())).await
    }

    fn model(&self, spec: &ModelSpec) -> Result<Arc<LoadedModel>, Error> {
        let mut models = self.shared.models.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = models.get(&spec.path) {
            return Ok(Arc::clone(m));
        }
        if !spec.path.is_file() {
            return Err(Error::ModelNotFound {
                alias: spec.alias.clone(),
                path: spec.path.clone(),
                fix: defaults::missing_file_fix(spec),
            });
        }
        let loaded = Arc::new(LoadedModel::load(
            self.shared.backend,
            &spec.alias,
            &spec.path,
            &self.shared.config,
        )?);
        self.shared.loads.fetch_add(1, Ordering::SeqCst);
        models.insert(spec.path.clone(), Arc::clone(&loaded));
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
        .map_err(|e| Error::Backend {
            agent: agent.to_string(),
            reason: format!("the generation thread failed: {e}"),
        })?
}

/// A backend error of `agent`: `what` failed because of `e`.
fn backend_error(agent: &str, what: &str, e: impl std::fmt::Display) -> Error {
    Error::Backend {
        agent: agent.to_string(),
        reason: format!("{what}: {e}"),
    }
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
    /// Available with the `testing` feature, which is not part of the stable API.
    #[cfg(feature = "testing")]
    pub async fn generate_unconstrained(&self, request: Request) -> Result<Completion, Error> {
        self.run(request, Constraint::Free, None).await
    }

    async fn run(
        &self,
        request: Request,
        constraint: Constraint,
        deltas: Option<Deltas>,
    ) -> Result<Completion, Error> {
        let agent = request.agent;
        let reply = self
            .submit(request, move |model, request, n_ctx, prompt| {
                let max_tokens = request.sampling.max_tokens;
                if prompt.len() + max_tokens as usize > n_ctx {
                    return Err(Error::ContextOverflow {
                        agent: request.agent.to_string(),
                        model: model.alias().to_string(),
                        prompt_tokens: prompt.len(),
                        max_tokens,
                        context: n_ctx,
                    });
                }
                let generate = Generate::new(model, request, prompt, constraint, deltas)?;
                Ok((Task::Generate(Box::new(generate)), max_tokens as usize))
            })
            .await?;
        match reply {
            Reply::Completion(completion) => Ok(completion),
            Reply::Scores(_) => Err(backend_error(agent, "generation", "got scores back")),
        }
    }

    /// Runs one request on its model: the prompt rendered and tokenized, the
    /// task made by `task` (given the model, the request, the context size
    /// and the prompt's length; it returns the task and the tokens it may
    /// add), then queued on the model's engine. Dropping the future cancels
    /// the request at the engine's next step.
    async fn submit(
        &self,
        request: Request,
        task: impl FnOnce(&LoadedModel, &Request, usize, &[LlamaToken]) -> Result<(Task, usize), Error>
            + Send
            + 'static,
    ) -> Result<Reply, Error> {
        let agent = request.agent;
        let cancelled = Arc::new(AtomicBool::new(false));
        let _guard = CancelOnDrop(Arc::clone(&cancelled));
        let (reply, answer) = oneshot::channel();
        let this = self.clone();
        run_blocking(agent, move || {
            let running = Running::new(&this.shared.active);
            let model = this.model(&request.model)?;
            let prompt = model.prompt_tokens(&request)?;
            if prompt.is_empty() {
                return Err(backend_error(agent, "the prompt", "tokenized to nothing"));
            }
            let n_ctx = model.context_size(this.shared.config.context_size);
            let (task, reserve) = task(&model, &request, n_ctx, &prompt)?;
            let job = Job {
                agent,
                prompt,
                reserve,
                task,
                cancelled,
                reply,
                _running: running,
            };
            model.submit(&this.shared, job)
        })
        .await?;
        answer.await.map_err(|_| {
            backend_error(
                agent,
                "the request",
                "was dropped by the engine without an answer",
            )
        })?
    }
}

#[async_trait::async_trait]
impl Backend for Llama {
    /// The default model, [`DEFAULT_MODEL`], is known without registration.
    fn model(&self, alias: &str) -> Option<ModelSpec> {
        (alias == DEFAULT_MODEL).then(default_model)
    }

    async fn generate(&self, request: Request) -> Result<Completion, Error> {
        self.run(request, Constraint::Schema, None).await
    }

    /// Streams token by token: each token's text is sent as soon as it is
    /// sampled (held back only while it ends inside a UTF-8 character).
    async fn generate_streaming(
        &self,
        request: Request,
        deltas: Deltas,
    ) -> Result<Completion, Error> {
        self.run(request, Constraint::Schema, Some(deltas)).await
    }

    async fn choose(&self, request: Request, choices: Vec<Choice>) -> Result<Vec<Vec<f64>>, Error> {
        let agent = request.agent;
        let reply = self
            .submit(request, move |model, request, n_ctx, prompt| {
                let prompt = prompt.len();
                let (score, reserve) = Score::new(model, &choices, prompt);
                if prompt + reserve > n_ctx {
                    return Err(Error::ContextOverflow {
                        agent: request.agent.to_string(),
                        model: model.alias().to_string(),
                        prompt_tokens: prompt,
                        max_tokens: u32::try_from(reserve).unwrap_or(u32::MAX),
                        context: n_ctx,
                    });
                }
                Ok((Task::Score(Box::new(score)), reserve))
            })
            .await?;
        match reply {
            Reply::Scores(scores) => Ok(scores),
            Reply::Completion(_) => Err(backend_error(agent, "scoring", "got text back")),
        }
    }

    async fn check(&self, request: &Request) -> Result<(), Error> {
        let this = self.clone();
        let request = request.clone();
        run_blocking(request.agent, move || {
            let model = this.model(&request.model)?;
            decode::check(&this.shared, &model, &request)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::LlamaConfig;

    #[test]
    fn gpu_layers_default_to_all_only_where_the_build_can_offload() {
        let config = LlamaConfig::default();
        assert_eq!(config.gpu_layer_count(false), 0);
        assert_eq!(config.gpu_layer_count(true), u32::MAX);
    }

    #[test]
    fn configured_gpu_layers_win_either_way() {
        let config = LlamaConfig::default().gpu_layers(12);
        assert_eq!(config.gpu_layer_count(false), 12);
        assert_eq!(config.gpu_layer_count(true), 12);
        assert_eq!(
            LlamaConfig::default().gpu_layers(0).gpu_layer_count(true),
            0
        );
    }
}
