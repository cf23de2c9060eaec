use agentkit::prelude::*;

#[derive(Serialize, JsonSchema)]
struct Text {
    text: String,
}

#[derive(Deserialize, JsonSchema)]
struct Reply {
    reply: String,
}

/// Write a reply.
#[agent(
    model = "smollm2-135m",
    input = Text,
    output = Reply,
    dry_multiplier = 0,
    dry_base = 0.5,
    dry_allowed_length = 0,
)]
struct Draft;

/// A base alone turns nothing on.
#[agent(model = "smollm2-135m", input = Text, output = Reply, dry_base = 1.75)]
struct Lonely;

fn main() {}
