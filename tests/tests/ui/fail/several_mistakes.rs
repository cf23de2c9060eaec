use agentkit::prelude::*;

#[derive(Serialize, JsonSchema)]
struct Thread {
    title: String,
}

#[derive(Deserialize, JsonSchema)]
struct Verdict {
    relevant: bool,
}

// No model, a typo, a temperature out of range, and `max_tokens` as a string:
// every one is reported, not just the first.
/// Decide whether a forum thread is about running language models locally.
#[agent(temprature = 0.2, top_p = 2.0, max_tokens = "64", input = Thread, output = Verdict)]
struct Score;

fn main() {}
