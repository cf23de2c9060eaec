//! The thesis, measured: one do-everything prompt against small typed agents,
//! same model (SmolLM2-135M-Instruct Q4_1), same seed, same held-out threads.
//!
//! (a) one prompt asks for every answer as JSON, free text, parsed afterwards;
//! (b) the same prompt with decoding constrained by the answer's JSON schema;
//! (c) the agentkit chain of `examples/src/forum/` (screen → judge +
//!     classify → draft), each step typed and constrained.
//!
//! `cargo run -p agentkit-examples --example thesis [-- --split dev|test|all]`

use std::time::Instant;

use agentkit::backend::{Backend, Request};
use agentkit::prelude::*;
use agentkit_examples::forum::{self, LabelledThread, Split, Thread, Topic};
use clap::Parser;

/// The thesis, measured: one do-everything prompt (free text, then
/// schema-constrained) against the chain of small typed agents, on the same
/// model and the same labelled threads. Prints a Markdown table.
#[derive(Parser)]
struct Args {
    /// Which threads of the labelled corpus to score on
    #[arg(long, value_enum, default_value_t = Split::Test)]
    split: Split,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct Everything {
    /// true when the thread is about running language models locally
    relevant: bool,
    /// true when it is relevant, asks a concrete question the replies have not
    /// answered, and is not a showcase, announcement or rant
    worth_answering: bool,
    /// hardware, performance, models, or other
    topic: Topic,
    /// a short reply to the thread
    #[schemars(length(max = 200))]
    reply: String,
}

/// You help a team that answers forum threads about running language models
/// locally (llama.cpp, Ollama, GGUF files, quantization, local hardware and
/// speed). For the thread below: say whether it is relevant to that subject;
/// whether it is worth answering (relevant, asks a concrete question that the
/// replies have not answered, not a showcase, announcement or rant); its topic
/// (hardware, performance, models or other; other for anything not relevant);
/// and draft a short reply. Answer with JSON only.
#[agent(model = "screen", temperature = 0.0, max_tokens = 240, input = Thread, output = Everything, input_format = "labelled")]
struct Monolith;

#[derive(Default)]
struct Tally {
    parsed: usize,
    relevant: usize,
    worth: usize,
    topic: usize,
    generated: u64,
    seconds: f64,
}

impl Tally {
    fn score(&mut self, label: &LabelledThread, relevant: bool, worth: bool, topic: Topic) {
        self.relevant += usize::from(relevant == label.relevant);
        self.worth += usize::from(worth == label.worth_answering);
        self.topic += usize::from(topic == label.topic);
    }

    fn row(&self, name: &str, n: usize) {
        println!(
            "| {name} | {}/{n} | {}/{n} | {}/{n} | {}/{n} | {} | {:.0} s |",
            self.parsed, self.relevant, self.worth, self.topic, self.generated, self.seconds
        );
    }
}

/// The first `{ ... }` in free text, parsed leniently: a fair chance for
/// unconstrained output wrapped in prose or code fences.
fn parse_free(text: &str) -> Option<Everything> {
    let start = text.find('{')?;
    let end = text.rfind('}')?;
    serde_json::from_str(text.get(start..=end)?).ok()
}

/// The one prompt for `thread`, sent as is (free) or under the schema.
fn monolith_request(runtime: &Runtime, thread: &Thread) -> Result<Request, Error> {
    Request::for_agent::<Monolith>(runtime, thread)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let split = Args::parse().split;
    let llama = agentkit_examples::llama()?;
    let runtime = forum::runtime_with(llama.clone())?;
    let corpus = forum::load(split)?;
    let n = corpus.len();
    let threads: Vec<Thread> = corpus.iter().map(LabelledThread::thread).collect();

    // (a) one prompt, free text
    let mut free = Tally::default();
    let started = Instant::now();
    for (label, thread) in corpus.iter().zip(&threads) {
        let request = monolith_request(&runtime, thread)?;
        let c = llama.generate_unconstrained(request).await?;
        free.generated += c.generated_tokens as u64;
        // Output that does not parse answers nothing: every label counts as wrong.
        if let Some(e) = parse_free(&c.text) {
            free.parsed += 1;
            free.score(label, e.relevant, e.worth_answering, e.topic);
        }
    }
    free.seconds = started.elapsed().as_secs_f64();

    // (b) one prompt, constrained
    let mut constrained = Tally::default();
    let started = Instant::now();
    for (label, thread) in corpus.iter().zip(&threads) {
        let request = monolith_request(&runtime, thread)?;
        match llama.generate(request).await {
            Ok(c) => {
                constrained.generated += c.generated_tokens as u64;
                if let Ok(e) = agentkit::parse_output::<Everything>("Monolith", &c.text) {
                    constrained.parsed += 1;
                    constrained.score(label, e.relevant, e.worth_answering, e.topic);
                }
            }
            Err(e) => eprintln!("monolith, constrained: {e}"),
        }
    }
    constrained.seconds = started.elapsed().as_secs_f64();

    // (c) the chain
    let mut chain = Tally::default();
    let before = runtime.usage();
    let started = Instant::now();
    let outcomes = forum::research(&runtime, threads.clone()).await?;
    chain.seconds = started.elapsed().as_secs_f64();
    chain.generated = runtime.usage().generated_tokens - before.generated_tokens;
    for (label, o) in corpus.iter().zip(&outcomes) {
        chain.parsed += 1;
        chain.score(
            label,
            o.relevant,
            o.worth_answering.unwrap_or(false),
            o.topic.map_or(Topic::Other, |t| t.0),
        );
    }

    let majority = |f: &dyn Fn(&LabelledThread) -> bool| {
        let yes = corpus.iter().filter(|l| f(l)).count();
        yes.max(n - yes)
    };
    let topic_majority = [
        Topic::Hardware,
        Topic::Performance,
        Topic::Models,
        Topic::Other,
    ]
    .iter()
    .map(|t| corpus.iter().filter(|l| l.topic == *t).count())
    .max()
    .unwrap_or(0);
    println!(
        "SmolLM2-135M-Instruct Q4_1, seed 42, {} threads of the {} split, {} llama.cpp threads",
        n,
        match split {
            Split::Dev => "dev",
            Split::Test => "test",
            Split::All => "whole",
            Split::Holdout2 => "holdout2",
        },
        agentkit_examples::threads()
            .unwrap_or_else(|| { std::thread::available_parallelism().map_or(1, usize::from) })
    );
    println!();
    println!(
        "| way | parses | relevant | worth answering | topic | generated tokens | wall time |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| majority-class guess | — | {}/{n} | {}/{n} | {topic_majority}/{n} | — | — |",
        majority(&|l| l.relevant),
        majority(&|l| l.worth_answering)
    );
    free.row("(a) one prompt, free text parsed after", n);
    constrained.row("(b) one prompt, schema-constrained", n);
    chain.row("(c) agentkit chain", n);
    Ok(())
}
