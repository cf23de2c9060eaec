//! A fixed set of requests whose exact outputs are printed, one
//! `<label>\t<JSON-escaped text>` line each, sorted by label: run it before
//! and after a change below the `Backend` trait and diff the two files.
//!
//! `cargo run -p agentkit-examples --example sameness [-- --only fixture|smollm2|server]`
//!
//! The text is the model's raw answer, taken from the `model output` debug
//! event of each agent call (several calls are joined with `\n`). Fixture
//! model: `$AGENTKIT_MODELS/agentkit-sameness-fixture-7.gguf`, written once.
//! Server: `$AGENTKIT_LLAMA_SERVER`, else the one `scripts/fetch-llama-server.sh` built.

use std::collections::BTreeMap;
use std::sync::Mutex;

use agentkit::prelude::*;
use agentkit::stream::{Event, StreamExt};
use agentkit::{Endpoint, Scored};
use agentkit_backends::llama::{default_model_path, models_dir, Llama, LlamaConfig};
use agentkit_backends::server::{Router, Server};
use agentkit_test::fixture;
use agentkit_test::llama_server::{self as servers, LlamaServer};
use tracing_subscriber::layer::SubscriberExt;

// ---- capture of every agent call's raw text --------------------------------
static RAW: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;
impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        #[derive(Default)]
        struct V(Option<String>, Option<String>);
        impl tracing::field::Visit for V {
            fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                match f.name() {
                    "message" => self.0 = Some(format!("{v:?}")),
                    "output" => self.1 = Some(format!("{v:?}")),
                    _ => {}
                }
            }
        }
        let mut v = V::default();
        event.record(&mut v);
        if let (Some("model output"), Some(text)) = (v.0.as_deref(), v.1) {
            RAW.lock().unwrap().push(text);
        }
    }
}

/// The raw texts captured since the last call, in the order they came.
fn take_raw() -> Vec<String> {
    std::mem::take(&mut *RAW.lock().unwrap())
}

type Lines = BTreeMap<String, String>;

/// Records one request: its raw text(s), or its error.
fn put<T>(lines: &mut Lines, label: String, result: Result<T, Error>) -> Option<T> {
    let raw = take_raw().join("\n");
    match result {
        Ok(v) => {
            lines.insert(label, raw);
            Some(v)
        }
        Err(e) => {
            lines.insert(label, format!("ERROR: {e} [raw: {raw}]"));
            None
        }
    }
}

