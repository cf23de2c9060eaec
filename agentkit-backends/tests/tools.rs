//! The tool loop on real models: SmolLM2-135M (the default model) and the
//! random-weight fixture. Every call the model writes is decoded under the
//! turn grammar, so its arguments are valid for the tool's schema whatever
//! the model; the second turn reuses the first one's cells.

mod common;

use agentkit::backend::OutputSchema;
use agentkit::prelude::*;
use agentkit::tool;
use agentkit::tools::{run_with_transcript, ToolOutcome, Transcript};

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
struct Question {
    question: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
struct Reply {
    #[schemars(length(max = 80))]
    text: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct PriceOf {
    /// the product's name, e.g. "keyboard"
    #[schemars(length(min = 1, max = 20))]
    product: String,
}

/// Look up the price in euros of one product in the catalogue.
#[tool]
async fn price_of(args: PriceOf) -> Result<u32, String> {
    match args.product.to_lowercase().as_str() {
        "keyboard" => Ok(45),
        "mouse" => Ok(20),
        other => Err(format!(
            "no product called {other:?}; the catalogue has keyboard and mouse"
        )),
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
struct Sum {
    #[schemars(range(max = 10000))]
    a: u32,
    #[schemars(range(max = 10000))]
    b: u32,
}

/// Add two whole numbers.
#[tool]
async fn add(args: Sum) -> u32 {
    args.a + args.b
}

/// Answer the question about prices. Look prices up with price_of and add
/// them with add before you answer.
#[agent(model = "smollm2-135m", temperature = 0.0, max_tokens = 80, input = Question,
        output = Reply, tools = [price_of, add], max_turns = 3, parallel = 2, require_call = true)]
struct Shop;

/// The same agent, sampled: the seeds differ per run.
#[agent(model = "smollm2-135m", temperature = 0.9, max_tokens = 80, input = Question,
        output = Reply, tools = [price_of, add], max_turns = 2, parallel = 2, require_call = true)]
struct ShopSampled;

/// The SmolLM2 tests run one at a time: fifty concurrent runs would push
/// the other test's cached turns out of the KV cache.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn runtime() -> Runtime {
    Runtime::builder()
        .backend(common::llama_with_threads(2).clone())
        .build()
}

/// Every call in `transcript` names a tool and has arguments its schema
/// accepts; returns how many calls there were.
fn check_calls(transcript: &Transcript) -> usize {
    let mut n = 0;
    for (call, outcome) in transcript.calls() {
        let schema = match call.tool.as_str() {
            "price_of" => OutputSchema::of::<PriceOf>(),
            "add" => OutputSchema::of::<Sum>(),
            other => panic!("a call of a tool that does not exist: {other}"),
        };
        let validator = jsonschema::validator_for(schema.full()).unwrap();
        assert!(
            validator.is_valid(&call.args),
            "arguments {} break the schema of {}",
            call.args,
            call.tool
        );
        if let ToolOutcome::Error(e) = outcome {
            assert!(!e.contains("arguments are not valid"), "{e}");
        }
        n += 1;
    }
    n
}

fn question() -> Question {
    Question {
        question: "What do a keyboard and a mouse cost together, in euros?".into(),
    }
}

#[tokio::test]
async fn smollm2_calls_tools_and_each_turn_reuses_the_cells_of_the_last() {
    let _one = ONE_AT_A_TIME.lock().await;
    let rt = runtime();
    let (transcript, answered) = match run_with_transcript(&Shop, &rt, question()).await {
        Ok((_, t)) => (t, true),
        Err(Error::ToolTurns { transcript, .. }) => (transcript, false),
        Err(other) => panic!("{other}"),
    };
    assert!(
        check_calls(&transcript) >= 1,
        "no call at all:\n{transcript}"
    );
    assert!(transcript.turns.len() >= 2, "{transcript}");
    assert!(answered || transcript.turns.len() == 3);
    // The second turn's prompt is the first one grown by the model's turn
    // and the results: what the first turn evaluated (prompt and answer) is
    // taken from the cache, all but a few tokens at the seam.
    let (first, second) = (&transcript.turns[0], &transcript.turns[1]);
    assert!(
        second.cached_prompt_tokens + 8 >= first.prompt_tokens,
        "turn 2 reused {} of turn 1's {} prompt tokens",
        second.cached_prompt_tokens,
        first.prompt_tokens
    );
    assert!(second.prompt_tokens > first.prompt_tokens);
    assert_eq!(rt.usage().tool_calls as usize, transcript.calls().count());
}

#[tokio::test]
async fn fifty_sampled_runs_on_smollm2_only_ever_write_valid_calls() {
    let _one = ONE_AT_A_TIME.lock().await;
    let rt = runtime();
    // One seed, fifty prompts that differ by a counter: fifty samplings.
    let inputs: Vec<Question> = (0..50)
        .map(|i| Question {
            question: format!("Order {i}: what do a keyboard and a mouse cost together?"),
        })
        .collect();
    let mut calls = 0;
    let mut runs_with_calls = 0;
    let mut answered = 0;
    let results = futures_util::future::join_all(
        inputs
            .into_iter()
            .map(|q| run_with_transcript(&ShopSampled, &rt, q)),
    )
    .await;
    for result in results {
        let transcript = match result {
            Ok((_, t)) => {
                answered += 1;
                t
            }
            Err(Error::ToolTurns { transcript, .. }) => transcript,
            Err(other) => panic!("{other}"),
        };
        let n = check_calls(&transcript);
        calls += n;
        runs_with_calls += usize::from(n > 0);
    }
    eprintln!("50 runs: {calls} calls in {runs_with_calls} runs, {answered} answered");
    assert!(calls >= 25, "only {calls} calls in 50 runs");
}

#[derive(Debug, Deserialize, JsonSchema)]
#[allow(dead_code)]
enum Unit {
    Metre,
    Foot,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[allow(dead_code)]
struct Convert {
    #[schemars(range(min = -100, max = 100))]
    value: i32,
    from: Unit,
    to: Unit,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct Flag {
    #[allow(dead_code)]
    done: bool,
}

/// Convert a length.
#[tool]
async fn convert(args: Convert) -> i32 {
    args.value
}

/// Answer.
// One turn, one call: the fixture's context is 512 tokens of single bytes.
#[agent(model = "fixture", temperature = 1.0, max_tokens = 100, input = Question,
        output = Flag, tools = [convert], max_turns = 1, parallel = 1, require_call = true)]
struct Random;

#[tokio::test]
async fn random_weights_only_ever_write_calls_their_schemas_accept() {
    let rt = Runtime::builder()
        .backend(common::llama_with_threads(2).clone())
        .model("fixture", common::fixture_model())
        .build();
    let mut calls = 0;
    for i in 0..12 {
        let q = Question {
            question: format!("run {i}"),
        };
        let transcript = match run_with_transcript(&Random, &rt, q).await {
            Ok((_, t)) => t,
            Err(Error::ToolTurns { transcript, .. }) => transcript,
            Err(other) => panic!("{other}"),
        };
        for (call, _) in transcript.calls() {
            let schema = match call.tool.as_str() {
                "convert" => OutputSchema::of::<Convert>(),
                other => panic!("no such tool: {other}"),
            };
            let validator = jsonschema::validator_for(schema.full()).unwrap();
            assert!(validator.is_valid(&call.args), "{}", call.args);
            calls += 1;
        }
    }
    assert!(calls > 0, "random weights never called a tool in 12 runs");
}
