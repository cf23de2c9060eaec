use std::path::{Path, PathBuf};

use super::*;

/// A fresh directory holding `agentkit.toml` with `text`.
fn manifest_dir(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("agentkit-runtime-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("agentkit.toml"), text).unwrap();
    dir
}

#[test]
fn manifest_registers_paths_and_aliases() {
    let dir = manifest_dir(
        "paths",
        "# Models.\n[ models ]\nscreen = \"base\"\njudge = \"models/run #2/judge.bin\" # a comment\nfinal = 'judge'\n",
    );
    let runtime = Runtime::builder()
        .model("base", "/models/base.bin")
        .manifest(dir.join("agentkit.toml"))
        .unwrap()
        .build();
    let path = |alias: &str| {
        runtime
            .model(alias)
            .and_then(|m| m.path().map(Path::to_path_buf))
    };
    let judge = dir.join("models/run #2/judge.bin");
    assert_eq!(path("judge"), Some(judge.clone()));
    assert_eq!(path("final"), Some(judge));
    assert_eq!(path("screen"), Some(PathBuf::from("/models/base.bin")));
    assert_eq!(
        runtime.model("final").map(|m| m.alias.clone()),
        Some("final".to_string())
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn manifest_registers_served_aliases_and_aliases_of_them() {
    let dir = manifest_dir(
        "served",
        "[models]\njudge = { endpoints = [{ url = \"http://127.0.0.1:9/\", model = \"smol\", api_key_env = \"K\", timeout_s = 2.5 }] }\nfinal = \"judge\"\nlocal = \"a.gguf\"\n",
    );
    let runtime = Runtime::builder()
        .manifest(dir.join("agentkit.toml"))
        .unwrap()
        .build();
    let judge = runtime.model("judge").unwrap();
    assert!(judge.is_served());
    assert_eq!(judge.endpoints()[0].url, "http://127.0.0.1:9");
    assert_eq!(judge.endpoints()[0].model, "smol");
    assert_eq!(judge.endpoints()[0].api_key_env.as_deref(), Some("K"));
    assert_eq!(judge.endpoints()[0].timeout.as_millis(), 2500);
    let fin = runtime.model("final").unwrap();
    assert_eq!(
        (fin.alias.as_str(), fin.endpoints()),
        ("final", judge.endpoints())
    );
    assert!(!runtime.model("local").unwrap().is_served());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn chat_template_kwargs_come_from_the_manifest_and_the_builder() {
    let dir = manifest_dir(
        "kwargs",
        "[models]\nthink = { model = \"q.gguf\", chat_template_kwargs = { enable_thinking = false, depth = 2, tags = [\"a\"] } }\nsame = \"think\"\njudge = { endpoints = [{ url = \"http://127.0.0.1:9\", model = \"m\" }], chat_template_kwargs = { enable_thinking = true } }\nplain = \"p.gguf\"\n",
    );
    let runtime = Runtime::builder()
        .manifest(dir.join("agentkit.toml"))
        .unwrap()
        .chat_template_kwargs(
            "plain",
            serde_json::json!({ "style": "terse" })
                .as_object()
                .cloned()
                .unwrap(),
        )
        .build();
    let kwargs =
        |alias: &str| serde_json::Value::Object(runtime.model(alias).unwrap().chat_template_kwargs);
    let think = serde_json::json!({ "enable_thinking": false, "depth": 2, "tags": ["a"] });
    assert_eq!(kwargs("think"), think);
    assert_eq!(
        runtime.model("think").unwrap().path(),
        Some(dir.join("q.gguf").as_path())
    );
    // An alias of an alias keeps its variables.
    assert_eq!(kwargs("same"), think);
    assert_eq!(
        kwargs("judge"),
        serde_json::json!({ "enable_thinking": true })
    );
    assert_eq!(kwargs("plain"), serde_json::json!({ "style": "terse" }));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A backend that provides one model, `builtin`, by name.
struct Provides;

#[async_trait::async_trait]
impl Backend for Provides {
    async fn generate(&self, _: crate::backend::Request) -> Result<Completion, Error> {
        Err(Error::NoBackend)
    }
    fn model(&self, alias: &str) -> Option<ModelSpec> {
        (alias == "builtin").then(|| ModelSpec::new(alias, "/cache/builtin.bin"))
    }
}

#[test]
fn aliases_may_name_a_backend_model_whenever_the_backend_is_set() {
    let dir = manifest_dir("builtin", "[models]\nscreen = \"builtin\"\n");
    // The manifest and the alias come before the backend that provides the model.
    let runtime = Runtime::builder()
        .manifest(dir.join("agentkit.toml"))
        .unwrap()
        .alias("judge", "builtin")
        .backend(Provides)
        .build();
    let builtin = Some(PathBuf::from("/cache/builtin.bin"));
    let path = |alias: &str| {
        runtime
            .model(alias)
            .and_then(|m| m.path().map(Path::to_path_buf))
    };
    assert_eq!(path("screen"), builtin);
    assert_eq!(path("judge"), builtin);
    assert_eq!(path("builtin"), builtin);
    assert!(runtime.model("other").is_none());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_unknown_alias_suggests_the_nearest_registered_one() {
    let runtime = Runtime::builder().model("qwen-1.5b", "/m/q.bin").build();
    match runtime.resolve("Score", "qwen-15b") {
        Err(Error::UnknownModel { suggestion, .. }) => {
            assert_eq!(suggestion.as_deref(), Some("qwen-1.5b"))
        }
        other => panic!("expected UnknownModel, got {other:?}"),
    }
    match runtime.resolve("Score", "llama") {
        Err(Error::UnknownModel { suggestion, .. }) => assert_eq!(suggestion, None),
        other => panic!("expected UnknownModel, got {other:?}"),
    }
}

fn manifest_error(path: &Path) -> Error {
    match Runtime::builder().manifest(path) {
        Ok(_) => panic!("`{}` was accepted", path.display()),
        Err(e) => e,
    }
}

#[test]
fn manifest_error_names_path_line_and_column() {
    let dir = manifest_dir("syntax", "[models]\nscreen = \"base\"\njudge \"x.bin\"\n");
    let path = dir.join("agentkit.toml");
    let err = manifest_error(&path);
    assert!(
        matches!(
            err,
            Error::Manifest {
                line: 3,
                column: 7,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with(&format!("{}:3:7: not valid TOML: ", path.display())),
        "{err}"
    );
    assert!(std::error::Error::source(&err).is_some());
    std::fs::remove_dir_all(&dir).unwrap();

    let err = manifest_error(&path);
    assert!(matches!(err, Error::Manifest { line: 0, .. }), "{err:?}");
    assert!(
        err.to_string().starts_with(&format!(
            "{}: cannot read the model manifest: ",
            path.display()
        )),
        "{err}"
    );
}
