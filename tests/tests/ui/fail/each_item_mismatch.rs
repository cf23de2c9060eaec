use agentkit::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema)]
struct Thread {
    title: String,
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct Verdict {
    relevant: bool,
}

/// List the threads that mention the topic.
#[agent(model = "smollm2-135m", input = String, output = Vec<String>)]
struct FindTitles;

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", input = Thread, output = Verdict)]
struct Score;

fn main() {
    // Each item is a `String` title, but `Score` takes a whole `Thread`.
    let _pipeline = FindTitles.each(Score);
}