// ---- types -------------------------------------------------------------------
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone)]
struct Probe {
    question: String,
}
#[derive(Serialize, Deserialize, JsonSchema, Debug)]
struct Flat {
    #[schemars(range(max = 999))]
    n: u16,
    #[schemars(length(max = 8))]
    s: String,
    b: bool,
}
#[derive(Serialize, Deserialize, JsonSchema, Debug)]
enum Color {
    Red,
    Green,
    Blue,
}
#[derive(Serialize, Deserialize, JsonSchema, Debug)]
struct Mixed {
    color: Color,
    #[schemars(length(max = 3))]
    codes: Vec<u8>,
    maybe: Option<bool>,
}
#[derive(Serialize, Deserialize, JsonSchema, Debug)]
struct Tags {
    #[schemars(length(min = 2, max = 3), inner(length(max = 6)))]
    tags: Vec<String>,
}
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone)]
struct Thread {
    title: String,
    body: String,
}
#[derive(Serialize, Deserialize, JsonSchema, Debug)]
struct Verdict {
    /// true when the thread asks about running models locally
    relevant: bool,
    /// one short sentence
    #[schemars(length(max = 100))]
    reason: String,
}
#[derive(Serialize, Deserialize, JsonSchema, Debug)]
enum Topic {
    Hardware,
    Software,
    Models,
    Other,
}
#[derive(Serialize, Deserialize, JsonSchema, Debug)]
struct Profile {
    topic: Topic,
    /// up to three keywords
    #[schemars(length(max = 3), inner(length(max = 24)))]
    keywords: Vec<String>,
    /// 0.0 (not urgent) to 1.0 (urgent)
    #[schemars(range(min = 0.0, max = 1.0))]
    urgency: f32,
}
#[derive(Serialize, Deserialize, JsonSchema, Debug)]
struct Reply {
    #[schemars(length(max = 200))]
    reply: String,
}
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone)]
struct Passage {
    text: String,
}
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, Copy)]
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
#[derive(Serialize, Deserialize, JsonSchema, Debug)]
enum Light {
    /** stop */
    Red,
    /** go */
    Green,
}
#[derive(Serialize, Deserialize, JsonSchema, Debug)]
struct Traffic {
    /** the colour named in the text */
    light: Light,
    /** true when the text says to stop */
    stop: bool,
}
// ---- fixture agents (alias `screen`, pointed at the fixture GGUF) ------------
/// Answer with JSON.
#[agent(model = "screen", temperature = 0, max_tokens = 64, input = Probe, output = Flat)]
struct FixGreedy;
/// Answer with JSON.
#[agent(model = "screen", temperature = 0.9, seed = 7, max_tokens = 64, input = Probe, output = Flat)]
struct FixWarm;
/// Answer with JSON.
#[agent(model = "screen", temperature = 0, max_tokens = 64, input = Probe, output = Mixed)]
struct FixGreedyMixed;
/// Answer with JSON.
#[agent(model = "screen", temperature = 0, max_tokens = 64, input = Probe, output = Tags)]
struct FixGreedyTags;
/// Answer with JSON.
#[agent(model = "screen", temperature = 0.9, seed = 8, max_tokens = 64, input = Probe, output = Flat)]
struct FixWarm8;
/// Answer with JSON.
#[agent(model = "screen", temperature = 1.5, seed = 21, min_p = 0.05, repeat_penalty = 1.5, max_tokens = 64, input = Probe, output = Tags)]
struct FixMinP;
/// Answer with JSON.
#[agent(model = "screen", temperature = 1.3, seed = 1234, top_k = 8, top_p = 0.95, max_tokens = 64, input = Probe, output = Mixed)]
struct FixHot;

// ---- SmolLM2 agents ----------------------------------------------------------
/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", temperature = 0, max_tokens = 128, input = Thread, output = Verdict)]
struct Score;
/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", temperature = 0.7, seed = 7, max_tokens = 128, input = Thread, output = Verdict)]
struct ScoreWarm;
/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", temperature = 0.7, seed = 99, max_tokens = 128, input = Thread, output = Verdict)]
struct ScoreWarm99;
/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", temperature = 0.9, top_k = 20, top_p = 0.9, seed = 3, max_tokens = 128, input = Thread, output = Verdict)]
struct ScoreTopKP;
/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", temperature = 1.0, min_p = 0.1, seed = 5, max_tokens = 128, input = Thread, output = Verdict)]
struct ScoreMinP;
/// Describe the forum post: its topic, a few keywords and how urgent it is.
#[agent(model = "smollm2-135m", temperature = 0, max_tokens = 160, input = Thread, output = Profile)]
struct Describe;
/// Write a short, friendly reply to this forum thread.
#[agent(model = "smollm2-135m", temperature = 0, max_tokens = 220, repeat_penalty = 1.3, frequency_penalty = 0.5, presence_penalty = 0.3, repeat_window = 32, input = Thread, output = Reply)]
struct DraftPenalised;
/// Write a short, friendly reply to this forum thread.
#[agent(model = "smollm2-135m", temperature = 0.5, seed = 11, max_tokens = 220, repeat_penalty = 1.1, dry_multiplier = 0.8, input = Thread, output = Reply)]
struct DraftDry;
/// Repeat the text exactly, word for word.
#[agent(model = "smollm2-135m", temperature = 0, max_tokens = 220, input = Passage, output = Reply)]
struct Echo;
/// Repeat the text exactly, word for word.
#[agent(model = "smollm2-135m", temperature = 0, max_tokens = 220, dry_multiplier = 2.0, dry_base = 1.5, dry_allowed_length = 3, input = Passage, output = Reply)]
struct EchoDry;
/// Read the sentence and report the traffic light colour it names and whether it says to stop.
#[agent(model = "smollm2-135m", temperature = 0, max_tokens = 40, input = String, output = Traffic)]
struct ReadLight;
/// Name the subject of a forum thread.
#[agent(model = "smollm2-135m", temperature = 0, max_tokens = 16, input = Thread, output = Subjected)]
struct Name;
/// Say whether a thread with this subject is worth a reply.
#[agent(model = "smollm2-135m", temperature = 0, max_tokens = 128, input = Subjected, output = Verdict)]
struct Worth;
/// Write a short, friendly reply to this forum thread.
#[agent(model = "smollm2-135m", temperature = 0.3, seed = 9, max_tokens = 220, input = Thread, output = Reply)]
struct DraftStream;

