//! Token counts on a served model: a real llama-server (`AGENTKIT_LLAMA_SERVER`)
//! with SmolLM2 counts a prompt as the in-process backend does and names its
//! slots' context, so a long input is fitted to a served model too; a server
//! without llama-server's endpoints is estimated, and says so.

mod common;
#[path = "common/servers.rs"]
mod servers;

use agentkit::backend::{output_room, Backend, Counted, ModelSpec, Request};
use agentkit::prelude::*;
use agentkit::Endpoint;
use agentkit_backends::server::Server;
use servers::{llama_server, runtime_on, stand_in, Reply};

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone)]
struct Thread {
    title: String,
    #[schemars(extend("x-agentkit-fit" = "head"))]
    body: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone)]
struct Verdict {
    relevant: bool,
}

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "served", temperature = 0.0, max_tokens = 32, input = Thread, output = Verdict)]
struct Score;

fn thread(words: usize) -> Thread {
    Thread {
        title: "Q4_K_M or Q5_K_M on a Raspberry Pi 5?".into(),
        body: (0..words)
            .map(|i| format!("word{i}"))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llama_server_counts_as_the_in_process_backend_and_long_inputs_fit() {
    let Some(server) = llama_server(1).await else {
        return;
    };
    let backend = Server::default();
    let runtime = runtime_on(
        backend.clone(),
        vec![Endpoint::new(&server.url, &server.alias)],
    );
    let request = Request::for_agent::<Score>(&runtime, &thread(40)).unwrap();
    let served = backend.count_tokens(&request).await.unwrap();
    assert_eq!(served.counted, Counted::Exact);
    assert_eq!(served.context, Some(2048), "one slot of 2048 cells");

    // The same prompt on the same GGUF in-process: the same tokens.
    let mut local = request.clone();
    local.model = ModelSpec::new("smollm2", agentkit_backends::llama::default_model_path());
    let in_process = common::llama_with_threads(2)
        .count_tokens(&local)
        .await
        .unwrap();
    assert_eq!(served.prompt, in_process.prompt);

    // A body of ~6,000 tokens is cut to fit the served model's context.
    let verdict = Score.run(&runtime, thread(3000)).await;
    assert!(verdict.is_ok(), "{verdict:?}");
    let usage = runtime.usage();
    assert!(usage.prompt_tokens > 0);
    assert!(
        usage.prompt_tokens as usize + output_room(&Score::SAMPLING) <= 2048,
        "the server saw {} prompt tokens",
        usage.prompt_tokens
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_a_tokenize_endpoint_is_estimated() {
    let stand_in = stand_in(vec![Reply::Content("{\"relevant\":true}".into())]).await;
    let backend = Server::default();
    let runtime = runtime_on(backend.clone(), vec![Endpoint::new(&stand_in.url, "m")]);
    let request = Request::for_agent::<Score>(&runtime, &thread(40)).unwrap();
    let count = backend.count_tokens(&request).await.unwrap();
    assert_eq!(count.counted, Counted::Estimated);
    assert_eq!(count.context, None, "no context known: nothing is fitted");
    assert!(count.prompt > 40);
}
