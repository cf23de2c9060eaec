use agentkit::prelude::*;

#[derive(Serialize, JsonSchema)]
struct Thread {
    title: String,
    body: String,
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct Verdict {
    relevant: bool,
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct Summary {
    text: String,
}

#[derive(Deserialize, JsonSchema)]
struct Tags {
    tags: Vec<String>,
}

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", input = Thread, output = Verdict)]
struct Score;

/// Summarise the text in one sentence.
#[agent(model = "smollm2-135m", input = Summary, output = Summary)]
struct Shorten;

/// Tag the summary with up to three topics.
#[agent(model = "smollm2-135m", input = Summary, output = Tags)]
struct Tag;

fn main() {
    // `Shorten` takes a `Summary`, but `Score` yields a `Verdict`: one error,
    // at `Shorten`, naming both types; `.then(Tag)` after it is not blamed.
    let _pipeline = Score.then(Shorten).then(Tag);
}
