use agentkit::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema)]
struct Thread {
    title: String,
    body: String,
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct Summary {
    text: String,
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct Tags {
    tags: Vec<String>,
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct Report {
    headline: String,
}

/// Summarise the thread in one sentence.
#[agent(model = "smollm2-135m", input = Thread, output = Summary)]
struct Summarise;

/// Tag the summary with up to three topics.
#[agent(model = "smollm2-135m", input = Summary, output = Tags)]
struct Tag;

/// Write a headline from the tags.
#[agent(model = "smollm2-135m", input = Tags, output = Report)]
struct Headline;

/// Decide whether the text is about local models.
#[agent(model = "smollm2-135m", input = Summary, output = bool)]
struct IsLocal;

fn takes_thread<S: Step<Thread, Output = Report>>(_: S) {}
fn yields_bool<S: Step<Thread, Output = bool>>(_: S) {}

fn main() {
    // Matching three-step chain: the chain is itself a step from Thread to Report.
    let pipeline = Summarise.then(Tag).then(Headline);
    takes_thread(pipeline);

    // Chains nest: a chain can be the next step of another.
    takes_thread(Summarise.then(Tag.then(Headline)));

    // `.map` adapts between steps with plain Rust.
    let adapted = Summarise
        .then(Tag)
        .map(|tags: Tags| Tags { tags: tags.tags.into_iter().take(2).collect() })
        .then(Headline);
    takes_thread(adapted);

    // `.map` before an agent whose output is a plain `bool`.
    let mapped = Summarise
        .map(|s: Summary| Summary { text: s.text.to_lowercase() })
        .then(IsLocal);
    yields_bool(mapped);
}
