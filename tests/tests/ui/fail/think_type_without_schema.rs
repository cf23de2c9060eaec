use agentkit::prelude::*;

#[derive(Serialize, JsonSchema)]
struct Text {
    text: String,
}

#[derive(Deserialize, JsonSchema)]
struct Mood {
    positive: bool,
}

/// No `JsonSchema`: it cannot shape a think block.
struct Musing {
    note: String,
}

// The think type needs a schema, like the output: the error points at it.
/// Say whether the text is positive.
#[agent(model = "smollm2-135m", input = Text, output = Mood, think = Musing)]
struct Sentiment;

fn main() {}
