use agentkit::prelude::*;
use agentkit::tool;

#[derive(Serialize, JsonSchema)]
struct Question {
    question: String,
}

#[derive(Deserialize, JsonSchema)]
struct Reply {
    text: String,
}

#[derive(Deserialize, JsonSchema)]
struct Query {
    words: String,
}

mod catalogue {
    use agentkit::prelude::*;
    use agentkit::tool;

    #[derive(Deserialize, JsonSchema)]
    pub struct Id {
        pub id: u32,
    }

    /// Fetch one item by id.
    #[tool(timeout_ms = 500)]
    pub async fn fetch(args: Id) -> Result<String, std::io::Error> {
        Ok(format!("item {}", args.id))
    }
}

/// Search the catalogue.
#[tool]
async fn search(args: Query) -> Vec<String> {
    vec![args.words]
}

/// Answer the question from the catalogue.
#[agent(model = "smollm2-135m", input = Question, output = Reply,
        tools = [search, catalogue::fetch], tool_sources = ["files"], max_turns = 6, parallel = 2)]
struct Ask;

fn main() {
    let uses = <Ask as Agent>::tool_use();
    assert_eq!(uses.tools.len(), 2);
    assert_eq!(uses.max_turns, 6);
    // The function is still a function.
    let _ = search(Query { words: "x".into() });
}
