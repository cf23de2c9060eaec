// A function that returns a chain must keep it streaming: this one ends in
// `.map(...)`, which does not stream.
use agentkit::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema)]
struct Thread {
    title: String,
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct Reply {
    text: String,
}

/// Reply to the thread.
#[agent(model = "smollm2-135m", input = Thread, output = Reply)]
struct Draft;

fn drafts() -> impl Streams<Thread, Output = String> {
    Draft.map(|reply: Reply| reply.text)
}

fn main() {
    let _ = drafts();
}
