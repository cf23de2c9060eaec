//! Streaming from servers: server-sent events from a real llama-server
//! (`AGENTKIT_LLAMA_SERVER`) with SmolLM2, and from a stand-in server for
//! what a real one cannot be made to do (cut events, dying mid-answer).

#[path = "common/servers.rs"]
mod servers;

use std::time::{Duration, Instant};

use agentkit::backend::{Backend, Completion, Endpoint, Request};
use agentkit::prelude::*;
use agentkit::stream::{Delta, Deltas, Event, Events, Restart, StreamExt};
use agentkit::ErrorKind;
use agentkit_backends::server::{Router, Server, ServerConfig};
use servers::{
    cut, llama_server, quick, runtime_on, sse_body, sse_deltas, stand_in, Reply, StandIn,
};

// ---------------------------------------------------------------------------
// Agents
// ---------------------------------------------------------------------------

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone)]
struct Thread {
    title: String,
    body: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
struct Verdict {
    relevant: bool,
    #[schemars(length(max = 80))]
    reason: String,
}

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "served", temperature = 0.0, max_tokens = 64, input = Thread, output = Verdict)]
struct Judge;

/// The same agent on a model run in-process.
#[agent(model = "local", temperature = 0.0, max_tokens = 64, input = Thread, output = Verdict)]
struct LocalJudge;

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
struct Advice {
    /// what the poster should know, in one or two sentences
    #[schemars(length(max = 160))]
    summary: String,
    /// the steps to take, in order
    #[schemars(length(max = 2))]
    steps: Vec<Action>,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
struct Action {
    #[schemars(length(max = 80))]
    step: String,
}

/// Advise the poster of a forum thread about running a model locally.
#[agent(model = "served", temperature = 0.0, max_tokens = 200, input = Thread, output = Advice)]
struct Advise;

fn thread() -> Thread {
    Thread {
        title: "Which GGUF quantization for a 16 GB laptop?".into(),
        body: "I run llama.cpp on my laptop with 16 GB of RAM and no GPU. Should I use Q4_K_M \
               or Q5_K_M for a 7B model, and how many threads?"
            .into(),
    }
}

/// Every event of `events` until it ends, and the error it ended with.
async fn drain<T>(mut events: Events<'_, T>) -> (Vec<Event<T>>, Option<Error>) {
    let mut seen = Vec::new();
    while let Some(event) = events.next().await {
        match event {
            Ok(event) => seen.push(event),
            Err(e) => return (seen, Some(e)),
        }
    }
    (seen, None)
}

/// The text deltas of `events` since the last restart, and how many restarts.
fn text_since_restart<T>(events: &[Event<T>]) -> (String, Vec<Restart>) {
    let mut text = String::new();
    let mut restarts = Vec::new();
    for event in events {
        match event {
            Event::Delta(d) => text.push_str(d),
            Event::Restart(r) => {
                text.clear();
                restarts.push(r.clone());
            }
            _ => {}
        }
    }
    (text, restarts)
}

fn deltas_in<T>(events: &[Event<T>]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::Delta(_)))
        .count()
}

fn done<T: Clone>(events: &[Event<T>]) -> Option<T> {
    events.iter().find_map(|e| match e {
        Event::Done(v) => Some(v.clone()),
        _ => None,
    })
}

