//! Tools over several turns: the agent looks prices up and adds them, each
//! call decoded under the grammar, the results fed back, until it answers.
//! Prints each turn (what the model wrote, the calls and their results) and
//! the prompt tokens each turn evaluated, with the previous turns' cells
//! reused and, with `--no-reuse`, evaluated again.
//!
//! `cargo run -p agentkit-examples --example tool_choice [-- --no-reuse] [--model ALIAS]`

use agentkit::prelude::*;
use agentkit::tool;
use agentkit::tools::run_with_transcript;
use agentkit_backends::llama::{Llama, LlamaConfig};

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct Question {
    question: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct Reply {
    #[schemars(length(max = 120))]
    text: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct PriceOf {
    /// one product's name, e.g. "keyboard"
    #[schemars(length(min = 1, max = 30))]
    product: String,
}

/// Look up the price in euros of one product in the catalogue.
#[tool]
async fn price_of(args: PriceOf) -> Result<u32, String> {
    let p = args.product.to_lowercase();
    if p.contains("keyboard") {
        Ok(45)
    } else if p.contains("mouse") {
        Ok(20)
    } else {
        Err(format!(
            "no product called {:?}; the catalogue has keyboard and mouse",
            args.product
        ))
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
struct Sum {
    #[schemars(range(max = 100000))]
    a: u32,
    #[schemars(range(max = 100000))]
    b: u32,
}

/// Add two whole numbers.
#[tool]
async fn add(args: Sum) -> u32 {
    args.a.saturating_add(args.b)
}

/// Answer the question about prices. Look each price up with price_of, add
/// them with add, and answer with the total.
#[agent(model = "tools", temperature = 0.0, max_tokens = 96, input = Question, output = Reply,
        tools = [price_of, add], max_turns = 4, parallel = 2, require_call = true)]
struct Shop;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    let reuse = !args.iter().any(|a| a == "--no-reuse");
    let model = args
        .iter()
        .position(|a| a == "--model")
        .and_then(|i| args.get(i + 1))
        .map_or("smollm2-135m", String::as_str);
    let mut config = LlamaConfig::default().reuse_prefix(reuse);
    if let Some(n) = agentkit_examples::threads() {
        config = config.threads(n);
    }
    let runtime = Runtime::builder()
        .backend(Llama::new(config)?)
        .alias("tools", model)
        .build();
    let question = Question {
        question: "What do a keyboard and a mouse cost together?".into(),
    };
    let started = std::time::Instant::now();
    let result = run_with_transcript(&Shop, &runtime, question).await;
    let elapsed = started.elapsed();
    let (reply, transcript) = match result {
        Ok((reply, t)) => (Some(reply), t),
        Err(Error::ToolTurns { transcript, .. }) => (None, transcript),
        Err(e) => return Err(e),
    };
    println!(
        "model {model}, prefix reuse {}",
        if reuse { "on" } else { "off" }
    );
    for (i, turn) in transcript.turns.iter().enumerate() {
        println!(
            "turn {}: {} prompt tokens, {} from the cache, {} evaluated",
            i + 1,
            turn.prompt_tokens,
            turn.cached_prompt_tokens,
            turn.prompt_tokens - turn.cached_prompt_tokens
        );
        println!("  wrote {}", turn.text.trim());
        for (call, outcome) in &turn.calls {
            println!("  {} {} -> {outcome:?}", call.tool, call.args);
        }
    }
    match reply {
        Some(r) => println!("answer: {}", r.text),
        None => println!(
            "no answer within 4 turns (a 135M model may loop; a bigger GGUF decides better)"
        ),
    }
    let usage = runtime.usage();
    println!(
        "{} turns, {} tool calls, {} prompt tokens of which {} cached, {:.2} s",
        usage.calls,
        usage.tool_calls,
        usage.prompt_tokens,
        usage.cached_prompt_tokens,
        elapsed.as_secs_f64()
    );
    Ok(())
}
