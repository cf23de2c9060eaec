use agentkit::prelude::*;

#[derive(Serialize, JsonSchema)]
struct Text {
    text: String,
}

#[derive(Deserialize, JsonSchema)]
struct Mood {
    positive: bool,
}

// Every key at once; `prompt` wins over the doc comment.
/// This doc comment is not the prompt.
#[agent(
    model = "smollm2-135m",
    input = Text,
    output = Mood,
    temperature = 0,
    top_p = 0.9,
    top_k = 40,
    max_tokens = 64,
    seed = 7,
    min_p = 0.05,
    repeat_penalty = 1.3,
    frequency_penalty = 0.5,
    presence_penalty = 0.25,
    repeat_window = 32,
    dry_multiplier = 1.2,
    dry_base = 2,
    dry_allowed_length = 3,
    think_budget = 48,
    prompt = "Say whether the text is positive.",
)]
struct Sentiment;

/// Only one penalty: the others stay off, the window at its default.
#[agent(model = "smollm2-135m", input = Text, output = Mood, repeat_penalty = 1.2)]
struct Gentle;

/// DRY alone: llama.cpp's suggested base and free length.
#[agent(model = "smollm2-135m", input = Text, output = Mood, dry_multiplier = 0.8)]
struct Copyless;

/// Thinks in a declared shape, within the default budget.
#[agent(model = "smollm2-135m", input = Text, output = Mood, think = Mood)]
struct Planner;

/// Multi-line instructions
/// keep their line breaks.
#[agent(model = "smollm2-135m", input = Text, output = Mood)]
struct Defaults;

fn main() {
    let s = <Sentiment as Agent>::SAMPLING;
    assert_eq!(s.temperature, 0.0);
    assert_eq!(s.top_p, Some(0.9));
    assert_eq!(s.top_k, Some(40));
    assert_eq!(s.max_tokens, 64);
    assert_eq!(s.seed, 7);
    assert_eq!(s.min_p, Some(0.05));
    let r = s.repetition.expect("penalties were given");
    assert_eq!(
        (r.window, r.repeat_penalty, r.frequency_penalty, r.presence_penalty),
        (32, 1.3, 0.5, 0.25)
    );
    assert_eq!(
        s.dry,
        Some(
            agentkit::Dry::DEFAULT
                .with_multiplier(1.2)
                .with_base(2.0)
                .with_allowed_length(3)
        )
    );
    assert_eq!(s.reasoning, Some(agentkit::Reasoning::budget(48)));
    assert_eq!(<Gentle as Agent>::SAMPLING.dry, None);
    assert_eq!(<Gentle as Agent>::SAMPLING.reasoning, None);
    assert!(<Gentle as Agent>::thought().is_none());
    assert_eq!(
        <Planner as Agent>::SAMPLING.reasoning,
        Some(agentkit::Reasoning::budget(256))
    );
    assert!(<Planner as Agent>::thought().is_some());
    assert_eq!(<Copyless as Agent>::SAMPLING.dry, Some(agentkit::Dry::DEFAULT));
    let gentle = <Gentle as Agent>::SAMPLING.repetition.expect("a penalty was given");
    assert_eq!(gentle, agentkit::Repetition::DEFAULT.with_repeat_penalty(1.2));
    assert_eq!(<Defaults as Agent>::SAMPLING.repetition, None);
    assert_eq!(<Sentiment as Agent>::INSTRUCTIONS, "Say whether the text is positive.");

    assert_eq!(<Defaults as Agent>::SAMPLING, agentkit::Sampling::DEFAULT);
    assert_eq!(
        <Defaults as Agent>::INSTRUCTIONS,
        "Multi-line instructions\nkeep their line breaks."
    );
}