// ---- server agents (alias `judge`, served by llama-server) -------------------
/// Decide whether a forum thread is about running language models locally.
#[agent(model = "judge", temperature = 0, max_tokens = 128, input = Thread, output = Verdict)]
struct SrvScore;
/// Name the subject of a forum thread.
#[agent(model = "judge", temperature = 0, max_tokens = 16, input = Thread, output = Subjected)]
struct SrvName;
/// Say whether a thread with this subject is worth a reply.
#[agent(model = "judge", temperature = 0, max_tokens = 128, input = Subjected, output = Verdict)]
struct SrvWorth;
/// Write a short, friendly reply to this forum thread.
#[agent(model = "judge", temperature = 0, max_tokens = 220, input = Thread, output = Reply)]
struct SrvDraft;

// ---- inputs ------------------------------------------------------------------
fn probes() -> Vec<Probe> {
    let long = "why ".repeat(40);
    ["anything", "Zebras 12345 {}[] ÄÖÜ ß 東京 !!", long.as_str()]
        .map(|q| Probe { question: q.into() })
        .to_vec()
}

fn threads() -> Vec<Thread> {
    [
        (
            "Which quant for a 1B model on 8 GB RAM?",
            "I'm Dana, ten years a sysadmin. Q4_K_M or Q8? And does llama.cpp use all cores?",
        ),
        (
            "Best sourdough starter?",
            "My starter smells of acetone after three days. Should I feed it twice a day?",
        ),
        (
            "Ollama vs llama-server",
            "Which one is faster for SmolLM2 on a Raspberry Pi 5 with 8 GB?",
        ),
        (
            "GPU for local inference",
            "Is a used RTX 3060 with 12 GB enough to run a 7B model at Q4?",
        ),
        (
            "Marathon training plan",
            "How many long runs a week before my first marathon in October?",
        ),
        (
            "Context length question",
            "Why does my 2048-token context fill up so fast with a long system prompt?",
        ),
    ]
    .map(|(t, b)| Thread {
        title: t.into(),
        body: b.into(),
    })
    .to_vec()
}

fn scored_line<T: Serialize>(s: &Scored<T>) -> String {
    let mut out = serde_json::to_string(&s.value).unwrap();
    for (field, options) in &s.fields {
        let opts: Vec<String> = options.iter().map(|(o, p)| format!("{o}={p:.6}")).collect();
        out.push_str(&format!(" | {field}: {}", opts.join(", ")));
    }
    out
}

/// Streams `agent` and records the deltas and the final text as two lines.
async fn streamed<A>(lines: &mut Lines, label: String, rt: &Runtime, agent: &A, input: Thread)
where
    A: Streams<Thread, Output = Reply>,
{
    let mut events = agent.stream(rt, input);
    let (mut deltas, mut done) = (String::new(), None);
    while let Some(event) = events.next().await {
        match event {
            Ok(Event::Delta(d)) => deltas.push_str(&d),
            Ok(Event::Restart(why)) => deltas.push_str(&format!("<restart {why:?}>")),
            Ok(Event::Done(reply)) => done = Some(Ok(reply)),
            Ok(_) => {}
            Err(e) => done = Some(Err(e)),
        }
    }
    let Some(done) = done else {
        lines.insert(
            format!("{label}.final"),
            "ERROR: the stream ended without Done".into(),
        );
        return;
    };
    if let Some(reply) = put(lines, format!("{label}.final"), done) {
        lines.insert(
            format!("{label}.done"),
            serde_json::to_string(&reply).unwrap(),
        );
    }
    lines.insert(format!("{label}.deltas"), deltas);
}

