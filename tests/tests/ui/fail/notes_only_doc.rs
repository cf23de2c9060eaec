use agentkit::prelude::*;
use agentkit::tool;

#[derive(Serialize, JsonSchema)]
struct Thread {
    title: String,
}

#[derive(Deserialize, JsonSchema)]
struct Verdict {
    relevant: bool,
}

/// # Notes
///
/// Everything here is under a heading, so the model reads none of it.
#[agent(model = "smollm2-135m", input = Thread, output = Verdict)]
struct Score;

#[derive(Deserialize, JsonSchema)]
struct Sum {
    a: u32,
    b: u32,
}

/// ## Why
/// Adds two numbers, but under a heading.
#[tool]
async fn add(args: Sum) -> u32 {
    args.a + args.b
}

fn main() {}
