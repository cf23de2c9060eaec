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
// The path is relative to the crate's Cargo.toml, and there is no such file.
#[agent(model = "smollm2-135m", input = Thread, output = Verdict, examples = "data/missing.jsonl")]
struct Score;

fn main() {}
