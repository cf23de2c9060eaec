//! Shared pieces of the examples: a runtime on the default local model and the
//! labelled forum corpus (`data/forum.jsonl`).

use std::path::PathBuf;

use agentkit::prelude::*;
use agentkit_backends::llama::{Llama, LlamaConfig};

pub mod forum;
pub mod gist;
pub mod progress;
pub mod search;
pub mod steps;
pub mod triage;

/// Thread count: `AGENTKIT_THREADS`, else every available core.
pub fn threads() -> Option<usize> {
    std::env::var("AGENTKIT_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
}

/// The llama.cpp backend with the configured thread count.
pub fn llama() -> Result<Llama, Error> {
    let mut config = LlamaConfig::default();
    if let Some(n) = threads() {
        config = config.threads(n);
    }
    Llama::new(config)
}

/// A runtime whose backend is llama.cpp, with the built-in `smollm2-135m` alias.
pub fn local_runtime() -> Result<Runtime, Error> {
    Ok(Runtime::builder().backend(llama()?).build())
}

/// Where the examples' data files are.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// How many word trigrams of `text` repeat an earlier one, and how many
/// there are: the measure of a draft that loops ("128GB RAM, 128GB RAM, ...").
pub fn repeated_trigrams(text: &str) -> (usize, usize) {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut seen = std::collections::HashSet::new();
    let mut repeated = 0;
    let trigrams = words.windows(3);
    let total = trigrams.len();
    for t in trigrams {
        if !seen.insert(t.join(" ").to_lowercase()) {
            repeated += 1;
        }
    }
    (repeated, total)
}

/// This process's peak resident memory (VmHWM) in KiB; 0 where
/// `/proc/self/status` cannot tell.
pub fn peak_memory_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
