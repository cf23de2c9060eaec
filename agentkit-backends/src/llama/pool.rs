//! Warm contexts kept per model between calls, for KV prefix reuse.
//!
//! An agent's instructions, schema and examples are the same call after call,
//! so a context whose cache already holds them lets the next call evaluate
//! only the tokens that differ.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use agentkit::Error;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;

use super::decode::{evaluate, BATCH};
use super::{backend_error, Shared};

/// How many contexts a model keeps warm: one per call that may run at the
/// same time (`each(..).concurrency(n)`), so concurrent calls of one agent
/// all find their shared prefix cached.
pub(super) const WARM_CONTEXTS: usize = 4;

self_cell::self_cell!(
    /// A llama.cpp context together with the model it borrows. The cell owns
    /// an `Arc` of the model, so the borrow checker (through `self_cell`)
    /// proves the context never outlives it, whatever is dropped first.
    struct OwnedContext {
        owner: Arc<LlamaModel>,

        #[covariant]
        dependent: LlamaContext,
    }
);

/// A context kept between calls, with the prompt tokens whose keys and
/// values its cache holds.
struct Warm {
    ctx: OwnedContext,
    tokens: Vec<LlamaToken>,
}

/// The warm contexts of one model.
#[derive(Default)]
pub(super) struct ContextPool {
    warm: Mutex<Vec<Warm>>,
}

/// A context leased from a [`ContextPool`] for one call.
pub(super) struct Lease<'p> {
    ctx: OwnedContext,
    /// Prompt tokens already in the cache when the lease was taken.
    reused: usize,
    pool: &'p ContextPool,
}

fn common_prefix(a: &[LlamaToken], b: &[LlamaToken]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// A fresh context of `n_ctx` tokens on `model` with the configured thread count.
fn new_context(
    shared: &Shared,
    model: Arc<LlamaModel>,
    agent: &str,
    n_ctx: usize,
) -> Result<OwnedContext, Error> {
    let threads = shared.config.thread_count();
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(n_ctx as u32))
        .with_n_batch(BATCH as u32)
        .with_n_threads(threads)
        .with_n_threads_batch(threads);
    // llama-cpp-2 documents context creation as unsafe to run in parallel.
    let _serial = shared
        .context_lock
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    OwnedContext::try_new(model, |model| {
        model
            .new_context(shared.backend, params)
            .map_err(|e| backend_error(agent, "could not create a llama.cpp context", e))
    })
}

impl ContextPool {
    /// How many contexts are kept warm right now.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.warm.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// A context of `model` whose cache holds `tokens`, with logits for the
    /// last one in `batch`: a warm context, re-evaluating only the tokens
    /// after the prefix it shares with its last prompt, or a fresh one when
    /// the warm ones are all in use by other calls.
    pub(super) fn lease(
        &self,
        shared: &Shared,
        model: &Arc<LlamaModel>,
        agent: &str,
        n_ctx: usize,
        tokens: &[LlamaToken],
        batch: &mut LlamaBatch,
    ) -> Result<Lease<'_>, Error> {
        let warm = if shared.config.reuse_prefix {
            let mut pool = self.warm.lock().unwrap_or_else(|p| p.into_inner());
            // The kept context sharing the longest prefix with this prompt.
            let best = pool
                .iter()
                .enumerate()
                .max_by_key(|(_, w)| common_prefix(&w.tokens, tokens))
                .map(|(i, _)| i);
            best.map(|i| pool.swap_remove(i))
        } else {
            None
        };
        let (mut ctx, cached) = match warm {
            Some(w) if w.ctx.borrow_dependent().n_ctx() as usize == n_ctx => {
                let common = common_prefix(&w.tokens, tokens);
                // The last prompt token is always evaluated again: its logits are needed.
                (w.ctx, common.min(tokens.len().saturating_sub(1)))
            }
            _ => (new_context(shared, Arc::clone(model), agent, n_ctx)?, 0),
        };
        let reused = ctx.with_dependent_mut(|_, ctx| {
            let cleared = ctx
                .clear_kv_cache_seq(Some(0), Some(cached as u32), None)
                .map_err(|e| backend_error(agent, "could not rewind the KV cache", e))?;
            let reused = if cleared {
                cached
            } else {
                ctx.clear_kv_cache();
                0
            };
            evaluate(ctx, batch, &tokens[reused..], reused, agent)?;
            Ok::<_, Error>(reused)
        })?;
        Ok(Lease {
            ctx,
            reused,
            pool: self,
        })
    }
}

