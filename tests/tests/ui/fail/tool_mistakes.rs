use agentkit::prelude::*;
use agentkit::tool;

#[derive(Deserialize, JsonSchema)]
struct Sum {
    a: u32,
    b: u32,
}

// No doc comment, and not async.
#[tool]
fn add(args: Sum) -> u32 {
    args.a + args.b
}

/// Two arguments.
#[tool(timeout = 5)]
async fn add_two(a: u32, b: u32) -> u32 {
    a + b
}

fn main() {}
