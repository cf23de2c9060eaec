use agentkit::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema)]
struct Thread {
    title: String,
    body: String,
}

#[derive(Serialize, JsonSchema)]
struct Forum {
    name: String,
}

#[derive(Deserialize, JsonSchema)]
struct Verdict {
    relevant: bool,
}

/// List the threads on the forum's front page.
#[agent(model = "smollm2-135m", input = Forum, output = Vec<Thread>)]
struct Fetch;

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", input = Thread, output = Verdict)]
struct Score;

fn main() {
    let _pipeline = Fetch.then(Score);
}
