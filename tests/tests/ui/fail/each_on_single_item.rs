use agentkit::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema)]
struct Thread {
    title: String,
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct Verdict {
    relevant: bool,
}

/// Pick the one most promising thread for the topic.
#[agent(model = "smollm2-135m", input = String, output = Thread)]
struct FindOne;

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", input = Thread, output = Verdict)]
struct Score;

fn main() {
    // `FindOne` yields one `Thread`, not a list: `.each` has nothing to iterate.
    let _pipeline = FindOne.each(Score);
}
