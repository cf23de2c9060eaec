//! Admission: a waiting request becomes a sequence when a slot and its KV
//! cells are free, starting from the longest prompt prefix another sequence
//! holds (copied now, or once that sequence has evaluated it).

use std::time::Instant;

use agentkit::backend::BackendError;
use agentkit::Error;
use llama_cpp_2::token::LlamaToken;

use super::slots::{common_prefix, Sequence, Slot, Wait};
use super::task::{Job, Stats};
use super::{reusable, Engine};

/// How a new sequence starts.
enum Start {
    /// With these prompt tokens already in its cells.
    Held(Vec<LlamaToken>),
    /// Empty, waiting for another sequence to evaluate the shared prefix.
    Wait(Wait),
}

impl Engine {
    /// Starts `job` as a new sequence, or hands it back when there is no slot
    /// or not enough KV cells for it now. A job that could never fit is
    /// answered with an error instead. With no sequence running, every job
    /// that can fit at all is admitted.
    pub(in crate::llama) fn admit(&mut self, job: Job) -> Result<(), Job> {
        let need = job.cells();
        if need > self.capacity {
            let error = Error::backend(job.agent, self.too_big(need));
            job.finish(Err(error), Stats::default());
            return Ok(());
        }
        // With a stream per sequence, a slot comes with its cells.
        let (busy, _) = self.cells_in_use();
        if self.config.unified && busy + need > self.capacity {
            return Err(job);
        }
        let source = self.best_source(&job.prompt);
        let Some((slot, start)) = self.take_slot(source, &job.prompt) else {
            return Err(job);
        };
        self.make_room(slot, need);
        let (tokens, wait) = match start {
            Start::Held(tokens) => (tokens, None),
            Start::Wait(wait) => (Vec::new(), Some(wait)),
        };
        let feed = match wait {
            Some(_) => Vec::new(),
            None => job.prompt[tokens.len()..].to_vec(),
        };
        let id = self.tick();
        self.slots[slot] = Slot::Busy(Box::new(Sequence {
            id,
            reused: tokens.len(),
            tokens,
            feed,
            all_logits: false,
            wait,
            admitted: Instant::now(),
            prompt_done: None,
            job,
        }));
        Ok(())
    }

    /// What to tell a request that needs `need` cells, more than a sequence
    /// can ever have.
    fn too_big(&self, need: usize) -> BackendError {
        BackendError::configuration(if self.config.unified {
            format!(
                "the request needs up to {need} KV cells but the model's cache holds {}; \
                 raise LlamaConfig::kv_size or lower max_tokens",
                self.capacity
            )
        } else {
            format!(
                "the request needs up to {need} KV cells but each sequence's stream holds {} \
                 (LlamaConfig::kv_size {} over LlamaConfig::parallel {}); raise kv_size, \
                 lower parallel or max_tokens, or set unified_kv",
                self.capacity,
                self.config.kv_size,
                self.slots.len()
            )
        })
    }

    /// The slot sharing the longest prefix with `prompt` that can be reused
    /// ([`reusable`]: short of the last tokens, whose logits the new
    /// sequence computes, and ending where a cut changes no numbers), and
    /// that length.
    fn best_source(&self, prompt: &[LlamaToken]) -> Option<(usize, usize)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                Some((i, reusable(common_prefix(s.known()?, prompt), prompt.len())))
            })
            .filter(|(_, n)| *n > 0)
            .max_by_key(|(i, n)| (*n, std::cmp::Reverse(*i)))
    }

    /// A slot for a new sequence and how it starts: a free slot, else the
    /// cached `source` taken over, else the least recently used cached one
    /// emptied; `None` when every slot runs a sequence.
    fn take_slot(
        &mut self,
        source: Option<(usize, usize)>,
        prompt: &[LlamaToken],
    ) -> Option<(usize, Start)> {
        let takeover = source.filter(|(i, _)| matches!(self.slots[*i], Slot::Cached { .. }));
        let free = self.free_slot();
        if let (None, Some((s, n))) = (free, takeover) {
            return Some((s, Start::Held(self.take_over(s, n))));
        }
        let slot = match free {
            Some(f) => f,
            None => {
                let s = self.cached_to_evict(source.map(|(s, _)| s))?;
                self.clear(s);
                s
            }
        };
        let start = match source {
            Some((s, n)) => self.share(s, slot, n, prompt),
            None => Start::Held(Vec::new()),
        };
        Some((slot, start))
    }

    /// Takes over the cached sequence in `slot`, keeping its first `n`
    /// tokens (none where llama.cpp cannot cut it there).
    fn take_over(&mut self, slot: usize, n: usize) -> Vec<LlamaToken> {
        let tokens = match std::mem::replace(&mut self.slots[slot], Slot::Free) {
            Slot::Cached { tokens, .. } => tokens,
            _ => Vec::new(),
        };
        if n <= tokens.len() && self.ctx.forget(slot, n) {
            tokens[..n].to_vec()
        } else {
            self.ctx.forget(slot, 0);
            Vec::new()
        }
    }

    /// Shares the first `n` tokens of `prompt` from slot `from` with slot
    /// `to`: copied now if `from` holds them, else once it does.
    fn share(&mut self, from: usize, to: usize, n: usize, prompt: &[LlamaToken]) -> Start {
        let (held, id) = match &self.slots[from] {
            Slot::Busy(seq) => (seq.tokens.len(), seq.id),
            Slot::Cached { tokens, id, .. } => (tokens.len(), *id),
            Slot::Free => (0, 0),
        };
        if held >= n {
            let n = self.ctx.copy_cells(from, to, n);
            return Start::Held(prompt[..n].to_vec());
        }
        Start::Wait(Wait {
            slot: from,
            id,
            upto: n,
        })
    }

    /// Drops cached sequences, oldest first, until a sequence in `slot`
    /// needing `need` cells fits beside everything else (with a stream per
    /// sequence, everything does).
    fn make_room(&mut self, slot: usize, need: usize) {
        while self.config.unified {
            let (busy, cached) = self.cells_in_use();
            if busy + cached + need <= self.capacity {
                break;
            }
            match self.oldest_cached(Some(slot)) {
                Some(s) => self.clear(s),
                None => break,
            }
        }
    }
}
