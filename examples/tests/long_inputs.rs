//! Long inputs on the real model (SmolLM2-135M, 2,048 cells a sequence):
//! a 20,000-token thread through the flagship's `Screen` is shortened by the
//! fitting policies of `Thread` and the prompt the model saw fits with room
//! for the answer; the same thread without policies fails naming its field
//! and both sizes; pre-flight lists the agent that could overflow; chunking
//! a long body gives pieces that each fit and one merged typed answer.

use std::sync::{Arc, Mutex, OnceLock};

use agentkit::backend::{
    output_room, Backend, Choice, Completion, Counted, Deltas, ModelSpec, Request, TokenCount,
};
use agentkit::prelude::*;
use agentkit::{chunked, Agent, Error, Role};
use agentkit_backends::llama::Llama;
use agentkit_backends::server::Router;
use agentkit_examples::forum::{self, Screen, Split, Subject, Subjected, Thread};

/// The forum's router, keeping every request it was sent.
#[derive(Clone)]
struct Recording {
    inner: Router,
    seen: Arc<Mutex<Vec<Request>>>,
}

impl Recording {
    fn seen(&self) -> Vec<Request> {
        self.seen.lock().unwrap().clone()
    }
}

#[agentkit::backend::async_trait]
impl Backend for Recording {
    async fn generate(&self, request: Request) -> Result<Completion, Error> {
        self.seen.lock().unwrap().push(request.clone());
        self.inner.generate(request).await
    }

    async fn generate_streaming(
        &self,
        request: Request,
        deltas: Deltas,
    ) -> Result<Completion, Error> {
        self.seen.lock().unwrap().push(request.clone());
        self.inner.generate_streaming(request, deltas).await
    }

    async fn choose(&self, request: Request, choices: Vec<Choice>) -> Result<Vec<Vec<f64>>, Error> {
        self.seen.lock().unwrap().push(request.clone());
        self.inner.choose(request, choices).await
    }

    fn model(&self, alias: &str) -> Option<ModelSpec> {
        self.inner.model(alias)
    }

    async fn check(&self, request: &Request) -> Result<(), Error> {
        self.inner.check(request).await
    }

    async fn check_scored(&self, request: &Request) -> Result<(), Error> {
        self.inner.check_scored(request).await
    }

    async fn count_tokens(&self, request: &Request) -> Result<TokenCount, Error> {
        self.inner.count_tokens(request).await
    }

    async fn token_offsets(
        &self,
        model: &ModelSpec,
        text: &str,
    ) -> Result<Option<Vec<usize>>, Error> {
        self.inner.token_offsets(model, text).await
    }
}

/// One llama.cpp backend for the test binary.
fn llama() -> Llama {
    static LLAMA: OnceLock<Llama> = OnceLock::new();
    LLAMA
        .get_or_init(|| agentkit_examples::llama().unwrap())
        .clone()
}

/// The flagship's runtime (its manifest, every alias on SmolLM2), on a
/// recording router.
fn runtime() -> (Runtime, Recording) {
    let recording = Recording {
        inner: Router::new(llama()),
        seen: Arc::default(),
    };
    let runtime = Runtime::builder()
        .backend(recording.clone())
        .manifest(forum::manifest_path())
        .unwrap()
        .build();
    (runtime, recording)
}

/// The tokens `request`'s prompt takes, counted by the backend.
async fn tokens(runtime: &Runtime, request: &Request) -> TokenCount {
    runtime
        .backend()
        .unwrap()
        .count_tokens(request)
        .await
        .unwrap()
}

/// A test-split thread relevant to local models, padded to at least
/// `at_least` tokens in `Screen`'s prompt.
async fn long_thread(runtime: &Runtime, at_least: usize) -> Thread {
    let corpus = forum::load(Split::Test).unwrap();
    let thread = corpus.iter().find(|t| t.relevant).unwrap().thread();
    let mut times = 1;
    loop {
        let long = thread.padded(times);
        let count = tokens(
            runtime,
            &Request::for_agent::<Screen>(runtime, &long).unwrap(),
        )
        .await;
        if count.prompt >= at_least {
            return long;
        }
        times = times * at_least / count.prompt + 1;
    }
}

/// `Thread` without fitting policies.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
struct BareThread {
    community: String,
    title: String,
    body: String,
    replies: Vec<String>,
}

/// Read the forum post and name its subject.
#[agent(model = "screen", temperature = 0.0, max_tokens = 16, input = BareThread, output = Subjected, input_format = "labelled")]
struct BareScreen;

