//! Shared set-up for the examples: a runtime on the default local model.

use agentkit::{Error, Runtime};
use agentkit_backends::llama::{Llama, LlamaConfig};

/// A runtime whose backend is llama.cpp, with the built-in `smollm2-135m` alias.
/// Thread count comes from `AGENTKIT_THREADS`, else every available core.
pub fn local_runtime() -> Result<Runtime, Error> {
    let mut config = LlamaConfig::default();
    if let Some(n) = std::env::var("AGENTKIT_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        config = config.threads(n);
    }
    Ok(Runtime::builder().backend(Llama::new(config)?).build())
}
