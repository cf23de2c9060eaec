use agentkit::prelude::*;

#[derive(Deserialize, JsonSchema)]
struct Verdict {
    relevant: bool,
}

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", output = Verdict)]
struct Score;

fn main() {}
