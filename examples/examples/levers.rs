//! Accuracy levers on SmolLM2-135M: the same screening job (is this forum
//! thread about running language models locally?) done several ways, each
//! scored against the labels of the held-out `test` split. Thresholds for
//! scored choices are picked on the `dev` split only.
//!
//! `cargo run -p agentkit-examples --example levers`

use agentkit::eval::{evaluate, EvalReport};
use agentkit::prelude::*;
use agentkit::Scored;
use agentkit_examples::forum::{self, LabelledThread, Screen, Split, Subject, Subjected, Thread};
use clap::Parser;

/// Accuracy levers on SmolLM2-135M: the same screening job (is this forum
/// thread about running language models locally?) done several ways, each
/// scored against the labels of the held-out test split; thresholds are
/// picked on the dev split only. Prints a Markdown table. Takes no options.
#[derive(Parser)]
struct Args {}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
struct Relevance {
    /// true when the thread is about running language models on one's own
    /// computer (llama.cpp, Ollama, GGUF, quantization, local speed or memory)
    relevant: bool,
}

/// Decide whether a forum thread is about running language models locally, on
/// one's own computer: llama.cpp, Ollama, GGUF files, quantization, local
/// speed or memory, choosing a model to run at home. Threads about cloud AI
/// services, ChatGPT, model training theory, or anything else are not.
#[agent(model = "screen", temperature = 0.0, max_tokens = 16, input = Thread, output = Relevance)]
struct Plain;

/// Decide whether a forum thread is about running language models locally, on
/// one's own computer: llama.cpp, Ollama, GGUF files, quantization, local
/// speed or memory, choosing a model to run at home. Threads about cloud AI
/// services, ChatGPT, model training theory, or anything else are not.
#[agent(model = "screen", temperature = 0.0, max_tokens = 16, input = Thread, output = Relevance, input_format = "labelled")]
struct Labelled;

/// Decide whether a forum thread is about running language models locally, on
/// one's own computer: llama.cpp, Ollama, GGUF files, quantization, local
/// speed or memory, choosing a model to run at home. Threads about cloud AI
/// services, ChatGPT, model training theory, or anything else are not.
#[agent(
    model = "screen",
    temperature = 0.0,
    max_tokens = 16,
    input = Thread,
    output = Relevance,
    input_format = "labelled",
    examples = "data/screen_examples.jsonl"
)]
struct FewShot;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
struct Reasoned {
    /// one sentence: what the thread is about, and whether that is running
    /// language models on one's own computer
    #[schemars(length(max = 150))]
    reason: String,
    /// true when the thread is about running language models on one's own computer
    relevant: bool,
}

/// Decide whether a forum thread is about running language models locally, on
/// one's own computer. First say in one sentence what the thread is about,
/// then decide.
#[agent(
    model = "screen",
    temperature = 0.0,
    max_tokens = 80,
    input = Thread,
    output = Reasoned,
    input_format = "labelled",
    examples = "data/screen_reason_examples.jsonl"
)]
struct ReasonFirst;

/// Decide whether a forum thread is about running language models locally, on
/// one's own computer: llama.cpp, Ollama, GGUF files, quantization, local
/// speed or memory, choosing a model to run at home. Threads about cloud AI
/// services, ChatGPT, model training theory, or anything else are not.
#[agent(
    model = "screen",
    temperature = 0.8,
    max_tokens = 16,
    samples = 5,
    input = Thread,
    output = Relevance,
    input_format = "labelled",
    examples = "data/screen_examples.jsonl"
)]
struct Voting;

fn row(name: &str, r: &EvalReport) {
    let f = r.fields.get("relevant").cloned().unwrap_or_default();
    println!(
        "| {name} | {}/{} | {}/{} ({:.0}%) | {} | {:.0} s |",
        r.parsed,
        r.examples,
        f.correct,
        f.total,
        f.accuracy() * 100.0,
        r.generated_tokens,
        r.elapsed.as_secs_f64()
    );
}

