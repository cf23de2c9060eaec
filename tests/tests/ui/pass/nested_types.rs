use agentkit::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema)]
struct Author {
    name: String,
    karma: Option<u32>,
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct Thread {
    /// The thread's title as posted.
    title: String,
    body: String,
    author: Author,
    replies: Vec<String>,
}

#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Topic {
    Inference,
    Training,
    Hardware,
}

#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Action {
    /// Leave the thread alone.
    Ignore,
    /// Reply with a pointer to the docs.
    Reply { link: String },
    /// Move it to another board.
    Move { board: String, note: Option<String> },
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct Triage {
    /// The main topics, most important first.
    topics: Vec<Topic>,
    action: Action,
    /// A one-line justification, if the action needs one.
    reason: Option<String>,
}

/// Triage a forum thread: what it is about and what a moderator should do.
#[agent(model = "smollm2-135m", input = Thread, output = Triage)]
struct TriageThread;

/// Keep only the threads worth a moderator's time.
#[agent(model = "smollm2-135m", input = Vec<Thread>, output = Vec<Triage>)]
struct TriageMany;

fn main() {
    assert_eq!(<TriageThread as Agent>::NAME, "TriageThread");
    assert!(<TriageThread as Agent>::INSTRUCTIONS.starts_with("Triage a forum thread"));
    assert_eq!(<TriageMany as Agent>::MODEL, "smollm2-135m");
}
