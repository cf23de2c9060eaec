use agentkit::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema)]
struct Thread {
    title: String,
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct Verdict {
    relevant: bool,
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct Summary {
    text: String,
}

// Examples of another agent's output: `Summary`, where `Score` answers `Verdict`.
fn score_examples() -> Vec<(Thread, Summary)> {
    vec![(
        Thread { title: "llama.cpp on a Pi".into() },
        Summary { text: "asks about llama.cpp".into() },
    )]
}

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", input = Thread, output = Verdict, examples = score_examples)]
struct Score;

fn main() {}
