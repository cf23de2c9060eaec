//! Thinking before the answer: a think block with no grammar and a token
//! budget, then the answer under the grammar. On the real default model
//! (SmolLM2-135M) and on fixture models written by the test.

mod common;

use std::time::{Duration, Instant};

use agentkit::backend::{Backend, ModelSource, Request};
use agentkit::prelude::*;
use agentkit::{Reasoning, Sampling};
use agentkit_backends::llama::{Llama, LlamaConfig};
use agentkit_test::fixture;
use common::{fixture_request, scratch_dir, Thread, Verdict};

/// Decide whether a forum thread is about running language models locally.
/// Think it over first.
#[agent(model = "smollm2-135m", temperature = 0.0, max_tokens = 80, think_budget = 48, input = Thread, output = Verdict)]
struct Pondered;

/// A think block with a shape: named, bounded sections.
#[derive(Serialize, Deserialize, JsonSchema, Debug)]
struct Plan {
    /// what the thread asks, in a few words
    #[schemars(length(max = 60))]
    goal: String,
    /// facts from the thread that decide it
    #[schemars(length(max = 2))]
    facts: Vec<Fact>,
    /// how to answer
    #[schemars(length(max = 60))]
    answer_plan: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug)]
struct Fact {
    #[schemars(length(max = 60))]
    fact: String,
}

/// Decide whether a forum thread is about running language models locally.
/// Plan first: the goal, the facts that decide it, how to answer.
#[agent(model = "smollm2-135m", temperature = 0.0, max_tokens = 80, think = Plan, input = Thread, output = Verdict)]
struct Planned;

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, Copy, PartialEq)]
struct Relevance {
    /// true when the thread asks about running models locally
    relevant: bool,
}

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", temperature = 0.0, max_tokens = 16, input = Thread, output = Relevance)]
struct Relevant;

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", temperature = 0.0, max_tokens = 16, think_budget = 24, input = Thread, output = Relevance)]
struct RelevantPondered;

fn thread() -> Thread {
    Thread {
        title: "Which quantization for a 16 GB laptop?".into(),
        body: "I run llama.cpp on my laptop with 16 GB of RAM. Q4_K_M or Q5_K_M for an 8B model?"
            .into(),
    }
}

fn runtime() -> Runtime {
    Runtime::builder()
        .backend(common::llama_with_threads(2).clone())
        .build()
}

#[tokio::test]
async fn smollm2_thinks_inside_the_tags_then_answers_in_the_type() {
    let runtime = runtime();
    let request = Request::for_agent::<Pondered>(&runtime, &thread()).unwrap();
    let completion = runtime.backend().unwrap().generate(request).await.unwrap();
    let reasoning = completion.reasoning.clone().unwrap_or_default();
    println!(
        "thought ({} tokens): {reasoning}\nanswer: {}",
        completion.reasoning_tokens, completion.text
    );
    assert!(!reasoning.is_empty(), "{completion:?}");
    assert!(!reasoning.contains("</think>"), "{reasoning}");
    assert!((1..=48).contains(&completion.reasoning_tokens));
    assert!(
        completion.text.trim_start().starts_with('{'),
        "{}",
        completion.text
    );
    let verdict: Verdict = serde_json::from_str(&completion.text).unwrap();
    assert!(verdict.reason.chars().count() <= 120);

    // Through the agent: the typed answer, and the think block counted apart.
    let verdict = Pondered.run(&runtime, thread()).await.unwrap();
    assert!(verdict.reason.chars().count() <= 120);
    let usage = runtime.usage();
    assert!(usage.reasoning_tokens > 0, "{usage:?}");
    assert!(usage.generated_tokens > 0, "{usage:?}");
}

#[tokio::test]
async fn structured_thinking_parses_into_its_declared_shape() {
    let runtime = runtime();
    // No `think_budget`: a `think` type thinks within the default 256.
    assert_eq!(
        <Planned as Agent>::SAMPLING.reasoning.map(|r| r.budget),
        Some(256)
    );
    let request = Request::for_agent::<Planned>(&runtime, &thread()).unwrap();
    let completion = runtime.backend().unwrap().generate(request).await.unwrap();
    let thought = completion.reasoning.clone().unwrap_or_default();
    println!(
        "plan ({} tokens): {thought}\nanswer: {}",
        completion.reasoning_tokens, completion.text
    );
    let plan: Plan = serde_json::from_str(&thought)
        .unwrap_or_else(|e| panic!("the think block is not a Plan ({e}): {thought}"));
    assert!(plan.goal.chars().count() <= 60 && plan.facts.len() <= 2);
    assert!(completion.reasoning_tokens < 256, "{completion:?}");
    serde_json::from_str::<Verdict>(&completion.text).unwrap();
    // Through the agent, too.
    Planned.run(&runtime, thread()).await.unwrap();
}

