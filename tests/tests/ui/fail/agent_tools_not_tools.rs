use agentkit::prelude::*;

#[derive(Serialize, JsonSchema)]
struct Question {
    question: String,
}

#[derive(Deserialize, JsonSchema)]
struct Reply {
    text: String,
}

struct NotATool;

/// Answer the question.
#[agent(model = "smollm2-135m", input = Question, output = Reply, tools = [NotATool], max_turns = 0)]
struct Ask;

/// Answer the question.
#[agent(model = "smollm2-135m", input = Question, output = Reply, tools = "search")]
struct AskAgain;

fn main() {}
