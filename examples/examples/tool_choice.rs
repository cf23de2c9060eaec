//! Typed tool choice: the agent's output is an enum of actions, decoded under
//! the grammar, so the choice and its arguments are always well-formed, and a
//! plain Rust `match` dispatches them to Rust functions.
//!
//! `cargo run -p agentkit-examples --example tool_choice`

use agentkit::prelude::*;

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct Question {
    question: String,
    /// what earlier tool calls returned, if anything
    notes: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
enum Action {
    /// look up the price of a product in the catalogue
    PriceOf {
        #[schemars(length(max = 40))]
        product: String,
    },
    /// add two numbers
    Add { a: u32, b: u32 },
    /// give the final answer
    Answer {
        #[schemars(length(max = 200))]
        text: String,
    },
}

/// Decide the next action to answer the question. Use PriceOf to look up a
/// price, Add to add numbers, and Answer once the notes hold what you need.
#[agent(model = "smollm2-135m", temperature = 0.0, max_tokens = 60, input = Question, output = Action)]
struct Decide;

fn price_of(product: &str) -> Option<u32> {
    match product.to_lowercase().as_str() {
        p if p.contains("keyboard") => Some(45),
        p if p.contains("mouse") => Some(20),
        _ => None,
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let runtime = agentkit_examples::local_runtime()?;
    let mut q = Question {
        question: "How much does the keyboard cost?".into(),
        notes: Vec::new(),
    };
    for step in 1..=4 {
        let action = Decide
            .run(
                &runtime,
                Question {
                    question: q.question.clone(),
                    notes: q.notes.clone(),
                },
            )
            .await?;
        println!("step {step}: {action:?}");
        match action {
            Action::PriceOf { product } => {
                let note = match price_of(&product) {
                    Some(p) => format!("the {product} costs {p} euros"),
                    None => format!("no product called {product:?} in the catalogue"),
                };
                println!("        -> {note}");
                q.notes.push(note);
            }
            Action::Add { a, b } => {
                let note = format!("{a} + {b} = {}", a.saturating_add(b));
                println!("        -> {note}");
                q.notes.push(note);
            }
            Action::Answer { text } => {
                println!("answer: {text}");
                return Ok(());
            }
        }
    }
    println!("no answer after 4 steps (a 135M model may loop; a bigger GGUF decides better)");
    Ok(())
}
