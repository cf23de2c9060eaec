use agentkit::prelude::*;

#[derive(Serialize, JsonSchema)]
struct Thread {
    title: String,
    body: String,
}

#[derive(Deserialize, JsonSchema)]
struct Evidence {
    quote: String,
}

// The arguments in the wrong order: the input comes first.
fn quote_in_body(evidence: &Evidence, thread: &Thread) -> Result<(), String> {
    if thread.body.contains(&evidence.quote) {
        Ok(())
    } else {
        Err("the quote is not in the thread's body".into())
    }
}

/// Quote the sentence of the thread's body that says what it asks.
#[agent(model = "screen", input = Thread, output = Evidence, validate = quote_in_body)]
struct Cite;

// A yes/no answer instead of a reason the model can act on.
fn quote_given(evidence: &Evidence) -> bool {
    !evidence.quote.is_empty()
}

/// Quote the sentence of the thread's body that says what it asks.
#[agent(model = "screen", input = Thread, output = Evidence, validate = quote_given)]
struct CiteAnything;

fn main() {}
