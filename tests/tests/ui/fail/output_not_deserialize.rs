use agentkit::prelude::*;

#[derive(Serialize, JsonSchema)]
struct Thread {
    title: String,
}

// Derives `Serialize` where the output needs `Deserialize`.
#[derive(Serialize, JsonSchema)]
struct Verdict {
    relevant: bool,
}

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", input = Thread, output = Verdict)]
struct Score;

fn main() {}