// ---- groups ------------------------------------------------------------------
async fn fixture_group(llama: &Llama, lines: &mut Lines) {
    let path = models_dir().join("agentkit-sameness-fixture-7.gguf");
    if !path.is_file() {
        std::fs::create_dir_all(models_dir()).unwrap();
        fixture::write_fixture_model(&path, 7).unwrap();
    }
    let rt = Runtime::builder()
        .backend(llama.clone())
        .model("screen", path)
        .build();
    for (i, p) in probes().into_iter().enumerate() {
        put(
            lines,
            format!("fixture/greedy-flat/{i}"),
            FixGreedy.run(&rt, p.clone()).await,
        );
        put(
            lines,
            format!("fixture/seeded-t0.9-flat/{i}"),
            FixWarm.run(&rt, p.clone()).await,
        );
        if i < 2 {
            put(
                lines,
                format!("fixture/greedy-mixed/{i}"),
                FixGreedyMixed.run(&rt, p.clone()).await,
            );
            put(
                lines,
                format!("fixture/seeded-t1.3-topk-mixed/{i}"),
                FixHot.run(&rt, p.clone()).await,
            );
            put(
                lines,
                format!("fixture/seeded-t0.9-s8-flat/{i}"),
                FixWarm8.run(&rt, p.clone()).await,
            );
        }
        if i == 2 {
            put(
                lines,
                format!("fixture/greedy-tags/{i}"),
                FixGreedyTags.run(&rt, p.clone()).await,
            );
            put(
                lines,
                format!("fixture/min-p-penalty-tags/{i}"),
                FixMinP.run(&rt, p).await,
            );
        }
    }
}

async fn smollm2_group(llama: &Llama, lines: &mut Lines) {
    let rt = Runtime::builder().backend(llama.clone()).build();
    let ts = threads();
    for (i, t) in ts.iter().take(3).enumerate() {
        put(
            lines,
            format!("smollm2/greedy-score/{i}"),
            Score.run(&rt, t.clone()).await,
        );
    }
    for (i, t) in ts.iter().take(2).enumerate() {
        put(
            lines,
            format!("smollm2/greedy-describe/{i}"),
            Describe.run(&rt, t.clone()).await,
        );
        put(
            lines,
            format!("smollm2/seeded-t0.7-s7/{i}"),
            ScoreWarm.run(&rt, t.clone()).await,
        );
        put(
            lines,
            format!("smollm2/topk20-topp0.9/{i}"),
            ScoreTopKP.run(&rt, t.clone()).await,
        );
        put(
            lines,
            format!("smollm2/min-p0.1/{i}"),
            ScoreMinP.run(&rt, t.clone()).await,
        );
        put(
            lines,
            format!("smollm2/chain-name-worth/{i}"),
            Name.then(Worth).run(&rt, t.clone()).await,
        );
        streamed(
            lines,
            format!("smollm2/stream-draft/{i}"),
            &rt,
            &DraftStream,
            t.clone(),
        )
        .await;
    }
    put(
        lines,
        "smollm2/seeded-t0.7-s99/0".into(),
        ScoreWarm99.run(&rt, ts[2].clone()).await,
    );
    put(
        lines,
        "smollm2/repeat-penalties/0".into(),
        DraftPenalised.run(&rt, ts[0].clone()).await,
    );
    put(
        lines,
        "smollm2/dry-draft/0".into(),
        DraftDry.run(&rt, ts[2].clone()).await,
    );
    let passage = Passage { text: "To finish the setup, install the package, start the service, then open the web page in a browser and follow the steps on the screen until the local model server reports that it is ready".into() };
    put(
        lines,
        "smollm2/echo-plain/0".into(),
        Echo.run(&rt, passage.clone()).await,
    );
    put(
        lines,
        "smollm2/echo-dry/0".into(),
        EchoDry.run(&rt, passage).await,
    );

    let texts = [
        "The light is red, so stop the car now.",
        "Green light: go ahead and cross.",
    ];
    for (i, text) in texts.iter().enumerate() {
        let s = agentkit::scored(ReadLight).run(&rt, text.to_string()).await;
        take_raw();
        lines.insert(
            format!("smollm2/scored-light/{i}"),
            s.map_or_else(|e| format!("ERROR: {e}"), |s| scored_line(&s)),
        );
        let s = agentkit::scored(Name).run(&rt, ts[i + 1].clone()).await;
        take_raw();
        lines.insert(
            format!("smollm2/scored-subject/{i}"),
            s.map_or_else(|e| format!("ERROR: {e}"), |s| scored_line(&s)),
        );
    }

    // Fan-outs: 6 items, 4 at a time on a backend with 4 sequences (batched),
    // greedy only. A seeded (temperature > 0) fan-out is run one item at a
    // time: batched, its sampled items differ from run to run at b5eea95.
    for name in [
        "greedy-batched",
        "chain-greedy-batched",
        "seeded-t0.7-s7-sequential",
    ] {
        let out = match name {
            "greedy-batched" => each(Score).concurrency(4).run(&rt, ts.clone()).await,
            "chain-greedy-batched" => {
                each(Name.then(Worth))
                    .concurrency(4)
                    .run(&rt, ts.clone())
                    .await
            }
            _ => each(ScoreWarm).concurrency(1).run(&rt, ts.clone()).await,
        };
        let mut raw = take_raw();
        raw.sort();
        let items = out.map(|v| {
            v.iter()
                .map(|x| serde_json::to_string(x).unwrap())
                .collect::<Vec<_>>()
                .join("\n")
        });
        lines.insert(
            format!("smollm2/fanout-{name}/0.items"),
            items.unwrap_or_else(|e| format!("ERROR: {e}")),
        );
        lines.insert(
            format!("smollm2/fanout-{name}/0.raw-sorted"),
            raw.join("\n"),
        );
    }
}

