//! What a [`Server`](super::Server) has done so far: counters its clones
//! share, read as one [`ServerStats`].

use std::sync::atomic::{AtomicU64, Ordering};

/// What a [`Server`](super::Server) backend has done so far, for reports and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// HTTP attempts made (a request that moved counts each attempt).
    pub attempts: u64,
    /// Attempts that failed and moved the request on (connection refused,
    /// timeout, 429, 5xx, a malformed body).
    pub moved: u64,
    /// Answers that broke the schema (the server did not constrain them).
    pub violations: u64,
}

/// The counters behind [`ServerStats`]. Relaxed: they are statistics, read
/// for reports, and order nothing.
#[derive(Debug, Default)]
pub(super) struct Counters {
    attempts: AtomicU64,
    moved: AtomicU64,
    violations: AtomicU64,
}

impl Counters {
    /// Counts an attempt and returns its number, from 1 (for its span).
    pub fn attempt(&self) -> u64 {
        self.attempts.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Takes back the attempt just counted: the endpoint could not serve
    /// the request, so nothing was sent to it.
    pub fn not_attempted(&self) {
        self.attempts.fetch_sub(1, Ordering::Relaxed);
    }

    /// Counts an attempt that failed and moved the request on.
    pub fn moved(&self) {
        self.moved.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an answer that broke the schema.
    pub fn violation(&self) {
        self.violations.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts so far.
    pub fn snapshot(&self) -> ServerStats {
        ServerStats {
            attempts: self.attempts.load(Ordering::Relaxed),
            moved: self.moved.load(Ordering::Relaxed),
            violations: self.violations.load(Ordering::Relaxed),
        }
    }
}
