use agentkit::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema)]
struct Thread {
    title: String,
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct Verdict {
    relevant: bool,
}

/// Decide whether a forum thread is about running language models locally.
// The manifest declares `qwen-1.5b`; this is a typo.
#[agent(model = "qwen-1.5", input = Thread, output = Verdict)]
struct Score;

fn main() {}
