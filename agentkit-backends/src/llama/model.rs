//! A GGUF file loaded once, with what every call on it shares: its chat
//! template, its grammar engine and its warm contexts.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use agentkit::{Error, Request};
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;
use llguidance::{Matcher, ParserFactory};
use serde_json::Value;

use super::chat::ChatTemplate;
use super::pool::{ContextPool, Lease};
use super::{grammar, LlamaConfig, Shared};

/// A loaded model and what every call on it shares.
pub(super) struct LoadedModel {
    alias: String,
    path: PathBuf,
    /// Shared with every context of the model, each of which owns a clone.
    model: Arc<LlamaModel>,
    template: ChatTemplate,
    /// Built on first use, then shared by every grammar.
    factory: OnceLock<Result<Arc<ParserFactory>, String>>,
    pool: ContextPool,
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
        let template = ChatTemplate::resolve(&model, config.chat_template.as_deref());
        tracing::info!(
            model = %alias,
            path = %path.display(),
            gpu_layers = layers,
            load_ms = started.elapsed().as_millis() as u64,
            "loaded model"
        );
        Ok(LoadedModel {
            alias: alias.to_string(),
            path: path.to_path_buf(),
            model: Arc::new(model),
            template,
            factory: OnceLock::new(),
            pool: ContextPool::default(),
        })
    }

    /// The alias the model was registered under.
    pub(super) fn alias(&self) -> &str {
        &self.alias
    }

    /// The llama-cpp-2 model.
    pub(super) fn llama(&self) -> &LlamaModel {
        &self.model
    }

    /// Compiles `schema` into a token matcher for this model's vocabulary
    /// (see [`grammar::matcher`]).
    pub(super) fn matcher(&self, agent: &str, schema: &Value) -> Result<Matcher, Error> {
        let factory = self
            .factory
            .get_or_init(|| grammar::parser_factory(&self.model));
        let factory = factory.as_ref().map_err(|reason| Error::Backend {
            agent: agent.to_string(),
            reason: format!(
                "could not build the grammar engine for model `{}` ({}): {reason}",
                self.alias,
                self.path.display()
            ),
        })?;
        grammar::matcher(factory, agent, schema)
    }

    /// The tokens of `request`'s prompt, rendered through the chat template.
    pub(super) fn prompt_tokens(&self, request: &Request) -> Result<Vec<LlamaToken>, Error> {
        let text = self.template.render(&self.model, &self.alias, request)?;
        Ok(self.model.vocab().tokenize(text.as_bytes(), true, true))
    }

    /// The tokens of `text` inside a prompt (no BOS, no special tokens).
    pub(super) fn tokenize(&self, text: &str) -> Vec<LlamaToken> {
        self.model.vocab().tokenize(text.as_bytes(), false, false)
    }

    /// The context size for a call: the configured one, capped at what the
    /// model was trained on.
    pub(super) fn context_size(&self, configured: u32) -> usize {
        let trained = self.model.n_ctx_train();
        let n = if trained == 0 {
            configured
        } else {
            configured.min(trained)
        };
        n as usize
    }

    /// How many contexts of the model are kept warm right now.
    #[cfg(test)]
    pub(super) fn warm_contexts(&self) -> usize {
        self.pool.len()
    }

    /// A context whose cache holds `tokens` (see [`ContextPool::lease`]).
    pub(super) fn lease(
        &self,
        shared: &Shared,
        agent: &str,
        n_ctx: usize,
        tokens: &[LlamaToken],
        batch: &mut LlamaBatch,
    ) -> Result<Lease<'_>, Error> {
        self.pool
            .lease(shared, &self.model, agent, n_ctx, tokens, batch)
    }
}
