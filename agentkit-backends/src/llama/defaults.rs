//! The llama.cpp backend's own model: the one every agent can name without
//! registering it, and where its file is kept.

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
    if spec.path() == Some(default_model_path().as_path()) {
        format!(
            "run `{FETCH_COMMAND}` (from a checkout of agentkit) to fetch it, or set \
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
    fn a_missing_registered_model_says_how_to_register_the_right_file() {
        let spec = ModelSpec::new("judge", "/nowhere/judge.gguf");
        let fix = missing_file_fix(&spec);
        assert!(fix.contains("model(\"judge\", path)"), "{fix}");
        assert!(!fix.contains(FETCH_COMMAND), "{fix}");
    }
}
