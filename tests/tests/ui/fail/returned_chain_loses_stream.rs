// The mistake the Chains chapter's `-> impl Step<..>` invites: the chain
// streams, but its return type does not say so, so `.stream` is not there.
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

fn drafts() -> impl Step<Thread, Output = Reply> {
    tool("clean", |t: Thread| async move { Ok::<_, std::io::Error>(t) }).then(Draft)
}

fn main() {
    let runtime = Runtime::builder().build();
    let _ = drafts().stream(&runtime, Thread { title: "t".into() });
}
