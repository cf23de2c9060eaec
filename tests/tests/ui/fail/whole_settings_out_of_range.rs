use agentkit::prelude::*;

#[derive(Serialize, JsonSchema)]
struct Text {
    text: String,
}

#[derive(Deserialize, JsonSchema)]
struct Reply {
    reply: String,
}

// Whole-number settings read the same table of ranges as the runtime's
// pre-flight: a window of no tokens and a DRY length past 64 are refused at
// their values, as `Repetition::DEFAULT.with_window(0)` is refused by hand;
// so is a think block of no tokens.
/// Write a reply.
#[agent(
    model = "smollm2-135m",
    input = Text,
    output = Reply,
    repeat_penalty = 1.1,
    repeat_window = 0,
    dry_multiplier = 0.8,
    dry_allowed_length = 65,
    top_k = 0,
    think_budget = 0,
)]
struct Draft;

fn main() {}
