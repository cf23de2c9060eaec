//! Compile-fail and compile-pass tests of `#[agent]` and of chains.
//!
//! Regenerate the `.stderr` snapshots with `TRYBUILD=overwrite cargo test -p
//! agentkit-tests --test ui`, then read every one: each error must point at
//! the tokens the user got wrong.

use std::path::PathBuf;

/// trybuild compiles the cases as a crate of its own under
/// `target/tests/trybuild/agentkit-tests`; a model manifest there makes
/// `#[agent(model = "...")]` check aliases at compile time, as it would in a
/// user's crate with `agentkit.toml` beside its `Cargo.toml`.
fn write_model_manifest() {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("tests/trybuild/agentkit-tests");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("agentkit.toml"),
        "# Models the UI cases may name.\n[models]\nscreen = \"smollm2-135m\"\n\"qwen-1.5b\" = \"models/qwen2.5-1.5b-instruct-q4_k_m.gguf\"\n",
    )
    .unwrap();
}

#[test]
fn ui() {
    write_model_manifest();
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
