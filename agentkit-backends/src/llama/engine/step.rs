//! One step: every running sequence's next tokens in one batch, one pass over
//! the weights, then each task advanced with its logits. Finished sequences
//! are answered and kept cached for their prefix (or freed).

use std::sync::Arc;
use std::time::Instant;

use agentkit::Error;
use llama_cpp_2::token::LlamaToken;

use super::slots::{Sequence, Slot};
use super::task::{Next, Stats};
use super::{reusable, Engine, ALIGN, BATCH, MIN_PIECE};
use crate::llama::errors::{caused, failure};

/// A sequence's place in the batch being built.
struct Placed {
    slot: usize,
    start: usize,
    count: usize,
}

impl Engine {
    /// One pass over the model: every running sequence advances. Finished
    /// ones are answered and cached (or freed).
    pub(in crate::llama) fn step(&mut self) {
        self.tend();
        let placed = match self.fill() {
            Ok(placed) => placed,
            Err(e) => return self.fail_all(&e.to_string()),
        };
        if placed.is_empty() {
            return;
        }
        let started = Instant::now();
        let decoded = self.ctx.decode(&mut self.batch);
        // One event per pass over the weights: where batched time goes.
        tracing::trace!(
            tokens = self.batch.n_tokens(),
            sequences = placed.len(),
            decode_ms = started.elapsed().as_secs_f64() * 1e3,
            "batch step"
        );
        if let Err(e) = decoded {
            // Every sequence of the batch fails with the same cause.
            let e = Arc::new(e);
            for p in &placed {
                let agent = self.agent(p.slot);
                let error = caused(agent, "llama.cpp failed to decode", Arc::clone(&e));
                self.finish(p.slot, Err(error));
            }
            return;
        }
        let nexts = self.advance(placed);
        for (slot, next) in nexts {
            match next {
                Next::Feed {
                    rewind_to,
                    tokens,
                    all_logits,
                } => self.feed(slot, rewind_to, tokens, all_logits),
                Next::Done => self.finish(slot, Ok(())),
                Next::Fail(e) => self.finish(slot, Err(e)),
            }
        }
    }

    /// Drops cancelled sequences and starts the ones whose shared prefix is
    /// now in the cache.
    fn tend(&mut self) {
        for slot in 0..self.slots.len() {
            let Slot::Busy(seq) = &self.slots[slot] else {
                continue;
            };
            if seq.job.is_cancelled() {
                tracing::debug!(agent = seq.job.agent, "cancelled; its cells are freed");
                self.clear(slot);
                continue;
            }
            let Some(wait) = seq.wait else {
                continue;
            };
            let copied = match &self.slots[wait.slot] {
                Slot::Busy(src) if src.id == wait.id => {
                    if src.tokens.len() < wait.upto {
                        continue;
                    }
                    wait.upto
                }
                // Finished: it holds all it will ever hold (its prompt).
                Slot::Cached { id, tokens, .. } if *id == wait.id => {
                    reusable(tokens.len(), seq.job.prompt.len()).min(wait.upto)
                }
                // The source is gone (cancelled or evicted): evaluate in full.
                _ => 0,
            };
            let copied = if copied > 0 {
                self.ctx.copy_cells(wait.slot, slot, copied)
            } else {
                0
            };
            if let Slot::Busy(seq) = &mut self.slots[slot] {
                seq.wait = None;
                seq.tokens = seq.job.prompt[..copied].to_vec();
                seq.reused = copied;
                seq.feed = seq.job.prompt[copied..].to_vec();
            }
        }
    }

    /// Fills the batch: first the sequences past their prompt (one decode
    /// step each, or a short scoring feed), then prompt chunks in order of
    /// admission, up to [`BATCH`] tokens.
    fn fill(&mut self) -> Result<Vec<Placed>, Error> {
        self.batch.clear();
        let mut placed = Vec::new();
        for (slot, count) in self.pick() {
            let Slot::Busy(seq) = &self.slots[slot] else {
                continue;
            };
            let start = self.batch.n_tokens() as usize;
            let base = seq.tokens.len();
            for (k, token) in seq.feed[..count].iter().enumerate() {
                let last = k + 1 == seq.feed.len();
                let logits = seq.all_logits || last;
                self.batch
                    .add(*token, (base + k) as i32, &[slot as i32], logits)
                    .map_err(|e| caused(seq.job.agent, "could not fill the batch", e))?;
            }
            placed.push(Placed { slot, start, count });
        }
        Ok(placed)
    }

