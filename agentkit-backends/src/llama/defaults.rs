//! The llama.cpp backend's own models: the ones every agent can name without
//! registering them, and where their files are kept.

use std::path::PathBuf;

use agentkit::ModelSpec;

/// The alias of the default model, SmolLM2-135M-Instruct (Q4_1, Apache-2.0).
/// Agents can name it without registering it with the runtime.
pub const DEFAULT_MODEL: &str = "smollm2-135m";

/// The file name of the default model inside [`models_dir`].
pub const DEFAULT_MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// The command, run from a checkout of agentkit, that fetches the default
/// model into [`models_dir`] and verifies it.
pub const FETCH_COMMAND: &str = "scripts/fetch-model.sh";

/// Where models are kept: `$AGENTKIT_MODELS` if set, else `agentkit/models`
/// in the user's cache directory ([`dirs::cache_dir`]: `$XDG_CACHE_HOME` or
/// `~/.cache` on Linux, as `scripts/fetch-model.sh` uses; `~/Library/Caches`
/// on macOS; the local app-data folder on Windows), else `./models`.
pub fn models_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("AGENTKIT_MODELS").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    match dirs::cache_dir() {
        Some(cache) => cache.join("agentkit").join("models"),
        None => PathBuf::from("models"),
    }
}

/// The models the backend knows by name, besides the default: an agent can
/// name them without registering them, once their file is fetched.
///
/// Each is `(alias, file name inside` [`models_dir`]`, what fetches it)`.
/// `qwen2.5-coder-0.5b` is Qwen2.5-Coder-0.5B-Instruct (Q4_K_M, 491 MB),
/// fetched only on request: `scripts/fetch-model.sh qwen2.5-coder-0.5b`.
pub const KNOWN_MODELS: &[(&str, &str, &str)] = &[
    (DEFAULT_MODEL, DEFAULT_MODEL_FILE, FETCH_COMMAND),
    (
        "qwen2.5-coder-0.5b",
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        "scripts/fetch-model.sh qwen2.5-coder-0.5b",
    ),
];

/// The spec of a model the backend knows by name (see [`KNOWN_MODELS`]).
pub fn known_model(alias: &str) -> Option<ModelSpec> {
    KNOWN_MODELS
        .iter()
        .find(|(name, _, _)| *name == alias)
        .map(|(name, file, _)| ModelSpec::new(*name, models_dir().join(file)))
}

/// The default model's spec: [`DEFAULT_MODEL`] at [`default_model_path`].
pub fn default_model() -> ModelSpec {
    ModelSpec::new(DEFAULT_MODEL, default_model_path())
}

/// Where the default model's file is looked for:
/// [`models_dir`]`/`[`DEFAULT_MODEL_FILE`].
pub fn default_model_path() -> PathBuf {
    models_dir().join(DEFAULT_MODEL_FILE)
}

/// What to tell a user whose model file is missing.
pub(super) fn missing_file_fix(spec: &ModelSpec) -> String {
    let dir = models_dir();
    let known = KNOWN_MODELS
        .iter()
        .find(|(_, file, _)| spec.path() == Some(dir.join(file).as_path()));
    if let Some((_, _, fetch)) = known {
        format!(
            "run `{fetch}` (from a checkout of agentkit) to fetch it, or set \
             AGENTKIT_MODELS to the directory that holds it"
        )
    } else {
        format!(
            "register the right file with `Runtime::builder().model(\"{}\", path)`",
            spec.alias
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_default_model_says_how_to_fetch_it() {
        let fix = missing_file_fix(&default_model());
        assert!(fix.contains(FETCH_COMMAND), "{fix}");
        assert!(fix.contains("AGENTKIT_MODELS"), "{fix}");
    }

    #[test]
    fn a_missing_second_model_says_how_to_fetch_it_and_is_known_by_name() {
        let qwen = known_model("qwen2.5-coder-0.5b").unwrap();
        let fix = missing_file_fix(&qwen.renamed("draft"));
        assert!(
            fix.contains("scripts/fetch-model.sh qwen2.5-coder-0.5b"),
            "{fix}"
        );
        assert_eq!(known_model(DEFAULT_MODEL), Some(default_model()));
        assert_eq!(known_model("gpt-4"), None);
    }

    #[test]
    fn a_missing_registered_model_says_how_to_register_the_right_file() {
        let spec = ModelSpec::new("judge", "/nowhere/judge.gguf");
        let fix = missing_file_fix(&spec);
        assert!(fix.contains("model(\"judge\", path)"), "{fix}");
        assert!(!fix.contains(FETCH_COMMAND), "{fix}");
    }
}