fn server_binary() -> Option<std::path::PathBuf> {
    servers::binary().or_else(|| {
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(Into::into)
            .or_else(|| {
                std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache"))
            })?;
        let dir = cache.join("agentkit/llama-server");
        let mut found: Vec<_> = std::fs::read_dir(dir)
            .ok()?
            .flatten()
            .map(|e| e.path().join("bin/llama-server"))
            .filter(|p| p.is_file())
            .collect();
        found.sort();
        found.pop()
    })
}

async fn server_group(lines: &mut Lines) {
    let Some(binary) = server_binary() else {
        lines.insert(
            "server/unavailable".into(),
            format!(
                "no llama-server: set {} (scripts/fetch-llama-server.sh)",
                servers::BINARY_VAR
            ),
        );
        return;
    };
    // One slot, so requests never share a batch.
    let server = match LlamaServer::start(&binary, &default_model_path(), "smollm2", 1).await {
        Ok(s) => s,
        Err(e) => {
            lines.insert(
                "server/unavailable".into(),
                format!("llama-server did not start: {e}"),
            );
            return;
        }
    };
    let rt = Runtime::builder()
        .backend(Router::served_only().with_server(Server::default()))
        .served("judge", vec![Endpoint::new(&server.url, &server.alias)])
        .build();
    let ts = threads();
    put(
        lines,
        "server/greedy-score/0".into(),
        SrvScore.run(&rt, ts[0].clone()).await,
    );
    for (i, t) in ts.iter().take(2).enumerate() {
        put(
            lines,
            format!("server/chain-name-worth/{i}"),
            SrvName.then(SrvWorth).run(&rt, t.clone()).await,
        );
    }
    streamed(
        lines,
        "server/stream-draft/0".into(),
        &rt,
        &SrvDraft,
        ts[2].clone(),
    )
    .await;
}

#[tokio::main]
async fn main() {
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Capture)).unwrap();
    let args: Vec<String> = std::env::args().collect();
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map(String::as_str);
    if let Some(o) = only {
        assert!(
            ["fixture", "smollm2", "server"].contains(&o),
            "--only takes fixture, smollm2 or server"
        );
    }
    let wanted = |g: &str| only.is_none_or(|o| o == g);
    let llama = Llama::new(LlamaConfig::default().threads(2).parallel(4)).unwrap();
    let mut lines = Lines::new();
    if wanted("fixture") {
        fixture_group(&llama, &mut lines).await;
    }
    if wanted("smollm2") {
        smollm2_group(&llama, &mut lines).await;
    }
    if wanted("server") {
        server_group(&mut lines).await;
    }
    for (label, text) in &lines {
        println!("{label}\t{}", serde_json::to_string(text).unwrap());
    }
}