    /// Which sequences feed how many tokens this step, in batch order.
    fn pick(&mut self) -> Vec<(usize, usize)> {
        let mut order: Vec<(bool, u64, usize)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s {
                Slot::Busy(seq) if seq.wait.is_none() && !seq.feed.is_empty() => {
                    Some((seq.prompt_done.is_none(), seq.id, i))
                }
                _ => None,
            })
            .collect();
        order.sort_unstable();
        if !self.config.unified {
            order = self.one_kind(order);
        }
        let mut picked: Vec<(usize, usize)> = Vec::new();
        let mut room = BATCH;
        for (_, _, slot) in order {
            let Slot::Busy(seq) = &self.slots[slot] else {
                continue;
            };
            let count = if seq.all_logits {
                // Logits of every token are read together: all or nothing.
                if seq.feed.len() > room {
                    continue;
                }
                seq.feed.len()
            } else {
                piece(seq.tokens.len(), seq.feed.len(), room)
            };
            if room == 0 {
                break;
            }
            if count == 0 {
                continue;
            }
            room -= count;
            picked.push((slot, count));
        }
        if !self.config.unified {
            // With a stream per sequence, llama.cpp splits a batch into
            // passes of consecutive sequence ids in batch order: in slot
            // order, the sequences of one step share as few passes as can be.
            picked.sort_unstable();
        }
        picked
    }

    /// With a stream per sequence: either every one-token feed (decode
    /// steps) or the first longer one (a prompt chunk or a scoring feed)
    /// alone, taking turns. llama.cpp splits a batch over several streams
    /// into equal shares per sequence, which would cut a prompt riding with
    /// decode steps into a one-token piece and the rest, pieces it never has
    /// in a context of its own, and greedy outputs then flipped (7 of 8
    /// identical instead of 8 in the batching benchmark); alone, a longer
    /// feed is evaluated in the same pieces as in a context of its own.
    ///
    /// A feed of a task that shares passes (see
    /// [`Task::shares_passes`](super::task::Task::shares_passes)) takes every
    /// other such feed of the same length with it, each still whole (with
    /// unequal lengths a one-token piece appeared, and the flagship's scored
    /// answers then differed from run to run). Those feeds wait while a
    /// prompt is pending, so that calls arriving together reach their
    /// options together and line up.
    fn one_kind(&mut self, order: Vec<(bool, u64, usize)>) -> Vec<(bool, u64, usize)> {
        let single = |&(_, _, slot): &(bool, u64, usize)| self.feed_len(slot) == 1;
        let (singles, longer): (Vec<_>, Vec<_>) = order.into_iter().partition(single);
        let sharing =
            |&(pending, _, slot): &(bool, u64, usize)| !pending && self.shares_passes(slot);
        let Some(first) = longer
            .iter()
            .find(|f| !sharing(f))
            .or_else(|| longer.first())
            .copied()
        else {
            return singles;
        };
        let longer = if self.shares_passes(first.2) {
            let len = self.feed_len(first.2);
            longer
                .into_iter()
                .filter(|&(_, _, slot)| self.shares_passes(slot) && self.feed_len(slot) == len)
                .collect()
        } else {
            vec![first]
        };
        if singles.is_empty() {
            return longer;
        }
        self.longer_turn = !self.longer_turn;
        if self.longer_turn {
            longer
        } else {
            singles
        }
    }

    /// How many tokens `slot` has to feed.
    fn feed_len(&self, slot: usize) -> usize {
        match &self.slots[slot] {
            Slot::Busy(seq) => seq.feed.len(),
            _ => 0,
        }
    }

    /// Whether `slot` runs a task whose feeds may share a pass.
    fn shares_passes(&self, slot: usize) -> bool {
        match &self.slots[slot] {
            Slot::Busy(seq) => seq.job.task.shares_passes(),
            _ => false,
        }
    }

    /// Moves what each placed sequence fed into its cells and, for those
    /// whose feed is done, hands the task its logits.
    fn advance(&mut self, placed: Vec<Placed>) -> Vec<(usize, Next)> {
        let mut nexts = Vec::new();
        for p in placed {
            let Slot::Busy(seq) = &mut self.slots[p.slot] else {
                continue;
            };
            let fed: Vec<LlamaToken> = seq.feed.drain(..p.count).collect();
            seq.tokens.extend(fed);
            if !seq.feed.is_empty() {
                continue;
            }
            if seq.prompt_done.is_none() {
                seq.prompt_done = Some(Instant::now());
            }
            let first_row = if seq.all_logits {
                p.start
            } else {
                p.start + p.count - 1
            };
            let rows: Vec<&[f32]> = (first_row..p.start + p.count)
                .map(|i| self.ctx.logits(i))
                .collect();
            nexts.push((p.slot, seq.job.task.advance(&rows, self.ctx.model())));
        }
        nexts
    }

    /// Sets what `slot` evaluates next, rewinding it first where asked.
    fn feed(
        &mut self,
        slot: usize,
        rewind_to: Option<usize>,
        tokens: Vec<LlamaToken>,
        all_logits: bool,
    ) {
        if let Some(to) = rewind_to {
            self.ctx.forget(slot, to);
        }
        let Slot::Busy(seq) = &mut self.slots[slot] else {
            return;
        };
        if let Some(to) = rewind_to {
            seq.tokens.truncate(to);
        }
        if all_logits && tokens.len() > BATCH {
            let agent = seq.job.agent;
            let error = failure(agent, "scoring", "an option is too long");
            return self.finish(slot, Err(error));
        }
        seq.feed = tokens;
        seq.all_logits = all_logits;
    }

    fn fail_all(&mut self, reason: &str) {
        for slot in 0..self.slots.len() {
            if matches!(self.slots[slot], Slot::Busy(_)) {
                let agent = self.agent(slot);
                self.finish(slot, Err(failure(agent, "batching", reason)));
            }
        }
    }

    /// Answers the request in `slot` and keeps its cells for prefix reuse
    /// (or frees them).
    fn finish(&mut self, slot: usize, result: Result<(), Error>) {
        let Slot::Busy(seq) = std::mem::replace(&mut self.slots[slot], Slot::Free) else {
            return;
        };
        let Sequence {
            id,
            job,
            tokens,
            reused,
            admitted,
            prompt_done,
            ..
        } = *seq;
        let now = Instant::now();
        let prompt_done = prompt_done.unwrap_or(now);
        let failed = result.is_err();
        let stats = Stats {
            prompt_tokens: job.prompt.len(),
            reused,
            prompt_time: prompt_done - admitted,
            generate_time: now - prompt_done,
        };
        job.finish(result, stats);
        if self.config.keep_prefixes && !failed && !tokens.is_empty() {
            // The output's cells are kept too: freeing them would leave holes
            // that running sequences fill out of position order, which makes
            // llama.cpp's attention round differently (more flipped tokens).
            let used = self.tick();
            self.slots[slot] = Slot::Cached { id, tokens, used };
        } else {
            self.ctx.forget(slot, 0);
        }
    }
}

/// How many tokens of a feed `len` long, after the `base` a sequence holds,
/// go in a pass with `room` left: all when they fit, else as many as fit up
/// to a cut point ([`ALIGN`]) with [`MIN_PIECE`] tokens or more either
/// side; 0 when the feed waits for the next pass.
pub(super) fn piece(base: usize, len: usize, room: usize) -> usize {
    if len <= room {
        return len;
    }
    let end = (base + room.min(len.saturating_sub(MIN_PIECE))) / ALIGN * ALIGN;
    let take = end.saturating_sub(base);
    if take < MIN_PIECE {
        0
    } else {
        take
    }
}