impl Lease<'_> {
    /// Prompt tokens that were already in the cache when the lease was taken.
    pub(super) fn reused(&self) -> usize {
        self.reused
    }

    /// Runs `work` on the leased context.
    pub(super) fn with_context<R>(&mut self, work: impl FnOnce(&mut LlamaContext<'_>) -> R) -> R {
        self.ctx.with_dependent_mut(|_, ctx| work(ctx))
    }

    /// Returns the context for the next call, remembering which prompt its
    /// cache holds (positions past the prompt are cleared on reuse).
    pub(super) fn keep(self, prompt: Vec<LlamaToken>, shared: &Shared) {
        if !shared.config.reuse_prefix {
            return;
        }
        let mut pool = self.pool.warm.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < WARM_CONTEXTS {
            pool.push(Warm {
                ctx: self.ctx,
                tokens: prompt,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::OnceLock;

    use llama_cpp_2::llama_batch::LlamaBatch;

    use super::WARM_CONTEXTS;
    use crate::llama::decode::BATCH;
    use crate::llama::model::LoadedModel;
    use crate::llama::{fixture, Llama, LlamaConfig};

    /// The fixture model, written once per test process.
    fn fixture_path() -> &'static PathBuf {
        static PATH: OnceLock<PathBuf> = OnceLock::new();
        PATH.get_or_init(|| {
            let dir = std::env::temp_dir().join(format!("agentkit-pool-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join("fixture.gguf");
            fixture::write_fixture_model(&path, 7).unwrap();
            path
        })
    }

    /// A backend and the fixture loaded on its own (so with a pool of its own).
    fn backend(reuse_prefix: bool) -> (Llama, LoadedModel) {
        let llama =
            Llama::new(LlamaConfig::default().threads(1).reuse_prefix(reuse_prefix)).unwrap();
        let shared = &llama.shared;
        let model =
            LoadedModel::load(shared.backend, "fixture", fixture_path(), &shared.config).unwrap();
        (llama, model)
    }

    #[test]
    fn up_to_four_contexts_stay_warm_and_each_keeps_its_prefix() {
        let (llama, model) = backend(true);
        let shared = &llama.shared;
        let n_ctx = model.context_size(shared.config.context_size);
        let prompts: Vec<_> = (0..WARM_CONTEXTS + 1)
            .map(|i| model.tokenize(&format!("prompt {i}: the same words, then {i}")))
            .collect();
        let mut batch = LlamaBatch::new(BATCH, 1);
        // All leased at once, as concurrent calls would: none finds a warm one.
        let leases: Vec<_> = prompts
            .iter()
            .map(|p| model.lease(shared, "Probe", n_ctx, p, &mut batch).unwrap())
            .collect();
        assert!(leases.iter().all(|l| l.reused() == 0));
        for (lease, prompt) in leases.into_iter().zip(&prompts) {
            lease.keep(prompt.clone(), shared);
        }
        assert_eq!(model.warm_contexts(), WARM_CONTEXTS, "the fifth is dropped");

        // Each kept prompt comes back to its own context.
        let leases: Vec<_> = prompts[..WARM_CONTEXTS]
            .iter()
            .map(|p| model.lease(shared, "Probe", n_ctx, p, &mut batch).unwrap())
            .collect();
        for (lease, prompt) in leases.iter().zip(&prompts) {
            assert_eq!(lease.reused(), prompt.len() - 1, "all but the last token");
        }
        assert_eq!(model.warm_contexts(), 0, "all four are leased");
        for (lease, prompt) in leases.into_iter().zip(&prompts) {
            lease.keep(prompt.clone(), shared);
        }

        // A prompt that extends a kept one reuses all of it.
        let mut longer = prompts[2].clone();
        longer.extend(model.tokenize(" and some more"));
        let lease = model
            .lease(shared, "Probe", n_ctx, &longer, &mut batch)
            .unwrap();
        assert_eq!(lease.reused(), prompts[2].len());
        lease.keep(longer, shared);
        assert_eq!(model.warm_contexts(), WARM_CONTEXTS);
    }

    #[test]
    fn without_prefix_reuse_nothing_is_kept() {
        let (llama, model) = backend(false);
        let shared = &llama.shared;
        let n_ctx = model.context_size(shared.config.context_size);
        let prompt = model.tokenize("the same prompt twice");
        let mut batch = LlamaBatch::new(BATCH, 1);
        for _ in 0..2 {
            let lease = model
                .lease(shared, "Probe", n_ctx, &prompt, &mut batch)
                .unwrap();
            assert_eq!(lease.reused(), 0);
            lease.keep(prompt.clone(), shared);
            assert_eq!(model.warm_contexts(), 0);
        }
    }
}
