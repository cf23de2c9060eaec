use agentkit::prelude::*;
use agentkit::tool;

#[derive(Serialize, Deserialize, JsonSchema)]
struct Thread {
    title: String,
}

/// Pick the one most promising thread for the topic.
#[agent(model = "smollm2-135m", input = String, output = Thread)]
struct FindOne;

fn main() {
    // The tool takes a URL string, but the agent before it yields a `Thread`.
    let fetch = tool("fetch", |url: String| async move { Ok::<_, std::io::Error>(url.len()) });
    let _pipeline = FindOne.then(fetch);
}
