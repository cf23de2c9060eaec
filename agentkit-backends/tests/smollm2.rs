//! End-to-end runs of `#[agent]` structs on the real default model, SmolLM2-135M-Instruct.
//!
//! The model is fetched by `scripts/fetch-model.sh` (the test command runs it first).

use std::sync::OnceLock;

use agentkit::prelude::*;
use agentkit_backends::llama::{Llama, LlamaConfig};

fn llama() -> &'static Llama {
    static LLAMA: OnceLock<Llama> = OnceLock::new();
    LLAMA.get_or_init(|| match Llama::new(LlamaConfig::default().threads(2)) {
        Ok(l) => l,
        Err(e) => panic!("llama backend: {e}"),
    })
}

fn runtime() -> Runtime {
    Runtime::builder().backend(llama().clone()).build()
}

#[derive(Serialize, Deserialize, JsonSchema, Debug)]
struct Thread {
    title: String,
    body: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug)]
struct Verdict {
    /// true when the thread asks about running models locally
    relevant: bool,
    /// one short sentence
    reason: String,
}

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", temperature = 0.2, max_tokens = 96, input = Thread, output = Verdict)]
struct Score;

#[tokio::test]
async fn score_runs_on_smollm2() {
    let rt = runtime();
    let v = Score
        .run(
            &rt,
            Thread {
                title: "Running llama.cpp on a laptop".into(),
                body: "What is the fastest way to run a 1B model on my CPU?".into(),
            },
        )
        .await;
    println!("{v:?}");
    assert!(v.is_ok(), "{v:?}");
}