fn bare(t: &Thread) -> BareThread {
    BareThread {
        community: t.community.clone(),
        title: t.title.clone(),
        body: t.body.clone(),
        replies: t.replies.clone(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_20000_token_thread_is_shortened_to_fit_and_without_policies_fails_naming_the_field() {
    let (runtime, recording) = runtime();
    let thread = long_thread(&runtime, 20_000).await;

    // The flagship's Screen (scored, tuned) on the long thread.
    let screened = forum::screen()
        .unwrap()
        .run(&runtime, thread.clone())
        .await
        .unwrap();
    assert!(Subject::ALL.contains(&screened.value.subject));
    let seen = recording.seen();
    assert_eq!(seen.len(), 1, "one scored call");
    let count = tokens(&runtime, &seen[0]).await;
    assert_eq!(count.counted, Counted::Exact);
    assert_eq!(count.context, Some(2048));
    assert!(
        count.prompt + output_room(&Screen::SAMPLING) <= 2048,
        "the prompt the model saw is {} tokens",
        count.prompt
    );
    // Shortened where its policies say: the title whole, the body's head
    // kept, a marker where it was cut.
    let user = seen[0].prompt.messages.last().unwrap();
    assert_eq!(user.role, Role::User);
    assert!(user.content.contains(&thread.title), "{}", user.content);
    assert!(user.content.contains(&thread.body[..200]));
    assert!(
        user.content.contains("characters cut …]"),
        "{}",
        user.content
    );

    // The same thread with no policy: a typed error naming the field and
    // both sizes; nothing reached the model.
    let err = BareScreen.run(&runtime, bare(&thread)).await.unwrap_err();
    let message = err.to_string();
    match &err {
        Error::ContextOverflow {
            prompt_tokens,
            context,
            fields,
            shortest,
            ..
        } => {
            assert!(*prompt_tokens >= 20_000, "{message}");
            assert_eq!(*context, 2048);
            assert_eq!(fields[0].field, "body", "{message}");
            assert!(fields[0].tokens > 10_000, "{message}");
            assert!(!fields[0].fitted);
            assert_eq!(*shortest, None);
            assert!(message.contains(&format!("the prompt is {prompt_tokens} tokens")));
            assert!(message.contains("holds 2048 tokens"), "{message}");
            assert!(message.contains("field `body`"), "{message}");
        }
        other => panic!("expected ContextOverflow, got {other:?}"),
    }
    assert_eq!(
        recording.seen().len(),
        1,
        "the failed call never reached the model"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_lists_the_agents_that_could_overflow() {
    let (runtime, _) = runtime();
    let pipeline = Screen.map(bare_of).then(BareScreen);
    let report = runtime.check_report(&pipeline).await;
    let warned: Vec<&str> = report
        .problems
        .iter()
        .filter(|p| p.warning)
        .map(|p| p.step.as_str())
        .collect();
    assert_eq!(warned, ["BareScreen"], "{report}");
    let warning = &report.problems.iter().find(|p| p.warning).unwrap().message;
    for field in ["`community`", "`title`", "`body`", "`replies`"] {
        assert!(warning.contains(field), "{warning}");
    }
    assert!(report.problems.iter().all(|p| p.warning), "{report}");
    // A warning does not stop the pipeline.
    runtime.check(&pipeline).await.unwrap();
}

/// `Screen`'s answer as a thread, to chain `BareScreen` after it in a
/// pre-flight test (never run).
fn bare_of(s: Subjected) -> BareThread {
    BareThread {
        community: String::new(),
        title: format!("{:?}", s.subject),
        body: String::new(),
        replies: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunking_a_long_body_gives_pieces_that_each_fit_and_one_merged_answer() {
    let (runtime, recording) = runtime();
    // A long body of different posts (so each piece is found in it once):
    // the corpus's bodies one after another.
    let corpus = forum::load(Split::All).unwrap();
    let mut thread = corpus[0].thread();
    thread.replies.clear();
    let mut bodies = Vec::new();
    for t in &corpus {
        if bodies.iter().map(String::len).sum::<usize>() > 16_000 {
            break;
        }
        bodies.push(t.body.clone());
    }
    thread.body = bodies.join("\n\n");
    let count = tokens(
        &runtime,
        &Request::for_agent::<Screen>(&runtime, &thread).unwrap(),
    )
    .await;
    assert!(count.prompt > 3_000, "{} tokens", count.prompt);
    let body = thread.body.clone();

    let merged = chunked(Screen, "body")
        .overlap(32)
        .map(|answers: Vec<Subjected>| {
            // The subject most pieces name, first seen on a tie.
            let mut best = answers[0];
            let count = |s: Subject| answers.iter().filter(|a| a.subject == s).count();
            for a in &answers {
                if count(a.subject) > count(best.subject) {
                    best = *a;
                }
            }
            (answers.len(), best)
        });
    let (pieces, answer) = merged.run(&runtime, thread).await.unwrap();
    assert!(Subject::ALL.contains(&answer.subject));

    let seen = recording.seen();
    assert!(pieces >= 3, "{pieces} pieces");
    assert_eq!(
        seen.len(),
        pieces,
        "one call per piece, none shortened or retried"
    );
    let mut covered = 0;
    for request in &seen {
        let count = tokens(&runtime, request).await;
        assert!(
            count.prompt + output_room(&Screen::SAMPLING) <= 2048,
            "a piece of {} tokens",
            count.prompt
        );
        let text = request.prompt.messages.last().unwrap().content.clone();
        assert!(
            !text.contains("characters cut"),
            "pieces are whole, not cut"
        );
        let piece = request.input["body"].as_str().unwrap();
        let at = body.find(piece).expect("each piece is a run of the body");
        assert!(at <= covered, "pieces leave no gap");
        covered = covered.max(at + piece.len());
    }
    assert_eq!(covered, body.len(), "the pieces cover the body");
}
