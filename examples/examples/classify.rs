//! An enum classifier with its confidence: the output type is a fieldless
//! enum, so the model can only answer one of its variants, and scored choices
//! report how sure it is.
//!
//! `cargo run -p agentkit-examples --example classify`

use agentkit::prelude::*;

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct Ticket {
    text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Department {
    Billing,
    TechnicalSupport,
    Sales,
}

/// Route the customer message to the department that should handle it.
#[agent(model = "smollm2-135m", temperature = 0.0, max_tokens = 8, input = Ticket, output = Department)]
struct Route;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let runtime = agentkit_examples::local_runtime()?;
    for text in [
        "I was charged twice for my subscription this month, please refund one payment.",
        "The app crashes with error 0x80070005 every time I open the settings page.",
        "Do you offer a discount if we buy forty seats for our team?",
    ] {
        let answer = scored(Route)
            .run(&runtime, Ticket { text: text.into() })
            .await?;
        println!(
            "{:?} ({:.0}% sure)  <- {text}",
            answer.value,
            answer.confidence() * 100.0
        );
        for (option, p) in &answer.fields[0].1 {
            println!("    {option:<20} {p:.3}");
        }
    }
    Ok(())
}
