//! The HTTP backend against a real llama-server (built by
//! `scripts/fetch-llama-server.sh`, named by `AGENTKIT_LLAMA_SERVER`) with
//! SmolLM2, and against a small stand-in server for what a real one cannot be
//! made to do (500, 429, a malformed body, a hang, an unconstrained answer).

mod common;
#[path = "common/servers.rs"]
mod servers;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentkit::backend::{Backend, ModelSpec, Request};
use agentkit::prelude::*;
use agentkit::{Endpoint, ErrorKind};
use agentkit_backends::server::{Constraint, Router, Server, ServerConfig};
use servers::{dead_url, llama_server, llama_servers, quick, runtime_on, stand_in, Reply};

// ---------------------------------------------------------------------------
// Agents
// ---------------------------------------------------------------------------

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone)]
struct Thread {
    title: String,
    body: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone)]
struct Verdict {
    /// true when the thread asks about running models locally
    relevant: bool,
    /// one short sentence
    #[schemars(length(max = 80))]
    reason: String,
}

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "served", temperature = 0.0, max_tokens = 64, input = Thread, output = Verdict)]
struct Score;

/// The same, allowed one retry.
#[agent(model = "served", temperature = 0.0, max_tokens = 64, retries = 1, input = Thread, output = Verdict)]
struct ScoreRetried;

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Subject {
    LocalModels,
    Cooking,
    Sports,
    Other,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone)]
struct Subjected {
    subject: Subject,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone)]
struct Profile {
    subject: Subject,
    /// up to three keywords
    #[schemars(length(max = 3))]
    keywords: Vec<Keyword>,
    /// the poster's RAM in GB, if the thread says
    ram_gb: Option<u16>,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone)]
struct Keyword {
    #[schemars(length(max = 20))]
    word: String,
}

/// Name the subject of a forum thread.
#[agent(model = "served", temperature = 0.0, max_tokens = 16, input = Thread, output = Subjected)]
struct Name;

/// Profile a forum thread: its subject, keywords and the RAM it mentions.
#[agent(model = "served", temperature = 0.0, max_tokens = 96, input = Thread, output = Profile)]
struct ProfileIt;

/// Say whether a thread with this subject is worth a reply.
#[agent(model = "served", temperature = 0.0, max_tokens = 64, input = Subjected, output = Verdict)]
struct Worth;

