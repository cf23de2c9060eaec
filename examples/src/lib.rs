//! Shared pieces of the examples: a runtime on the default local model and the
//! labelled forum corpus (`data/forum.jsonl`).

use std::path::PathBuf;

use agentkit::prelude::*;
use agentkit_backends::llama::{Llama, LlamaConfig};

pub mod forum;
pub mod progress;

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