#[tokio::test]
async fn the_think_block_streams_as_its_own_events_before_the_answer() {
    use agentkit::stream::{Event, StreamExt};
    let runtime = runtime();
    let mut events = Pondered.stream(&runtime, thread());
    let (mut thought, mut answer, mut done) = (String::new(), String::new(), None);
    while let Some(event) = events.next().await {
        match event.unwrap() {
            Event::Reasoning(r) => {
                assert!(answer.is_empty(), "reasoning after the answer began: {r:?}");
                thought.push_str(&r);
            }
            Event::Delta(d) => answer.push_str(&d),
            Event::Done(v) => done = Some(v),
            _ => {}
        }
    }
    println!("thought: {thought}\nanswer: {answer}");
    assert!(!thought.trim().is_empty());
    assert!(
        !thought.contains("</think>") && !answer.contains("think>"),
        "{thought} | {answer}"
    );
    let verdict: Verdict = serde_json::from_str(&answer).unwrap();
    assert_eq!(done.map(|v| v.relevant), Some(verdict.relevant));
}

#[tokio::test]
async fn the_think_block_never_exceeds_its_budget_over_20_seeded_runs() {
    let runtime = runtime();
    let backend = runtime.backend().unwrap();
    let (mut closed_by_model, mut longest) = (0, 0);
    for seed in 0..20 {
        let mut request = Request::for_agent::<Pondered>(&runtime, &thread()).unwrap();
        request.sampling = Sampling::DEFAULT
            .with_temperature(0.9)
            .with_seed(seed)
            .with_max_tokens(200)
            .with_reasoning(Reasoning::budget(16));
        let completion = backend.generate(request).await.unwrap();
        assert!(
            completion.reasoning_tokens <= 16,
            "seed {seed}: {} tokens in the think block",
            completion.reasoning_tokens
        );
        longest = longest.max(completion.reasoning_tokens);
        if completion.reasoning_tokens < 16 {
            closed_by_model += 1;
        }
        serde_json::from_str::<Verdict>(&completion.text)
            .unwrap_or_else(|e| panic!("seed {seed}: {e}: {}", completion.text));
    }
    println!(
        "20 runs: longest think block {longest} tokens, {closed_by_model} closed by the model"
    );
}

/// ChatML whose generation prompt already opens the think block, as
/// reasoning models' templates do.
const OPENS_THINK: &str = "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n<think>\n{% endif %}";

/// The same without the think block.
const PLAIN: &str = "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

fn thinking_request(path: std::path::PathBuf, budget: u32) -> Request {
    let mut request = fixture_request(
        serde_json::json!({"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"], "additionalProperties": false}),
        Sampling::DEFAULT
            .with_max_tokens(40)
            .with_reasoning(Reasoning::budget(budget)),
    );
    request.model.alias = path.file_stem().unwrap().to_string_lossy().into_owned();
    request.model.source = ModelSource::File(path);
    request
}

#[tokio::test]
async fn a_template_that_opens_the_block_is_not_given_a_second_one() {
    let opens = scratch_dir().join("opens-think.gguf");
    fixture::write_fixture_model_with_chat_template(&opens, 7, OPENS_THINK).unwrap();
    let plain = scratch_dir().join("plain-think.gguf");
    fixture::write_fixture_model_with_chat_template(&plain, 7, PLAIN).unwrap();
    let llama = common::llama();
    let a = llama.generate(thinking_request(opens, 24)).await.unwrap();
    let b = llama.generate(thinking_request(plain, 24)).await.unwrap();
    // One prompt either way: the block the template opened, or the one
    // agentkit opened; never both.
    assert_eq!(a.prompt_tokens, b.prompt_tokens);
    for c in [&a, &b] {
        assert!(c.reasoning.is_some() && c.reasoning_tokens <= 24, "{c:?}");
        let value: serde_json::Value = serde_json::from_str(&c.text).unwrap();
        assert!(value["ok"].is_boolean(), "{value}");
    }
}

