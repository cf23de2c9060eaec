//! The runtime the pipeline runs on and the manifest that names its models.

use std::path::Path;

use agentkit::prelude::*;

/// A runtime for the pipeline: the aliases of [`manifest_path`] (every step
/// on SmolLM2-135M in-process unless edited), local ones on llama.cpp and
/// served ones (`alias = { endpoints = [...] }`) on their servers.
pub fn runtime() -> Result<Runtime, Error> {
    runtime_with(crate::llama()?)
}

/// The same, on a llama.cpp backend the caller keeps a handle to.
pub fn runtime_with(llama: agentkit_backends::llama::Llama) -> Result<Runtime, Error> {
    runtime_from(llama, &manifest_path())
}

/// The same, with the aliases of the manifest at `manifest`.
pub fn runtime_from(
    llama: agentkit_backends::llama::Llama,
    manifest: &Path,
) -> Result<Runtime, Error> {
    Ok(Runtime::builder()
        .backend(agentkit_backends::server::Router::new(llama))
        .manifest(manifest)?
        .build())
}

/// The manifest the pipeline runs with: `$AGENTKIT_MANIFEST`, else the
/// examples' `agentkit.toml`. Another manifest moves steps to servers
/// (`examples/agentkit.server.toml` moves all three); it must declare the
/// aliases the agents name, which the build checks against `agentkit.toml`.
pub fn manifest_path() -> std::path::PathBuf {
    match std::env::var_os("AGENTKIT_MANIFEST") {
        Some(path) if !path.is_empty() => path.into(),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("agentkit.toml"),
    }
}
