//! Accuracy levers on SmolLM2-135M: the same screening job (is this forum
//! post about running language models locally?) done several ways, each
//! scored against the labels of the held-out `test` split.
//!
//! `cargo run -p agentkit-examples --example levers`

use agentkit::eval::{evaluate, EvalReport, Example};
use agentkit::prelude::*;
use agentkit::scored;
use agentkit_examples::forum::{self, Post, Relevance, Screen};

/// Decide whether a forum post is about running language models locally, on
/// one's own computer: llama.cpp, Ollama, GGUF files, quantization, local
/// speed or memory, choosing a model to run at home. Posts about cloud AI
/// services, ChatGPT, model training theory, or anything else are not.
#[agent(model = "screen", temperature = 0.0, max_tokens = 16, input = Post, output = Relevance)]
struct Plain;

/// Decide whether a forum post is about running language models locally, on
/// one's own computer: llama.cpp, Ollama, GGUF files, quantization, local
/// speed or memory, choosing a model to run at home. Posts about cloud AI
/// services, ChatGPT, model training theory, or anything else are not.
#[agent(model = "screen", temperature = 0.0, max_tokens = 16, input = Post, output = Relevance, input_format = "labelled")]
struct Labelled;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
struct Reasoned {
    /// one sentence: what the post is about, and whether that is running
    /// language models on one's own computer
    #[schemars(length(max = 150))]
    reason: String,
    /// true when the post is about running language models on one's own
    /// computer (llama.cpp, Ollama, GGUF, quantization, local speed or memory)
    relevant: bool,
}

/// Decide whether a forum post is about running language models locally, on
/// one's own computer: llama.cpp, Ollama, GGUF files, quantization, local
/// speed or memory, choosing a model to run at home. Posts about cloud AI
/// services, ChatGPT, model training theory, or anything else are not.
/// First say in one sentence what the post is about, then decide.
#[agent(
    model = "screen",
    temperature = 0.0,
    max_tokens = 80,
    input = Post,
    output = Reasoned,
    input_format = "labelled",
    examples = "data/screen_reason_examples.jsonl"
)]
struct ReasonFirst;

/// Decide whether a forum post is about running language models locally, on
/// one's own computer: llama.cpp, Ollama, GGUF files, quantization, local
/// speed or memory, choosing a model to run at home. Posts about cloud AI
/// services, ChatGPT, model training theory, or anything else are not.
#[agent(
    model = "screen",
    temperature = 0.8,
    max_tokens = 16,
    samples = 5,
    input = Post,
    output = Relevance,
    input_format = "labelled",
    examples = "data/screen_examples.jsonl"
)]
struct Voting;

fn row(name: &str, r: &EvalReport) {
    let acc = r.accuracy("relevant").unwrap_or(0.0);
    println!(
        "| {name} | {}/{} | {:.0}% ({}/{}) | {} | {} | {:.1} s |",
        r.parsed,
        r.examples,
        acc * 100.0,
        r.fields.get("relevant").map_or(0, |f| f.correct),
        r.examples,
        r.prompt_tokens,
        r.generated_tokens,
        r.elapsed.as_secs_f64()
    );
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let runtime = forum::runtime()?;
    let test = forum::load(Some("test"))?;
    let examples = || -> Vec<Example<Post>> {
        test.iter()
            .map(|t| Example {
                input: t.post(),
                expected: serde_json::json!({ "relevant": t.relevant }),
            })
            .collect()
    };
    let majority = test.iter().filter(|t| !t.relevant).count();
    println!(
        "relevance on the held-out test split ({} threads), SmolLM2-135M-Instruct Q4_1",
        test.len()
    );
    println!("majority class (always \"not relevant\"): {majority}/{}", test.len());
    println!();
    println!("| lever | parsed | relevant accuracy | prompt tokens | generated | time |");
    println!("|---|---|---|---|---|---|");
    row("none (JSON input, greedy)", &evaluate(&Plain, &runtime, examples()).await);
    row("labelled input", &evaluate(&Labelled, &runtime, examples()).await);
    row("labelled + 4 few-shot examples", &evaluate(&Screen, &runtime, examples()).await);
    let reason = ReasonFirst.map(|r: Reasoned| Relevance { relevant: r.relevant });
    row("reasoning first + few-shot", &evaluate(&reason, &runtime, examples()).await);
    let scored_plain = scored(Labelled).map(|s| s.value);
    row("scored choices, labelled", &evaluate(&scored_plain, &runtime, examples()).await);
    let scored_shots = scored(Screen).map(|s| s.value);
    row("scored choices + few-shot", &evaluate(&scored_shots, &runtime, examples()).await);
    row("voting (5 samples, t=0.8) + few-shot", &evaluate(&Voting, &runtime, examples()).await);
    Ok(())
}