fn thread(i: usize) -> Thread {
    Thread {
        title: format!("Question {i}: which GGUF quantization for a 16 GB laptop?"),
        body: "I run llama.cpp on my laptop with 16 GB of RAM. Q4_K_M or Q5_K_M?".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_a_chain_and_scored_choices_run_on_llama_server() {
    let Some(server) = llama_server(2).await else {
        return;
    };
    let backend = Server::default();
    let runtime = runtime_on(
        backend.clone(),
        vec![Endpoint::new(&server.url, &server.alias)],
    );

    // A typed agent: compact JSON, parsed, tokens counted.
    let verdict = Score.run(&runtime, thread(1)).await.unwrap();
    assert!(verdict.reason.chars().count() <= 80, "{verdict:?}");
    let usage = runtime.usage();
    assert!(
        usage.prompt_tokens > 20 && usage.generated_tokens > 3,
        "{usage:?}"
    );

    // Nested types, enums, options and bounded arrays under the compact grammar.
    let profile = ProfileIt.run(&runtime, thread(2)).await.unwrap();
    assert!(profile.keywords.len() <= 3, "{profile:?}");

    // A chain of two agents.
    let chained = Name.then(Worth).run(&runtime, thread(3)).await.unwrap();
    assert!(chained.reason.chars().count() <= 80);

    // Scored choices from the server's log-probabilities.
    let scored = agentkit::scored(Name)
        .run(&runtime, thread(4))
        .await
        .unwrap();
    let total: f64 = [
        Subject::LocalModels,
        Subject::Cooking,
        Subject::Sports,
        Subject::Other,
    ]
    .iter()
    .filter_map(|s| scored.probability("subject", s))
    .sum();
    assert!((total - 1.0).abs() < 1e-6, "{scored:?}");
    assert_eq!(backend.stats().moved, 0);
    assert_eq!(backend.stats().violations, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compact_grammar_writes_no_whitespace_and_json_schema_mode_also_parses() {
    let Some(server) = llama_server(1).await else {
        return;
    };
    let endpoint = Endpoint::new(&server.url, &server.alias);
    let backend = Server::default();
    let runtime = runtime_on(backend.clone(), vec![endpoint.clone()]);
    let request = agentkit::backend::Request::for_agent::<ProfileIt>(&runtime, &thread(5)).unwrap();
    let compact = agentkit::Backend::generate(&backend, request.clone())
        .await
        .unwrap();
    assert!(compact.violation.is_none(), "{compact:?}");
    assert!(
        !compact.text.contains(": ") && !compact.text.contains('\n'),
        "{}",
        compact.text
    );

    let schema_mode = Server::new(ServerConfig::default().constraint(Constraint::JsonSchema));
    let mut roomy = request;
    roomy.sampling.max_tokens = 200;
    let answer = agentkit::Backend::generate(&schema_mode, roomy)
        .await
        .unwrap();
    assert!(answer.violation.is_none(), "{answer:?}");
    serde_json::from_str::<Profile>(&answer.text).unwrap();
    assert!(
        answer.generated_tokens >= compact.generated_tokens,
        "json_schema mode {} tokens, compact {}",
        answer.generated_tokens,
        compact.generated_tokens
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_names_a_model_the_server_does_not_serve_and_dead_endpoints() {
    let Some(server) = llama_server(1).await else {
        return;
    };
    let runtime = runtime_on(
        Server::default(),
        vec![Endpoint::new(&server.url, "qwen-7b")],
    );
    let e = runtime.check(&Score).await.unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("does not serve model `qwen-7b`") && text.contains("smollm2"),
        "{text}"
    );

    let dead = dead_url();
    let runtime = runtime_on(Server::default(), vec![Endpoint::new(&dead, "smollm2")]);
    let text = runtime.check(&Score).await.unwrap_err().to_string();
    assert!(
        text.contains("no endpoint of model `served` answers"),
        "{text}"
    );
    assert!(text.contains(&dead), "{text}");

    // One endpoint down, one up: pre-flight passes, and so do the calls.
    let runtime = runtime_on(
        Server::default(),
        vec![
            Endpoint::new(&dead, "smollm2"),
            Endpoint::new(&server.url, "smollm2"),
        ],
    );
    runtime.check(&Score).await.unwrap();
    Score.run(&runtime, thread(6)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_item_is_lost_when_one_of_two_servers_dies_mid_each() {
    let Some(mut servers) = llama_servers(&[2, 2]).await else {
        return;
    };
    let (a, b) = (servers.list.remove(0), servers.list.remove(0));
    let backend = Server::default();
    let runtime = runtime_on(
        backend.clone(),
        vec![
            Endpoint::new(&a.url, "smollm2"),
            Endpoint::new(&b.url, "smollm2"),
        ],
    );
    let a = Arc::new(Mutex::new(a));
    let killer = {
        let (a, backend) = (a.clone(), backend.clone());
        tokio::spawn(async move {
            while backend.stats().attempts < 4 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            a.lock().unwrap().kill();
        })
    };
    let threads: Vec<Thread> = (0..12).map(thread).collect();
    let pipeline = agentkit::each(Score).concurrency(4);
    let verdicts = pipeline.run(&runtime, threads).await.unwrap();
    killer.await.unwrap();
    assert_eq!(verdicts.len(), 12);
    let stats = backend.stats();
    assert!(stats.attempts >= 12, "{stats:?}");
    assert_eq!(stats.attempts - stats.moved, 12, "{stats:?}");
}

const GOOD: &str = r#"{"relevant":true,"reason":"asks about llama.cpp"}"#;

#[tokio::test]
async fn a_500_a_429_and_a_malformed_body_move_the_request_to_another_endpoint() {
    for bad in [
        Reply::Status(500, r#"{"error":"boom"}"#.into()),
        Reply::Status(429, r#"{"error":"busy"}"#.into()),
        Reply::Status(200, "this is not json".into()),
    ] {
        let bad = stand_in(vec![bad]).await;
        let good = stand_in(vec![Reply::Content(GOOD.into())]).await;
        let backend = quick();
        let runtime = runtime_on(
            backend.clone(),
            vec![
                Endpoint::new(&bad.url, "smollm2"),
                Endpoint::new(&good.url, "smollm2"),
            ],
        );
        // Round robin over ties: two calls make sure the bad one is tried.
        for i in 0..2 {
            let v = Score.run(&runtime, thread(i)).await.unwrap();
            assert!(v.relevant);
        }
        assert_eq!(
            bad.seen.load(Ordering::SeqCst),
            1,
            "tried once, then tried last"
        );
        assert_eq!(backend.stats().moved, 1, "{:?}", backend.stats());
    }
}

#[tokio::test]
async fn a_hang_past_the_timeout_moves_the_request() {
    let hang = stand_in(vec![Reply::Hang]).await;
    let good = stand_in(vec![Reply::Content(GOOD.into())]).await;
    let backend = quick();
    let endpoints = vec![
        Endpoint::new(&hang.url, "smollm2").with_timeout(Duration::from_millis(300)),
        Endpoint::new(&good.url, "smollm2"),
    ];
    let runtime = runtime_on(backend.clone(), endpoints);
    for i in 0..2 {
        Score.run(&runtime, thread(i)).await.unwrap();
    }
    assert_eq!(hang.seen.load(Ordering::SeqCst), 1);
    assert_eq!(backend.stats().moved, 1);
}

#[tokio::test]
async fn when_every_endpoint_fails_the_error_names_each() {
    let bad = stand_in(vec![Reply::Status(503, "overloaded".into())]).await;
    let dead = dead_url();
    let runtime = runtime_on(
        Server::new(ServerConfig::default().rounds(2)),
        vec![
            Endpoint::new(&bad.url, "smollm2"),
            Endpoint::new(&dead, "smollm2"),
        ],
    );
    let e = Score.run(&runtime, thread(0)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Backend);
    let text = e.to_string();
    assert!(
        text.contains("no endpoint of model `served` answered"),
        "{text}"
    );
    assert!(text.contains(&format!("{}: HTTP 503", bad.url)), "{text}");
    assert!(
        text.contains(&format!("{dead}: could not connect")),
        "{text}"
    );
    assert_eq!(bad.seen.load(Ordering::SeqCst), 2, "two rounds");
    // The HTTP client's error stays reachable under the words.
    let cause = std::error::Error::source(&e)
        .and_then(|backend| backend.source())
        .and_then(|cause| cause.downcast_ref::<reqwest::Error>())
        .expect("the HTTP error is kept as the cause");
    assert!(cause.is_connect(), "{cause:?}");
}

#[tokio::test]
async fn a_400_is_not_retried_elsewhere() {
    let bad = stand_in(vec![Reply::Status(
        400,
        r#"{"error":"bad grammar"}"#.into(),
    )])
    .await;
    let good = stand_in(vec![Reply::Content(GOOD.into())]).await;
    let runtime = runtime_on(
        quick(),
        vec![
            Endpoint::new(&bad.url, "smollm2"),
            Endpoint::new(&good.url, "smollm2"),
        ],
    );
    let mut errors = 0;
    for i in 0..2 {
        if let Err(e) = Score.run(&runtime, thread(i)).await {
            assert!(
                e.to_string().contains("refused the request with HTTP 400"),
                "{e}"
            );
            errors += 1;
        }
    }
    assert_eq!(errors, 1);
}

#[tokio::test]
async fn an_unconstrained_answer_is_a_typed_error_naming_the_endpoint_and_is_retried() {
    let sloppy = stand_in(vec![Reply::Content(r#"{"relevant":"yes"}"#.into())]).await;
    let runtime = runtime_on(quick(), vec![Endpoint::new(&sloppy.url, "smollm2")]);
    let e = Score.run(&runtime, thread(0)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ModelOutput);
    let text = e.to_string();
    assert!(matches!(e, Error::SchemaMismatch { .. }), "{text}");
    assert!(
        text.contains(&format!(
            "the server at {} (model `smollm2`) did not constrain its output",
            sloppy.url
        )),
        "{text}"
    );

    // With a retry allowed, the second (valid) answer is taken.
    let fixed = stand_in(vec![
        Reply::Content("```json\n{\"relevant\": true}\n```".into()),
        Reply::Content(GOOD.into()),
    ])
    .await;
    let runtime = runtime_on(quick(), vec![Endpoint::new(&fixed.url, "smollm2")]);
    let v = ScoreRetried.run(&runtime, thread(0)).await.unwrap();
    assert!(v.relevant);
    assert_eq!(fixed.seen.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_api_key_comes_from_the_environment_and_is_not_in_debug_output() {
    let server = stand_in(vec![Reply::Content(GOOD.into())]).await;
    std::env::set_var("AGENTKIT_TEST_KEY", "sk-secret-123");
    let endpoint = Endpoint::new(&server.url, "smollm2").with_api_key_env("AGENTKIT_TEST_KEY");
    assert!(!format!("{endpoint:?}").contains("sk-secret"));
    let runtime = runtime_on(quick(), vec![endpoint]);
    Score.run(&runtime, thread(0)).await.unwrap();
    assert_eq!(*server.auth.lock().unwrap(), ["Bearer sk-secret-123"]);

    let endpoint =
        Endpoint::new(&server.url, "smollm2").with_api_key_env("AGENTKIT_TEST_UNSET_KEY");
    let runtime = runtime_on(quick(), vec![endpoint]);
    let text = Score
        .run(&runtime, thread(0))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("`AGENTKIT_TEST_UNSET_KEY`, which is not set"),
        "{text}"
    );
}

#[tokio::test]
async fn scored_choices_on_a_server_without_log_probabilities_fail_pre_flight() {
    let server = stand_in(vec![Reply::Content(r#"{"subject":"cooking"}"#.into())]).await;
    let runtime = runtime_on(quick(), vec![Endpoint::new(&server.url, "smollm2")]);
    let e = runtime.check(&agentkit::scored(Name)).await.unwrap_err();
    assert!(matches!(e, Error::Preflight { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("scored choices need a backend with token log-probabilities"),
        "{e}"
    );
    assert_eq!(
        server.seen.load(Ordering::SeqCst),
        0,
        "no call before pre-flight passed"
    );
    // The unscored agent runs.
    Name.run(&runtime, thread(0)).await.unwrap();
}

#[tokio::test]
async fn a_router_without_a_local_backend_says_so() {
    let runtime = Runtime::builder()
        .backend(Router::served_only())
        .model("served", "/models/x.gguf")
        .build();
    let text = runtime.check(&Score).await.unwrap_err().to_string();
    assert!(text.contains("has no local backend"), "{text}");
}

// ---------------------------------------------------------------------------
// Mistakes in the set-up: the backend itself reports them as Configuration
// ---------------------------------------------------------------------------

/// The request `Score` sends when its model `served` has `endpoints`.
fn score_request(endpoints: Vec<Endpoint>) -> Request {
    let runtime = runtime_on(quick(), endpoints);
    Request::for_agent::<Score>(&runtime, &thread(0)).unwrap()
}

#[tokio::test]
async fn a_missing_api_key_variable_is_a_configuration_mistake() {
    let server = stand_in(vec![Reply::Content(GOOD.into())]).await;
    let endpoint =
        Endpoint::new(&server.url, "smollm2").with_api_key_env("AGENTKIT_TEST_NEVER_SET_KEY");
    let request = score_request(vec![endpoint]);
    let backend = quick();
    let (deltas, _rx) = agentkit::backend::Deltas::channel();
    for e in [
        backend.check(&request).await.unwrap_err(),
        backend.generate(request.clone()).await.unwrap_err(),
        backend
            .generate_streaming(request.clone(), deltas)
            .await
            .unwrap_err(),
    ] {
        assert_eq!(e.kind(), ErrorKind::Configuration, "{e}");
        assert_eq!(e.agent(), Some("Score"));
        assert!(
            e.to_string()
                .contains("`AGENTKIT_TEST_NEVER_SET_KEY`, which is not set"),
            "{e}"
        );
    }
    assert_eq!(server.seen.load(Ordering::SeqCst), 0, "nothing was sent");
    assert_eq!(backend.stats().moved, 0, "no endpoint is to blame");
}

#[tokio::test]
async fn a_model_with_no_endpoints_is_a_configuration_mistake() {
    let mut request = score_request(vec![Endpoint::new(dead_url(), "smollm2")]);
    for model in [
        ModelSpec::new("served", "/models/x.gguf"),
        ModelSpec::served("served", Vec::new()),
    ] {
        request.model = model;
        let backend = quick();
        for e in [
            backend.check(&request).await.unwrap_err(),
            backend.check_scored(&request).await.unwrap_err(),
            backend.generate(request.clone()).await.unwrap_err(),
        ] {
            assert_eq!(e.kind(), ErrorKind::Configuration, "{e}");
            assert!(
                e.to_string().contains("model `served` has no endpoints"),
                "{e}"
            );
        }
    }
}

#[tokio::test]
async fn an_endpoint_that_does_not_serve_the_model_is_a_configuration_mistake() {
    let server = stand_in(vec![Reply::Content(GOOD.into())]).await;
    let request = score_request(vec![Endpoint::new(&server.url, "qwen-7b")]);
    let e = quick().check(&request).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Configuration, "{e}");
    assert_eq!(
        e.to_string(),
        format!(
            "backend error in agent `Score`: the server at {} does not serve model `qwen-7b` (it \
             serves: smollm2); fix `model` of that endpoint of `served` in agentkit.toml",
            server.url
        )
    );
}

#[tokio::test]
async fn a_router_without_a_local_backend_is_a_configuration_mistake() {
    let mut request = score_request(vec![Endpoint::new(dead_url(), "smollm2")]);
    request.model = ModelSpec::new("served", "/models/x.gguf");
    let router = Router::served_only();
    for e in [
        router.check(&request).await.unwrap_err(),
        router.generate(request.clone()).await.unwrap_err(),
    ] {
        assert_eq!(e.kind(), ErrorKind::Configuration, "{e}");
        assert!(e.to_string().contains("has no local backend"), "{e}");
    }
}

#[tokio::test]
async fn an_endpoint_down_at_pre_flight_keeps_the_http_error_as_the_cause() {
    let dead = dead_url();
    let request = score_request(vec![Endpoint::new(&dead, "smollm2")]);
    let e = quick().check(&request).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Backend);
    assert!(
        e.to_string().contains(&format!(
            "no endpoint of model `served` answers: {dead}: could not connect"
        )),
        "{e}"
    );
    let cause = std::error::Error::source(&e)
        .and_then(|backend| backend.source())
        .and_then(|cause| cause.downcast_ref::<reqwest::Error>());
    assert!(cause.is_some_and(reqwest::Error::is_connect), "{e:?}");
}
