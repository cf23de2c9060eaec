//! The llama.cpp context an engine owns, and the operations on its KV cache
//! that the engine needs: forget a sequence's cells, copy a prefix of them.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use agentkit::Error;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::DecodeError;

use super::{EngineConfig, BATCH};
use crate::llama::budget::ThreadBudget;
use crate::llama::errors::caused;

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

/// llama-cpp-2 documents context creation as unsafe to run in parallel, in
/// the whole process.
static CONTEXT_LOCK: Mutex<()> = Mutex::new(());

/// One context on one model, with `slots` sequences.
pub(super) struct Context {
    cell: OwnedContext,
    unified: bool,
    /// Threads a pass takes, and the budget it takes them from.
    threads: usize,
    budget: Option<Arc<ThreadBudget>>,
}

impl Context {
    /// A fresh context on `model` for `slots` sequences, sized by `config`.
    pub(super) fn new(
        backend: &LlamaBackend,
        model: Arc<LlamaModel>,
        config: &EngineConfig,
        slots: usize,
    ) -> Result<Context, Error> {
        let kv = u32::try_from(config.kv_size.max(1)).unwrap_or(u32::MAX);
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(kv))
            .with_n_batch(BATCH as u32)
            .with_n_seq_max(u32::try_from(slots).unwrap_or(u32::MAX))
            .with_kv_unified(config.unified)
            .with_n_threads(config.threads)
            .with_n_threads_batch(config.threads);
        // llama.cpp's values: -1 lets it decide, 0 off, 1 on.
        let params = params.with_flash_attention_policy(match config.flash_attention {
            None => -1,
            Some(false) => 0,
            Some(true) => 1,
        });
        let _serial = CONTEXT_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let cell = OwnedContext::try_new(model, |model| {
            model
                .new_context(backend, params)
                .map_err(|e| caused("", "could not create a llama.cpp context", e))
        })?;
        Ok(Context {
            cell,
            unified: config.unified,
            threads: usize::try_from(config.threads).unwrap_or(1),
            budget: config.budget.clone(),
        })
    }

    /// KV cells of the whole context.
    pub(super) fn n_ctx(&self) -> usize {
        self.cell.borrow_dependent().n_ctx() as usize
    }

    /// The model the context runs.
    pub(super) fn model(&self) -> &LlamaModel {
        self.cell.borrow_owner()
    }

    /// The logits of the batch's `i`-th token.
    pub(super) fn logits(&self, i: usize) -> &[f32] {
        self.cell.borrow_dependent().get_logits_ith(i as i32)
    }

    /// One pass over the model for everything in `batch`, with its threads
    /// taken from the shared budget (waiting for them) where there is one.
    pub(super) fn decode(&mut self, batch: &mut LlamaBatch) -> Result<(), DecodeError> {
        let _threads = self.budget.as_ref().map(|b| b.take(self.threads));
        self.cell.with_dependent_mut(|_, ctx| ctx.decode(batch))
    }

    /// Removes the cells of sequence `slot` from position `from` on (all of
    /// them for 0). False where llama.cpp cannot cut a sequence in the middle.
    pub(super) fn forget(&mut self, slot: usize, from: usize) -> bool {
        let seq = u32::try_from(slot).ok();
        let from = u32::try_from(from).ok().filter(|f| *f > 0);
        self.cell
            .with_dependent_mut(|_, ctx| ctx.clear_kv_cache_seq(seq, from, None))
            .unwrap_or(false)
    }

    /// Gives sequence `to` the cells of the first `upto` positions of `from`;
    /// returns how many it got (`upto`, or 0 where the copy could not be
    /// trimmed).
    pub(super) fn copy_cells(&mut self, from: usize, to: usize, upto: usize) -> usize {
        let (Ok(src), Ok(dst), Ok(p1)) =
            (i32::try_from(from), i32::try_from(to), u32::try_from(upto))
        else {
            return 0;
        };
        if self.unified {
            self.cell.with_dependent_mut(|_, ctx| {
                // Only fails on positions beyond i32, excluded above.
                let _ = ctx.copy_kv_cache_seq(src, dst, Some(0), Some(p1));
            });
            return upto;
        }
        // Between streams llama.cpp copies whole streams only (a partial
        // range aborts the process): copy all of it, then cut the copy back
        // to the shared prefix. The data moves at the next decode, before
        // that batch writes anything.
        self.cell.with_dependent_mut(|_, ctx| {
            let _ = ctx.copy_kv_cache_seq(src, dst, None, None);
        });
        if self.forget(to, upto) {
            upto
        } else {
            self.forget(to, 0);
            0
        }
    }
}