/// Probability of "relevant" per thread, by a scored step.
async fn probabilities<S, F>(
    step: &S,
    runtime: &Runtime,
    threads: &[LabelledThread],
    p: F,
) -> Result<Vec<(bool, f64)>, Error>
where
    S: Step<Thread>,
    F: Fn(&S::Output) -> f64,
{
    let mut out = Vec::new();
    for t in threads {
        out.push((t.relevant, p(&step.run(runtime, t.thread()).await?)));
    }
    Ok(out)
}

fn accuracy(rows: &[(bool, f64)], threshold: f64) -> usize {
    rows.iter()
        .filter(|(label, p)| (*p >= threshold) == *label)
        .count()
}

/// The dev threshold with the best dev accuracy (ties: the lowest), and its test accuracy.
fn calibrate(dev: &[(bool, f64)], test: &[(bool, f64)]) -> (f64, usize, usize) {
    let mut best = (0.5, 0);
    let mut candidates: Vec<f64> = dev.iter().map(|r| r.1).collect();
    candidates.sort_by(f64::total_cmp);
    for t in candidates {
        let a = accuracy(dev, t);
        if a > best.1 {
            best = (t, a);
        }
    }
    (best.0, best.1, accuracy(test, best.0))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    Args::parse();
    let runtime = forum::runtime()?;
    let dev = forum::load(Split::Dev)?;
    let test = forum::load(Split::Test)?;
    let majority = test.iter().filter(|t| !t.relevant).count();
    println!(
        "relevance on the held-out test split ({} threads), SmolLM2-135M-Instruct Q4_1, seed 42",
        test.len()
    );
    println!(
        "majority class (always \"not relevant\"): {majority}/{}",
        test.len()
    );
    println!();
    println!("| lever | parsed | relevant right | generated tokens | time |");
    println!("|---|---|---|---|---|");
    row(
        "none (JSON input, greedy)",
        &evaluate(&Plain, &runtime, forum::relevance_examples(&test)).await,
    );
    row(
        "labelled input",
        &evaluate(&Labelled, &runtime, forum::relevance_examples(&test)).await,
    );
    row(
        "labelled + 4 few-shot examples",
        &evaluate(&FewShot, &runtime, forum::relevance_examples(&test)).await,
    );
    let reason = ReasonFirst.map(|r: Reasoned| Relevance {
        relevant: r.relevant,
    });
    row(
        "reasoning first + few-shot",
        &evaluate(&reason, &runtime, forum::relevance_examples(&test)).await,
    );
    row(
        "voting (5 samples, t=0.8) + few-shot",
        &evaluate(&Voting, &runtime, forum::relevance_examples(&test)).await,
    );

    let p_true = |s: &Scored<Relevance>| s.probability("relevant", &true).unwrap_or(0.0);
    let yes_no = agentkit::scored(FewShot);
    let (th, d, t) = calibrate(
        &probabilities(&yes_no, &runtime, &dev, p_true).await?,
        &probabilities(&yes_no, &runtime, &test, p_true).await?,
    );
    println!("| scored choices true/false + few-shot, P(true) >= {th:.2} (dev {d}/30) | 30/30 | {t}/30 ({:.0}%) | 0 | |", t as f64 / 0.3);

    let p_local = |s: &Scored<Subjected>| {
        s.probability("subject", &Subject::LocalAiModels)
            .unwrap_or(0.0)
    };
    let subject = agentkit::scored(Screen);
    let dev_p = probabilities(&subject, &runtime, &dev, p_local).await?;
    let test_p = probabilities(&subject, &runtime, &test, p_local).await?;
    let (th, d, t) = calibrate(&dev_p, &test_p);
    println!("| scored choices over 9 subjects, P(local_ai_models) >= {th:.2} (dev {d}/30) | 30/30 | {t}/30 ({:.0}%) | 0 | |", t as f64 / 0.3);
    println!();
    println!("threshold curve for the subject lever (dev / test accuracy):");
    for th in [0.5, 0.6, 0.7, 0.75, 0.8, 0.84, 0.9] {
        println!(
            "  {th:.2}: {}/30  {}/30",
            accuracy(&dev_p, th),
            accuracy(&test_p, th)
        );
    }
    Ok(())
}
