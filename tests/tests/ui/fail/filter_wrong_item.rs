use agentkit::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema)]
struct Verdict {
    relevant: bool,
}

/// Score every thread title for relevance.
#[agent(model = "smollm2-135m", input = Vec<String>, output = Vec<Verdict>)]
struct ScoreAll;

fn main() {
    // The items are `Verdict`s; the closure was written for titles.
    let _pipeline = ScoreAll.filter(|title: &String| title.len() > 3);
}
