use agentkit::prelude::*;

#[derive(Serialize, JsonSchema)]
struct Thread {
    title: String,
}

#[derive(Deserialize, JsonSchema)]
struct Verdict {
    relevant: bool,
}

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", input = Thread, output = Verdict)]
enum Score {
    Strict,
    Lenient,
}

fn main() {}