// ---------------------------------------------------------------------------
// A real llama-server
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_streams_from_llama_server_and_ends_where_run_does() {
    let Some(server) = llama_server(1).await else {
        return;
    };
    let backend = Server::default();
    // Through the Router, as a runtime from a manifest has it.
    let endpoint = Endpoint::new(&server.url, &server.alias);
    let runtime = runtime_on(backend.clone(), vec![endpoint]);
    // llama-server's answer to a prompt it evaluates whole can differ from
    // its answer to the same prompt found in its cache (the numbers differ
    // slightly), streamed or not: compare a cached run with a cached stream.
    Advise.run(&runtime, thread()).await.unwrap();
    let ran = Advise.run(&runtime, thread()).await.unwrap();

    let (events, error) = drain(Advise.stream(&runtime, thread())).await;
    assert!(error.is_none(), "{error:?}");
    let deltas = deltas_in(&events);
    assert!(deltas > 1, "{deltas} deltas");
    let (text, restarts) = text_since_restart(&events);
    assert!(restarts.is_empty(), "{restarts:?}");
    let streamed = done(&events).expect("a Done event");
    assert_eq!(
        serde_json::from_str::<Advice>(&text).unwrap(),
        streamed,
        "the deltas are the final text"
    );
    let mut partials = 0;
    for event in &events {
        if let Event::Partial(p) = event {
            partials += 1;
            assert!(
                p.output.is_some(),
                "a partial value that does not fit: {}",
                p.value
            );
        }
    }
    assert!(partials > 1, "{partials} partial values");
    assert_eq!(streamed, ran, "streamed and run answers differ");
    assert_eq!(backend.stats().moved, 0);

    // The backend itself: the deltas concatenate to the completion's text,
    // and the last event's usage gives the token counts.
    let request = Request::for_agent::<Advise>(&runtime, &thread()).unwrap();
    let (deltas, mut rx) = Deltas::channel();
    let started = Instant::now();
    let call = tokio::spawn({
        let backend = backend.clone();
        async move { backend.generate_streaming(request, deltas).await }
    });
    let mut first = None;
    let mut text = String::new();
    let mut pieces = 0;
    while let Some(delta) = rx.next().await {
        match delta {
            Delta::Text(t) => {
                first.get_or_insert_with(|| started.elapsed());
                text.push_str(&t);
                pieces += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let completion: Completion = call.await.unwrap().unwrap();
    let total = started.elapsed();
    assert_eq!(text, completion.text);
    assert!(completion.violation.is_none(), "{completion:?}");
    assert!(
        completion.prompt_tokens > 20 && completion.generated_tokens > 3,
        "{completion:?}"
    );
    eprintln!(
        "llama-server stream: {} tokens in {pieces} deltas; first delta after {:?}, answer after {total:?}",
        completion.generated_tokens,
        first.unwrap_or_default()
    );
}

// ---------------------------------------------------------------------------
// A stand-in server
// ---------------------------------------------------------------------------

const GOOD: [&str; 3] = ["{\"relevant\":true,", "\"reason\":\"café ", "crème\"}"];

/// A stream of `body` in one piece, then the end of the connection.
fn streams(body: &str) -> Reply {
    Reply::Events {
        pieces: vec![body.as_bytes().to_vec()],
        hang: false,
    }
}

fn good_events() -> Reply {
    streams(&sse_body(&GOOD))
}

fn runtime_with(backend: &Server, stand_ins: &[&StandIn]) -> Runtime {
    runtime_on(
        backend.clone(),
        stand_ins
            .iter()
            .map(|s| Endpoint::new(&s.url, "smollm2"))
            .collect(),
    )
}

#[tokio::test]
async fn events_cut_inside_a_line_and_inside_a_character_stream_whole() {
    let body = sse_body(&GOOD);
    let in_line = body.find("relevant").unwrap();
    let in_char = body.find('é').unwrap() + 1;
    let in_crlf = body.find("\n\n").unwrap() + 1;
    let server = stand_in(vec![Reply::Events {
        pieces: cut(&body, &[5, in_crlf, in_line, in_char, in_char + 3]),
        hang: false,
    }])
    .await;
    let runtime = runtime_with(&quick(), &[&server]);
    let (events, error) = drain(Judge.stream(&runtime, thread())).await;
    assert!(error.is_none(), "{error:?}");
    let deltas: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::Delta(d) => Some(d.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(deltas, GOOD);
    let verdict = done(&events).unwrap();
    assert_eq!(verdict.reason, "café crème");
    // The usage of the last event is counted.
    assert_eq!(runtime.usage().generated_tokens, 3);
    assert_eq!(runtime.usage().prompt_tokens, 10);

    // What was asked: a stream, with its usage; the schema as not-llama.cpp gets it.
    let body = &server.bodies.lock().unwrap()[0];
    assert_eq!(body["stream"], true, "{body}");
    assert_eq!(body["stream_options"]["include_usage"], true, "{body}");
    assert_eq!(body["response_format"]["type"], "json_schema", "{body}");
}

#[tokio::test]
async fn an_endpoint_that_dies_mid_answer_is_followed_by_a_restart_and_the_next_answer() {
    let dying = stand_in(vec![streams(&sse_deltas(&["{\"relevant\":", "false,"]))]).await;
    let good = stand_in(vec![good_events()]).await;
    let backend = quick();
    let runtime = runtime_with(&backend, &[&dying, &good]);
    let (events, error) = drain(Judge.stream(&runtime, thread())).await;
    assert!(error.is_none(), "{error:?}");

    let restart = events
        .iter()
        .position(|e| matches!(e, Event::Restart(_)))
        .expect("a restart");
    let before: String = events[..restart]
        .iter()
        .filter_map(|e| match e {
            Event::Delta(d) => Some(d.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(before, "{\"relevant\":false,");
    let Event::Restart(Restart::Backend { reason }) = &events[restart] else {
        panic!("{:?}", events[restart]);
    };
    assert!(
        reason.contains(&dying.url) && reason.contains("mid-answer"),
        "{reason}"
    );
    let (text, restarts) = text_since_restart(&events);
    assert_eq!(restarts.len(), 1);
    assert_eq!(text, GOOD.concat());
    assert_eq!(done(&events).unwrap().reason, "café crème");
    assert_eq!(backend.stats().moved, 1);
}

#[tokio::test]
async fn when_every_endpoint_dies_mid_answer_the_error_says_where_and_how() {
    let dies = || streams(&sse_deltas(&["{\"relevant\":"]));
    let a = stand_in(vec![dies()]).await;
    let b = stand_in(vec![dies()]).await;
    let runtime = runtime_with(&quick(), &[&a, &b]);
    let (events, error) = drain(Judge.stream(&runtime, thread())).await;
    let e = error.expect("an error");
    assert_eq!(e.kind(), ErrorKind::Backend);
    let text = e.to_string();
    assert!(
        text.contains("no endpoint of model `served` answered"),
        "{text}"
    );
    for s in [&a, &b] {
        assert!(
            text.contains(&format!(
                "{}: the event stream ended before the answer did",
                s.url
            )),
            "{text}"
        );
    }
    // The first one's text was dropped before the second one's began.
    let (_, restarts) = text_since_restart(&events);
    assert_eq!(restarts.len(), 1, "{restarts:?}");
    assert!(done(&events).is_none());
}

#[tokio::test]
async fn a_500_before_any_text_moves_on_without_a_restart() {
    let bad = stand_in(vec![Reply::Status(500, r#"{"error":"boom"}"#.into())]).await;
    let good = stand_in(vec![good_events()]).await;
    let backend = quick();
    let runtime = runtime_with(&backend, &[&bad, &good]);
    let (events, error) = drain(Judge.stream(&runtime, thread())).await;
    assert!(error.is_none(), "{error:?}");
    let (text, restarts) = text_since_restart(&events);
    assert!(restarts.is_empty(), "{restarts:?}");
    assert_eq!(text, GOOD.concat());
    assert_eq!(bad.seen.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(backend.stats().moved, 1);
}

#[tokio::test]
async fn a_server_that_refuses_stream_options_streams_without_them() {
    let server = stand_in(vec![
        Reply::Status(
            400,
            r#"{"error":{"message":"Unrecognized request argument supplied: stream_options"}}"#
                .into(),
        ),
        good_events(),
    ])
    .await;
    let backend = quick();
    let runtime = runtime_with(&backend, &[&server]);
    for _ in 0..2 {
        let (events, error) = drain(Judge.stream(&runtime, thread())).await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(text_since_restart(&events).0, GOOD.concat());
    }
    let bodies = server.bodies.lock().unwrap();
    let asked: Vec<bool> = bodies
        .iter()
        .map(|b| b.get("stream_options").is_some())
        .collect();
    // Asked once, refused, and not asked again of that endpoint.
    assert_eq!(asked, [true, false, false]);
    assert_eq!(backend.stats().moved, 0);
}

#[tokio::test]
async fn a_server_that_does_not_stream_gives_its_answer_as_one_delta() {
    let server = stand_in(vec![Reply::Content(GOOD.concat())]).await;
    let runtime = runtime_with(&quick(), &[&server]);
    let (events, error) = drain(Judge.stream(&runtime, thread())).await;
    assert!(error.is_none(), "{error:?}");
    let deltas: Vec<&Event<Verdict>> = events
        .iter()
        .filter(|e| matches!(e, Event::Delta(_)))
        .collect();
    assert_eq!(deltas, [&Event::Delta(GOOD.concat())]);
    assert!(done(&events).unwrap().relevant);
}

#[tokio::test]
async fn an_unconstrained_streamed_answer_is_rejected_like_a_whole_one() {
    let server = stand_in(vec![streams(&sse_body(&["{\"relevant\":", "\"yes\"}"]))]).await;
    let runtime = runtime_with(&quick(), &[&server]);
    let (_, error) = drain(Judge.stream(&runtime, thread())).await;
    let e = error.expect("a schema mismatch");
    assert!(matches!(e, Error::SchemaMismatch { .. }), "{e}");
    assert!(
        e.to_string().contains(&format!(
            "the server at {} (model `smollm2`) did not constrain its output",
            server.url
        )),
        "{e}"
    );
}

#[tokio::test]
async fn nobody_listening_abandons_the_request_at_the_next_event() {
    // A long answer, one piece every 30 ms, then silence: only stopping at
    // the next piece ends the call before the endpoint's timeout.
    let many: Vec<String> = (0..200).map(|i| format!("{i} ")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let body = sse_deltas(&many);
    let cuts: Vec<usize> = body
        .match_indices("data:")
        .map(|(i, _)| i)
        .skip(1)
        .collect();
    let server = stand_in(vec![Reply::Events {
        pieces: cut(&body, &cuts),
        hang: true,
    }])
    .await;
    let backend = quick();
    let runtime = runtime_with(&backend, &[&server]);
    let request = Request::for_agent::<Judge>(&runtime, &thread()).unwrap();
    let (deltas, mut rx) = Deltas::channel();
    let started = Instant::now();
    let call = tokio::spawn(async move { backend.generate_streaming(request, deltas).await });
    assert_eq!(rx.next().await, Some(Delta::Text("0 ".into())));
    drop(rx);
    let result = tokio::time::timeout(Duration::from_secs(5), call)
        .await
        .expect("the call stops soon after the stream is dropped")
        .unwrap();
    let e = result.unwrap_err();
    assert!(e.to_string().contains("was dropped"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// A local backend that streams its one answer two characters at a time.
struct Pieces(&'static str);

#[async_trait::async_trait]
impl Backend for Pieces {
    async fn generate(&self, _: Request) -> Result<Completion, Error> {
        Ok(Completion::new(self.0))
    }

    async fn generate_streaming(&self, _: Request, deltas: Deltas) -> Result<Completion, Error> {
        let chars: Vec<char> = self.0.chars().collect();
        for pair in chars.chunks(2) {
            deltas.send(&pair.iter().collect::<String>());
        }
        Ok(Completion::new(self.0))
    }
}

#[tokio::test]
async fn a_router_streams_served_models_from_the_server_and_local_ones_from_the_local_backend() {
    let server = stand_in(vec![good_events()]).await;
    let local = r#"{"relevant":false,"reason":"local"}"#;
    let runtime = Runtime::builder()
        .backend(
            Router::new(Pieces(local)).with_server(Server::new(ServerConfig::default().rounds(1))),
        )
        .served("served", vec![Endpoint::new(&server.url, "smollm2")])
        .model("local", "/models/local.gguf")
        .build();

    let (served, error) = drain(Judge.stream(&runtime, thread())).await;
    assert!(error.is_none(), "{error:?}");
    let served_deltas = deltas_in(&served);
    assert_eq!(served_deltas, GOOD.len());
    assert_eq!(server.seen.load(std::sync::atomic::Ordering::SeqCst), 1);

    let (local_events, error) = drain(LocalJudge.stream(&runtime, thread())).await;
    assert!(error.is_none(), "{error:?}");
    let (text, _) = text_since_restart(&local_events);
    assert_eq!(text, local);
    let local_deltas = deltas_in(&local_events);
    assert_eq!(local_deltas, local.chars().count().div_ceil(2));
    assert_eq!(done(&local_events).unwrap().reason, "local");
}
