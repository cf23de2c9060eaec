//! A GGUF file loaded once, with what every call on it shares: its chat
//! template, its grammar engine and where its requests run (its batching
//! engine, or its warm contexts with batching off).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use agentkit::backend::{BackendError, Request};
use agentkit::Error;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;
use llguidance::{Matcher, ParserFactory};
use serde_json::Value;

use super::chat::ChatTemplate;
use super::engine::task::Job;
use super::engine::EngineConfig;
use super::pool::{EnginePool, Scheduler, WARM_CONTEXTS};
use super::{grammar, LlamaConfig, Shared};

/// The context size for a call on `model`: `configured`, capped at what
/// the model was trained on.
fn context_size(model: &LlamaModel, configured: u32) -> usize {
    let trained = model.n_ctx_train();
    let n = if trained == 0 {
        configured
    } else {
        configured.min(trained)
    };
    n as usize
}

/// The bytes of the KV cache `llama` gets once its engine runs under
/// `config`, with `context` cells per call: keys and values in f16, for
/// every layer's KV heads in every cell.
pub(super) fn kv_cache_bytes(
    llama: &LlamaModel,
    architecture: Option<&str>,
    config: &LlamaConfig,
    context: usize,
) -> u64 {
    let cells = if config.batching {
        (config.kv_size as usize).max(context)
    } else {
        context * WARM_CONTEXTS
    };
    let head_dim = architecture
        .and_then(|arch| {
            llama
                .meta_val_str(&format!("{arch}.attention.key_length"))
                .ok()
        })
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or_else(|| {
            let heads = u64::from(llama.n_head().max(1));
            u64::try_from(llama.n_embd()).unwrap_or(0) / heads
        });
    let per_cell = 2 * u64::from(llama.n_layer()) * u64::from(llama.n_head_kv()) * head_dim * 2;
    per_cell * cells as u64
}

/// A loaded model and what every call on it shares.
pub(super) struct LoadedModel {
    alias: String,
    path: PathBuf,
    /// Shared with every context of the model, each of which owns a clone.
    model: Arc<LlamaModel>,
    template: ChatTemplate,
    /// How long loading the weights took.
    load_time: Duration,
    /// Bytes its KV cache takes once its engine runs.
    kv_cache: u64,
    /// Requests on it queued or running.
    in_flight: Arc<AtomicUsize>,
    /// When it was last asked for, on the backend's clock (for unloading
    /// the least recently used first).
    last_used: AtomicU64,
    /// Built on first use, then shared by every grammar.
    factory: OnceLock<Result<Arc<ParserFactory>, String>>,
    /// The batching engine, started on first use.
    scheduler: Mutex<Option<Scheduler>>,
    /// Engines of one sequence each, with batching off.
    pool: EnginePool,
}

