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
    repeat_penalty = 0,
    presence_penalty = 3.5,
    min_p = 1.5,
)]
struct Draft;

/// A window alone changes nothing.
#[agent(model = "smollm2-135m", input = Text, output = Reply, repeat_window = 64)]
struct Lonely;

fn main() {}
