use agentkit::prelude::*;

#[derive(Serialize, JsonSchema)]
struct Thread {
    title: String,
    body: String,
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct Verdict {
    relevant: bool,
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct Summary {
    text: String,
}

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "screen", input = Thread, output = Verdict)]
struct Score;

/// Summarise the text in one sentence.
#[agent(model = "screen", input = Summary, output = Summary)]
struct Shorten;

// The same mismatch as `chain_middle_mismatch`, inside a function that
// returns the chain as `impl Step<...>`: reported at the link and again at
// the return type, both naming `Shorten` and `Verdict` (the book's "Chains"
// chapter includes this output).
fn pipeline() -> impl Step<Thread, Output = Summary> {
    Score.then(Shorten)
}

fn main() {
    let _ = pipeline();
}
