// A framework that re-exports agentkit under its own name; its users never
// name `agentkit` directly.
mod framework {
    pub use ::agentkit as llm;
}

use framework::llm::prelude::*;

#[derive(Serialize, JsonSchema)]
struct Text {
    text: String,
}

#[derive(Deserialize, JsonSchema)]
struct Mood {
    positive: bool,
}

/// Say whether the text is positive.
#[agent(crate = framework::llm, model = "smollm2-135m", input = Text, output = Mood)]
struct Sentiment;

fn main() {
    assert_eq!(<Sentiment as framework::llm::Agent>::NAME, "Sentiment");
}
