//! The README's agent, run once on the default local model.
//!
//! `cargo run -p agentkit-examples --example quickstart`

use agentkit::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema, Debug)]
struct Thread {
    title: String,
    body: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug)]
struct Verdict {
    /// true when the thread asks about running models locally
    relevant: bool,
    /// one short sentence saying why
    reason: String,
}

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", temperature = 0.2, max_tokens = 96, input = Thread, output = Verdict)]
struct Score;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let runtime = agentkit_examples::local_runtime()?;
    let thread = Thread {
        title: "Running a 1B model on an old laptop".into(),
        body: "Is llama.cpp with a Q4 quant usable on 8 GB of RAM and no GPU?".into(),
    };
    let verdict: Verdict = Score.run(&runtime, thread).await?;
    println!(
        "relevant: {}\nreason:   {}",
        verdict.relevant, verdict.reason
    );
    Ok(())
}
