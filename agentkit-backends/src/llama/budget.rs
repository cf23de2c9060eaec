//! The thread budget several models' engines can share
//! (`LlamaConfig::share_threads`): a pass over one model's weights takes its
//! threads from the budget and gives them back after, so models take turns
//! on the cores instead of decoding at once. Off by default: on 2 cores with
//! two models busy, taking turns measured 12% slower than running both.

use std::sync::{Condvar, Mutex};

/// Threads shared between engines, handed out first come, first served.
#[derive(Debug)]
pub(super) struct ThreadBudget {
    total: usize,
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// Threads not taken.
    free: usize,
    /// The ticket the next caller of `take` gets.
    next: u64,
    /// The ticket whose turn it is.
    serving: u64,
}

/// Threads taken from a [`ThreadBudget`], given back when dropped.
pub(super) struct Taken<'a> {
    budget: &'a ThreadBudget,
    threads: usize,
}

impl ThreadBudget {
    /// A budget of `total` threads (at least one).
    pub(super) fn new(total: usize) -> ThreadBudget {
        let total = total.max(1);
        ThreadBudget {
            total,
            state: Mutex::new(State {
                free: total,
                ..State::default()
            }),
            changed: Condvar::new(),
        }
    }

    /// Takes `threads` (at most the whole budget), waiting in arrival order
    /// until they are free.
    pub(super) fn take(&self, threads: usize) -> Taken<'_> {
        let threads = threads.clamp(1, self.total);
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let ticket = state.next;
        state.next += 1;
        while state.serving != ticket || state.free < threads {
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        state.free -= threads;
        state.serving += 1;
        self.changed.notify_all();
        Taken {
            budget: self,
            threads,
        }
    }
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        let mut state = self.budget.state.lock().unwrap_or_else(|p| p.into_inner());
        state.free += self.threads;
        self.budget.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[test]
    fn never_more_threads_out_than_the_budget_and_everyone_gets_a_turn() {
        let budget = Arc::new(ThreadBudget::new(2));
        let out = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let turns = Arc::new(AtomicUsize::new(0));
        let workers: Vec<_> = (0..4)
            .map(|i| {
                let (budget, out, peak, turns) =
                    (budget.clone(), out.clone(), peak.clone(), turns.clone());
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        // Some want both threads, some one; 3 is capped at 2.
                        let want = [2, 1, 3, 1][i];
                        let taken = budget.take(want);
                        let now = out.fetch_add(taken.threads, Ordering::SeqCst) + taken.threads;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_micros(200));
                        out.fetch_sub(taken.threads, Ordering::SeqCst);
                        turns.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        assert_eq!(turns.load(Ordering::SeqCst), 80);
        assert!(peak.load(Ordering::SeqCst) <= 2);
        assert_eq!(out.load(Ordering::SeqCst), 0);
    }
}