#[tokio::test]
async fn dropping_a_stream_mid_thought_stops_generation() {
    use agentkit::backend::Deltas;
    use agentkit::stream::{Delta, StreamExt};
    // Its own backend, so its counter of running generations is its own.
    let llama = Llama::new(LlamaConfig::default().threads(1)).unwrap();
    let path = scratch_dir().join("drop-think.gguf");
    fixture::write_fixture_model_with_chat_template(&path, 7, PLAIN).unwrap();
    // The fixture model seldom writes `</think>` by chance: 380 tokens of
    // thinking take long enough to be cut.
    let (deltas, mut receiver) = Deltas::channel();
    let call = {
        let llama = llama.clone();
        let request = thinking_request(path, 380);
        tokio::spawn(async move { llama.generate_streaming(request, deltas).await })
    };
    // Some thinking has streamed: the call is mid-thought.
    match receiver.next().await {
        Some(Delta::Reasoning(_)) => {}
        other => panic!("expected reasoning first, got {other:?} ({:?})", call.await),
    }
    call.abort();
    drop(receiver);
    let dropped = Instant::now();
    while llama.active_generations() > 0 {
        assert!(
            dropped.elapsed() < Duration::from_secs(2),
            "thinking went on after the stream was dropped"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn scored_choices_think_first_in_process_and_the_server_refuses_with_the_fix() {
    let runtime = runtime();
    let direct = agentkit::scored(Relevant)
        .run(&runtime, thread())
        .await
        .unwrap();
    let pondered = agentkit::scored(RelevantPondered)
        .run(&runtime, thread())
        .await
        .unwrap();
    let p = |s: &agentkit::Scored<Relevance>| {
        (
            s.probability("relevant", &true).unwrap_or(0.0),
            s.probability("relevant", &false).unwrap_or(0.0),
        )
    };
    let (yes, no) = p(&pondered);
    println!(
        "P(relevant) {:.3} at once, {yes:.3} after thinking",
        p(&direct).0
    );
    assert!((yes + no - 1.0).abs() < 1e-6, "{pondered:?}");
    // The think block came before the options: they were scored in
    // another context.
    assert_ne!(p(&direct), (yes, no));
    assert!(runtime.usage().calls >= 2);

    let request = Request::for_agent::<Pondered>(&runtime, &thread()).unwrap();
    let server = agentkit_backends::server::Server::default();
    let e = server.check_scored(&request).await.unwrap_err();
    assert_eq!(e.kind(), agentkit::ErrorKind::Configuration, "{e}");
    assert!(
        e.to_string()
            .contains("scored choices on the server backend cannot think")
            && e.to_string().contains("drop `think_budget`"),
        "{e}"
    );
}

/// SmolLM2's ChatML, its generation prompt opening a think block as an R1
/// distill's does.
const SMOLLM2_THINKS: &str = "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n<think>\n{% endif %}";

#[tokio::test]
async fn a_real_model_whose_template_opens_the_block_answers_typed_after_closing_it() {
    let dir = scratch_dir().join("thinking-copy");
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("smollm2-opens-think.gguf");
    agentkit_test::gguf_copy::copy_with_chat_template(
        &agentkit_backends::llama::default_model_path(),
        &copy,
        SMOLLM2_THINKS,
    )
    .unwrap();
    let runtime = Runtime::builder()
        .backend(common::llama_with_threads(2).clone())
        .model("smollm2-135m", &copy)
        .build();
    let request = Request::for_agent::<Pondered>(&runtime, &thread()).unwrap();
    let completion = runtime.backend().unwrap().generate(request).await;
    let _ = std::fs::remove_dir_all(&dir);
    let completion = completion.unwrap();
    println!(
        "thought: {:?}\nanswer: {}",
        completion.reasoning, completion.text
    );
    let thought = completion.reasoning.clone().unwrap_or_default();
    assert!(
        !thought.is_empty() && !thought.contains("<think>"),
        "{thought}"
    );
    assert!(completion.reasoning_tokens <= 48);
    serde_json::from_str::<Verdict>(&completion.text).unwrap();
    // The same prompt as the original model's with the block opened by
    // agentkit: opened once, never twice.
    let plain = runtime_prompt_tokens().await;
    assert_eq!(completion.prompt_tokens, plain);
}

/// The prompt tokens of `Pondered` on the original SmolLM2.
async fn runtime_prompt_tokens() -> usize {
    let runtime = runtime();
    let request = Request::for_agent::<Pondered>(&runtime, &thread()).unwrap();
    let completion = runtime.backend().unwrap().generate(request).await.unwrap();
    completion.prompt_tokens
}