impl LoadedModel {
    /// Loads the GGUF file at `path`, registered as `alias`.
    pub(super) fn load(
        backend: &LlamaBackend,
        alias: &str,
        path: &Path,
        config: &LlamaConfig,
    ) -> Result<LoadedModel, Error> {
        let started = Instant::now();
        let layers = config.gpu_layer_count(backend.supports_gpu_offload());
        let params = LlamaModelParams::default().with_n_gpu_layers(layers);
        let model =
            LlamaModel::load_from_file(backend, path, &params).map_err(|e| Error::ModelLoad {
                alias: alias.to_string(),
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        let load_time = started.elapsed();
        let template = ChatTemplate::resolve(&model, alias, config.chat_template.as_deref());
        let context = context_size(&model, config.context_size);
        let architecture = model.meta_val_str("general.architecture").ok();
        let kv_cache = kv_cache_bytes(&model, architecture.as_deref(), config, context);
        tracing::info!(
            model = %alias,
            path = %path.display(),
            gpu_layers = layers,
            load_ms = load_time.as_millis() as u64,
            "loaded model"
        );
        Ok(LoadedModel {
            alias: alias.to_string(),
            path: path.to_path_buf(),
            model: Arc::new(model),
            template,
            load_time,
            kv_cache,
            in_flight: Arc::new(AtomicUsize::new(0)),
            last_used: AtomicU64::new(0),
            factory: OnceLock::new(),
            scheduler: Mutex::new(None),
            pool: EnginePool::default(),
        })
    }

    /// The llama-cpp-2 model.
    pub(super) fn llama(&self) -> &LlamaModel {
        &self.model
    }

    /// The alias the model was loaded under, its file, its chat template and
    /// how long loading took: what its report reads.
    pub(super) fn parts(&self) -> (&str, &Path, &ChatTemplate, Duration) {
        (&self.alias, &self.path, &self.template, self.load_time)
    }

    /// Compiles `schema` into a token matcher for this model's vocabulary
    /// (see [`grammar::matcher`]).
    pub(super) fn matcher(&self, agent: &str, schema: &Value) -> Result<Matcher, Error> {
        let factory = self
            .factory
            .get_or_init(|| grammar::parser_factory(&self.model));
        let factory = factory.as_ref().map_err(|reason| {
            Error::backend(
                agent,
                BackendError::new(format!(
                    "could not build the grammar engine for model `{}` ({}): {reason}",
                    self.alias,
                    self.path.display()
                )),
            )
        })?;
        grammar::matcher(factory, agent, schema)
    }

    /// The tokens of `request`'s prompt, rendered through the chat template.
    pub(super) fn prompt_tokens(&self, request: &Request) -> Result<Vec<LlamaToken>, Error> {
        let mut text = self.template.render(&self.model, &self.alias, request)?;
        if let Some(reasoning) = &request.sampling.reasoning {
            text = super::think::open(text, reasoning);
        }
        Ok(self.model.vocab().tokenize(text.as_bytes(), true, true))
    }

    /// `request`'s prompt through the chat template, and through llama.cpp's
    /// built-in list where the template is Jinja.
    pub(super) fn rendered_prompts(
        &self,
        request: &Request,
    ) -> Result<(String, Option<Result<String, String>>), Error> {
        let ours = self.template.render(&self.model, &self.alias, request)?;
        Ok((ours, self.template.render_builtin(&self.model, request)))
    }

    /// The tokens of `text` inside a prompt (no BOS, no special tokens).
    pub(super) fn tokenize(&self, text: &str) -> Vec<LlamaToken> {
        self.model.vocab().tokenize(text.as_bytes(), false, false)
    }

    /// Where the tokens of `text` start, as byte offsets (see
    /// `Backend::token_offsets`); `None` where the pieces do not add up to
    /// `text`. A boundary inside a character (a byte-level vocabulary splits
    /// some) is left out: the piece breaks at the next one.
    pub(super) fn token_offsets(&self, text: &str) -> Option<Vec<usize>> {
        let vocab = self.model.vocab();
        let mut offsets = Vec::new();
        let mut at = 0;
        for token in self.tokenize(text) {
            offsets.push(at);
            at += vocab.token_to_piece(token, false, None).len();
        }
        offsets.retain(|&o| text.is_char_boundary(o));
        (at == text.len()).then_some(offsets)
    }

    /// Whether a prompt of `prompt_tokens` plus the `reserve` tokens a task
    /// may add fits a context of `n_ctx`; else the input's error, naming the
    /// sizes.
    pub(super) fn fits(
        &self,
        agent: &str,
        prompt_tokens: usize,
        reserve: usize,
        n_ctx: usize,
    ) -> Result<(), Error> {
        if prompt_tokens + reserve <= n_ctx {
            return Ok(());
        }
        Err(Error::ContextOverflow {
            agent: agent.to_string(),
            model: self.alias.clone(),
            prompt_tokens,
            max_tokens: u32::try_from(reserve).unwrap_or(u32::MAX),
            context: n_ctx,
            fields: Vec::new(),
            shortest: None,
        })
    }

    /// The context size for a call: the configured one, capped at what the
    /// model was trained on.
    pub(super) fn context_size(&self, configured: u32) -> usize {
        context_size(&self.model, configured)
    }

    /// Bytes of its weights and KV cache, as the memory cap counts them.
    pub(super) fn footprint(&self) -> u64 {
        self.model.size() + self.kv_cache
    }

    /// Bytes its KV cache takes once its engine runs.
    pub(super) fn kv_cache_bytes(&self) -> u64 {
        self.kv_cache
    }

    /// The counter of its requests queued or running.
    pub(super) fn in_flight(&self) -> &Arc<AtomicUsize> {
        &self.in_flight
    }

    /// Marks it used at `tick` of the backend's clock.
    pub(super) fn touch(&self, tick: u64) {
        self.last_used.store(tick, Ordering::Relaxed);
    }

    /// When it was last used, on the backend's clock.
    pub(super) fn last_used(&self) -> u64 {
        self.last_used.load(Ordering::Relaxed)
    }

    /// Runs `job`: queued on the model's batching engine (started on first
    /// use), or, with batching off, to its end on an engine of its own.
    pub(super) fn submit(&self, shared: &Shared, job: Job) -> Result<(), Error> {
        let config = &shared.config;
        let n_ctx = self.context_size(config.context_size);
        if !config.batching {
            let engine = EngineConfig {
                threads: config.thread_count(),
                slots: 1,
                kv_size: n_ctx,
                unified: true,
                flash_attention: config.flash_attention,
                keep_prefixes: config.reuse_prefix,
                budget: shared.budget.clone(),
            };
            return self.pool.run(shared.backend, &self.model, engine, job);
        }
        let mut scheduler = self.scheduler.lock().unwrap_or_else(|p| p.into_inner());
        let mut job = job;
        // Started on first use, and again if its thread has stopped.
        for _ in 0..2 {
            let running = match scheduler.as_ref() {
                Some(running) => running,
                None => {
                    let engine = EngineConfig {
                        threads: config.thread_count(),
                        slots: config.parallel.max(1),
                        kv_size: (config.kv_size as usize).max(n_ctx),
                        unified: config.unified_kv,
                        flash_attention: config.flash_attention,
                        keep_prefixes: config.reuse_prefix,
                        budget: shared.budget.clone(),
                    };
                    scheduler.insert(Scheduler::start(
                        shared.backend,
                        Arc::clone(&self.model),
                        engine,
                        &self.alias,
                    )?)
                }
            };
            match running.submit(job) {
                Ok(()) => return Ok(()),
                Err(returned) => {
                    tracing::warn!(model = %self.alias, "the batching thread had stopped; starting it again");
                    *scheduler = None;
                    job = returned;
                }
            }
        }
        Err(Error::backend(
            job.agent,
            BackendError::new(format!(
                "the batching engine of model `{}` keeps stopping",
                self.alias
            )),
        ))
    }
}
