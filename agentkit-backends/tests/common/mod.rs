//! Shared set-up for the backend tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use agentkit::backend::{ModelSpec, OutputSchema, Request};
use agentkit::prelude::{Deserialize, JsonSchema, Serialize};
use agentkit::{Message, Prompt, Role, Sampling};
use agentkit_backends::llama::{Llama, LlamaConfig};
use agentkit_test::fixture;

pub mod mixed;

/// A fresh directory for this test process.
pub fn scratch_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("agentkit-tests-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
    .clone()
}

/// The fixture model (random weights, ChatML template), written once per process.
pub fn fixture_model() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let path = scratch_dir().join("fixture.gguf");
        fixture::write_fixture_model(&path, 7).unwrap();
        path
    })
    .clone()
}

/// One backend for the whole test binary (llama.cpp allows one per process).
/// One thread: the fixture model is tiny and tests run in parallel.
pub fn llama() -> &'static Llama {
    llama_with_threads(1)
}

/// The shared backend, created with `threads` on first use.
pub fn llama_with_threads(threads: usize) -> &'static Llama {
    static LLAMA: OnceLock<Llama> = OnceLock::new();
    LLAMA.get_or_init(|| Llama::new(LlamaConfig::default().threads(threads)).unwrap())
}

/// A request to the fixture model with `schema` and `sampling`.
pub fn fixture_request(schema: serde_json::Value, sampling: Sampling) -> Request {
    let prompt = Prompt {
        messages: vec![
            Message {
                role: Role::System,
                content: "Answer with JSON.".into(),
            },
            Message {
                role: Role::User,
                content: "{\"question\": \"anything\"}".into(),
            },
        ],
    };
    Request::new(
        "Probe",
        ModelSpec::new("fixture", fixture_model()),
        prompt,
        OutputSchema::from_full(schema),
        sampling,
    )
}

/// A forum thread, the input of the tests' agents on the real model.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone)]
pub struct Thread {
    pub title: String,
    pub body: String,
}

/// Whether a thread is about running models locally, and why.
#[derive(Serialize, Deserialize, JsonSchema, Debug)]
pub struct Verdict {
    /// true when the thread asks about running models locally
    pub relevant: bool,
    /// one short sentence
    #[schemars(length(max = 120))]
    pub reason: String,
}
