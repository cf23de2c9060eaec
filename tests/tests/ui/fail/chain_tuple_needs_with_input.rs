use agentkit::prelude::*;

#[derive(Clone, Serialize, Deserialize, JsonSchema)]
struct Ticket {
    subject: String,
    body: String,
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct Classification {
    urgent: bool,
}

#[derive(Deserialize, JsonSchema)]
struct Reply {
    text: String,
}

/// Classify the support ticket.
#[agent(model = "smollm2-135m", input = Ticket, output = Classification)]
struct Classify;

/// Draft a reply to the ticket, given how it was classified.
#[agent(model = "smollm2-135m", input = (Ticket, Classification), output = Reply)]
struct Draft;

fn main() {
    // `Draft` takes the ticket with its classification, but `Classify` yields
    // the classification alone: the note names `with_input`, the fix
    // (`with_input(Classify).then(Draft)`).
    let _pipeline = Classify.then(Draft);
}
