use agentkit::prelude::*;

#[derive(Serialize, JsonSchema)]
struct Thread {
    title: String,
}

#[derive(Deserialize, JsonSchema)]
struct Verdict {
    relevant: bool,
}

#[agent(model = "smollm2-135m", input = Thread, output = Verdict)]
struct Score;

fn main() {}
