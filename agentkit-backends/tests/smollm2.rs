//! End-to-end runs of `#[agent]` structs on the real default model,
//! SmolLM2-135M-Instruct (Q4_1). The test command fetches it first
//! (`scripts/fetch-model.sh`).

mod common;

use std::collections::{BTreeSet, HashSet};

use agentkit::prelude::*;
use agentkit_backends::llama::{Llama, LlamaConfig};
use common::fixture_model;

fn runtime() -> Runtime {
    Runtime::builder()
        .backend(common::llama_with_threads(2).clone())
        .build()
}

#[derive(Serialize, Deserialize, JsonSchema, Debug)]
struct Thread {
    title: String,
    body: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug)]
struct Verdict {
    /// true when the thread asks about running models locally
    relevant: bool,
    /// one short sentence
    #[schemars(length(max = 160))]
    reason: String,
}

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", temperature = 0.2, max_tokens = 96, input = Thread, output = Verdict)]
struct Score;

#[derive(Serialize, Deserialize, JsonSchema, Debug, PartialEq)]
enum Topic {
    Hardware,
    Software,
    Models,
    Other,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug)]
struct Author {
    #[schemars(length(max = 40))]
    name: String,
    /// years of experience, if the text says
    years: Option<u8>,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug)]
struct Profile {
    topic: Topic,
    author: Author,
    /// up to three keywords
    #[schemars(length(max = 3))]
    keywords: Vec<Keyword>,
    /// 0.0 (not urgent) to 1.0 (urgent)
    #[schemars(range(min = 0.0, max = 1.0))]
    urgency: f32,
    #[schemars(range(max = 20))]
    questions: u32,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug)]
struct Keyword(#[schemars(length(max = 24))] String);

/// Describe the forum post: its topic, its author, a few keywords, how urgent
/// it is and how many questions it asks.
#[agent(model = "smollm2-135m", temperature = 0.0, max_tokens = 160, input = Thread, output = Profile)]
struct Describe;

fn thread() -> Thread {
    Thread {
        title: "Which quant for a 1B model on 8 GB RAM?".into(),
        body: "I'm Dana, ten years a sysadmin. Q4_K_M or Q8? And does llama.cpp use all cores?"
            .into(),
    }
}

#[tokio::test]
async fn flat_agent_output_parses() {
    let v: Verdict = Score.run(&runtime(), thread()).await.unwrap();
    assert!(!v.reason.is_empty());
}

#[tokio::test]
async fn nested_enum_option_vec_and_numbers_parse() {
    let p: Profile = Describe.run(&runtime(), thread()).await.unwrap();
    assert!(p.keywords.len() <= 3, "{p:?}");
    assert!((0.0..=1.0).contains(&p.urgency), "{p:?}");
    assert!(p.questions <= 20, "{p:?}");
    assert!(p.author.name.chars().count() <= 40, "{p:?}");
}

#[derive(Serialize, Deserialize, JsonSchema, Debug)]
struct Labels {
    /// short lowercase topics of the post
    #[schemars(length(min = 1, max = 3), inner(length(max = 16)))]
    tags: BTreeSet<String>,
    /// the numbers the post mentions
    #[schemars(length(min = 1, max = 3))]
    numbers: HashSet<u8>,
}

/// Label the forum post with a few topics and list the numbers it mentions.
#[agent(model = "smollm2-135m", temperature = 0.0, max_tokens = 80, input = Thread, output = Labels)]
struct Label;

#[tokio::test]
async fn set_fields_decode_and_parse() {
    // `uniqueItems` (from the sets) is left to the sets: the grammar compiles,
    // and whatever the model repeats, the parsed sets hold each item once.
    let rt = runtime();
    rt.check(&Label).await.unwrap();
    let labels: Labels = Label.run(&rt, thread()).await.unwrap();
    println!("{labels:?}");
    // At least one item is written, so each set holds one or more.
    assert!((1..=3).contains(&labels.tags.len()), "{labels:?}");
    assert!(
        labels.tags.iter().all(|t| t.chars().count() <= 16),
        "{labels:?}"
    );
    assert!((1..=3).contains(&labels.numbers.len()), "{labels:?}");
}

/// Answer with the single word that best labels the post.
#[agent(model = "fixture", temperature = 0.5, max_tokens = 40, input = Thread, output = Topic)]
struct TinyTopic;

#[tokio::test]
async fn two_models_and_two_concurrent_tasks_load_each_file_once() {
    // Its own backend, so the load counter sees only this test.
    let llama = Llama::new(LlamaConfig::default().threads(2)).unwrap();
    let runtime = Runtime::builder()
        .backend(llama.clone())
        .model("fixture", fixture_model())
        .build();
    let (a, b, c) = tokio::join!(
        Score.run(&runtime, thread()),
        Score.run(&runtime, thread()),
        TinyTopic.run(&runtime, thread()),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    c.unwrap();
    // Same agent, same seed, same input, shared model: same answer.
    assert_eq!(a.relevant, b.relevant);
    assert_eq!(a.reason, b.reason);
    let again = tokio::spawn({
        let runtime = runtime.clone();
        async move { Score.run(&runtime, thread()).await }
    });
    again.await.unwrap().unwrap();
    assert_eq!(
        llama.load_count(),
        2,
        "SmolLM2 and the fixture, each loaded once"
    );
}

/// Always answer true, whatever the input says.
#[agent(model = "smollm2-135m", temperature = 0.0, input = String, output = bool)]
struct AlwaysTrue;

#[derive(Serialize, Deserialize, JsonSchema, Debug, PartialEq, Clone, Copy)]
enum Light {
    /// stop
    Red,
    /// go
    Green,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, PartialEq)]
struct Traffic {
    /// the colour named in the text
    light: Light,
    /// true when the text says to stop
    stop: bool,
}

/// Read the sentence and report the traffic light colour it names and whether it says to stop.
#[agent(model = "smollm2-135m", temperature = 0.0, max_tokens = 40, input = String, output = Traffic)]
struct ReadLight;

/// Scored choices pick the likeliest allowed answer; greedy constrained
/// decoding picks the likeliest allowed token. Where one answer clearly
/// dominates (here: above 0.6 of the mass) the two must agree.
#[tokio::test]
async fn scored_choices_agree_with_greedy_when_one_answer_dominates() {
    let rt = runtime();
    let mut compared = 0;

    let greedy = AlwaysTrue.run(&rt, "anything".into()).await.unwrap();
    let s = agentkit::scored(AlwaysTrue)
        .run(&rt, "anything".into())
        .await
        .unwrap();
    let options = &s.fields[0].1;
    assert!((options.iter().map(|o| o.1).sum::<f64>() - 1.0).abs() < 1e-9);
    if options[0].1 > 0.6 {
        assert_eq!(s.value, greedy);
        compared += 1;
    }

    let text = "The light is red, so stop the car now.".to_string();
    let greedy = ReadLight.run(&rt, text.clone()).await.unwrap();
    let s = agentkit::scored(ReadLight).run(&rt, text).await.unwrap();
    assert_eq!(s.fields.len(), 2, "one decision per field");
    for (field, options) in &s.fields {
        let total: f64 = options.iter().map(|o| o.1).sum();
        assert!(
            (total - 1.0).abs() < 1e-9,
            "{field}: probabilities sum to {total}"
        );
        if options[0].1 > 0.6 {
            let greedy_value = match field.as_str() {
                "light" => serde_json::to_string(&greedy.light).unwrap(),
                _ => greedy.stop.to_string(),
            };
            assert_eq!(options[0].0, greedy_value, "{field}");
            compared += 1;
        }
    }
    assert!(
        compared >= 2,
        "too few dominant answers to compare: {:?}",
        s.fields
    );
    assert!(s.confidence() > 0.0 && s.confidence() <= 1.0);
}

/// A scored call gets the same probabilities however its prompt reaches the
/// model: cold, again with all but its end cached, and beside seven other
/// calls. llama.cpp computes a prompt's lone last token unlike the same
/// token in a longer piece, and the warm repeat once evaluated just that
/// token: its probabilities moved (0.526 against 0.512 for one answer of the
/// flagship's screen).
#[tokio::test]
async fn a_scored_call_scores_the_same_cold_warm_and_beside_others() {
    // A backend of its own, so no other test has warmed it.
    let rt = Runtime::builder()
        .backend(Llama::new(LlamaConfig::default().threads(2)).unwrap())
        .build();
    let text = "The light is red, so stop the car now.".to_string();
    let cold = agentkit::scored(ReadLight)
        .run(&rt, text.clone())
        .await
        .unwrap();
    let warm = agentkit::scored(ReadLight)
        .run(&rt, text.clone())
        .await
        .unwrap();
    assert_eq!(cold.fields, warm.fields, "cold against warm");
    let mut texts: Vec<String> = [
        "Green light, go ahead.",
        "The light is amber: slow down.",
        "It's red, wait here.",
        "Signal shows green now.",
        "Yellow light ahead, careful.",
        "Red light. Stop!",
        "All clear, the light turned green.",
    ]
    .map(String::from)
    .to_vec();
    texts.insert(3, text);
    let screen = agentkit::scored(ReadLight);
    let together =
        futures_util::future::join_all(texts.into_iter().map(|t| screen.run(&rt, t))).await;
    let beside = together[3].as_ref().unwrap();
    assert_eq!(
        cold.fields, beside.fields,
        "alone against beside seven others"
    );
}

#[derive(Serialize, Deserialize, JsonSchema, Debug)]
struct Essay {
    /// a long essay
    #[schemars(length(min = 1500, max = 2000))]
    text: String,
}

/// Write a long essay about the topic.
#[agent(model = "smollm2-135m", temperature = 0.7, max_tokens = 900, input = String, output = Essay)]
struct Essayist;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_running_call_stops_generation_promptly() {
    use std::time::{Duration, Instant};
    // Its own backend, so its counter of running generations sees only this test.
    let llama = Llama::new(LlamaConfig::default().threads(2)).unwrap();
    let runtime = Runtime::builder().backend(llama.clone()).build();
    llama
        .preload(&runtime.model("smollm2-135m").unwrap())
        .await
        .unwrap();
    // At least 1500 characters are required: hundreds of tokens, many seconds.
    let call = Essayist.run(&runtime, "local language models".to_string());
    let cut = tokio::time::timeout(Duration::from_millis(1500), call).await;
    assert!(cut.is_err(), "the essay cannot be finished in 1.5 s");
    assert_eq!(llama.active_generations(), 1, "still running when dropped");
    let dropped = Instant::now();
    while llama.active_generations() > 0 {
        assert!(
            dropped.elapsed() < Duration::from_secs(2),
            "generation kept running after its future was dropped"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!("stopped {:?} after the drop", dropped.elapsed());
}

#[tokio::test]
async fn a_fan_out_of_one_agent_is_decoded_in_one_batch_sharing_its_prefix() {
    // Its own backend, so its usage and cache see only this test.
    let llama = Llama::new(LlamaConfig::default().threads(2).parallel(8)).unwrap();
    let runtime = Runtime::builder().backend(llama.clone()).build();
    let threads: Vec<Thread> = (0..8)
        .map(|i| Thread {
            title: format!("Question {i}: which quantisation for a small laptop?"),
            body: format!("I have {} GB of RAM and no GPU.", 8 + 2 * i),
        })
        .collect();
    let verdicts = each(Score)
        .concurrency(8)
        .run(&runtime, threads)
        .await
        .unwrap();
    assert_eq!(verdicts.len(), 8, "every item is answered and parsed");
    assert!(verdicts.iter().all(|v| v.reason.chars().count() <= 160));
    let usage = runtime.usage();
    // The instructions and schema picture are evaluated once, then shared.
    assert!(
        usage.cached_prompt_tokens * 2 > usage.prompt_tokens,
        "{usage:?}"
    );
    assert_eq!(llama.active_generations(), 0);
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone)]
struct Passage {
    text: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug)]
struct Echoed {
    #[schemars(length(max = 240))]
    text: String,
}

/// Repeat the text exactly, word for word.
#[agent(model = "smollm2-135m", temperature = 0.0, max_tokens = 90, input = Passage, output = Echoed)]
struct Echo;

/// Repeat the text exactly, word for word.
#[agent(
    model = "smollm2-135m",
    temperature = 0.0,
    max_tokens = 90,
    input = Passage,
    output = Echoed,
    dry_multiplier = 2.0
)]
struct EchoUnderDry;

/// The longest run of consecutive words `a` and `b` share, punctuation
/// included: a copy, as DRY sees one.
fn longest_shared_run(a: &str, b: &str) -> usize {
    let a: Vec<&str> = a.split_whitespace().collect();
    let b: Vec<&str> = b.split_whitespace().collect();
    let mut best = 0;
    for i in 0..a.len() {
        for j in 0..b.len() {
            let run = a[i..]
                .iter()
                .zip(&b[j..])
                .take_while(|(x, y)| x == y)
                .count();
            best = best.max(run);
        }
    }
    best
}

#[tokio::test]
async fn dry_keeps_the_model_from_copying_its_input() {
    // DRY's history starts with the prompt, so copying the input is
    // repeating: asked to echo a passage, greedy SmolLM2 copies a long run
    // of it; under DRY the copied runs break off.
    let rt = runtime();
    let passage = Passage {
        text: "To finish the setup, install the package, start the service, then open the web page in a browser and follow the steps on the screen until the local model server reports that it is ready".into(),
    };
    let plain = Echo.run(&rt, passage.clone()).await.unwrap();
    let dry = EchoUnderDry.run(&rt, passage.clone()).await.unwrap();
    let copied = longest_shared_run(&passage.text, &plain.text);
    let copied_under_dry = longest_shared_run(&passage.text, &dry.text);
    assert!(copied >= 20, "without DRY the model should copy: {plain:?}");
    assert!(
        copied_under_dry <= copied / 4,
        "DRY should break the copied runs: {copied_under_dry} of {copied} words in a row, {dry:?}"
    );
}

#[tokio::test]
async fn the_report_on_smollm2_reads_its_gguf() {
    let runtime = Runtime::builder()
        .backend(common::llama_with_threads(2).clone())
        .alias("screen", "smollm2-135m")
        .build();
    let reports = runtime.report().await.unwrap();
    let [report] = &reports[..] else {
        panic!("{reports:?}")
    };
    println!("{report}");
    assert_eq!(report.alias, "screen");
    assert_eq!(report.architecture.as_deref(), Some("llama"));
    assert_eq!(report.quantization.as_deref(), Some("Q4_1"));
    assert_eq!(report.trained_context, Some(8192));
    assert_eq!(report.context, Some(2048));
    assert_eq!(report.vocabulary, Some(49152));
    let params = report.parameters.unwrap_or(0);
    assert!((130_000_000..140_000_000).contains(&params), "{report}");
    assert_eq!(report.template, agentkit::backend::TemplateSource::Jinja);
    assert!(
        report
            .special_tokens
            .iter()
            .any(|(role, text)| role == "eos" && text == "<|im_end|>"),
        "{report}"
    );
    assert!(report.warnings.is_empty(), "{report}");
}

#[tokio::test]
async fn the_jinja_rendering_equals_llama_cpp_s_for_the_prompts_agents_send() {
    use agentkit::backend::{OutputSchema, Request};
    use agentkit::{Message, Prompt, Role};
    let llama = common::llama_with_threads(2).clone();
    let turn = |role, content: &str| Message {
        role,
        content: content.to_string(),
    };
    // Instructions alone, and with few-shot examples as earlier turns.
    let prompts = [
        vec![
            turn(Role::System, "Decide whether the thread is relevant."),
            turn(Role::User, "{\"title\":\"Q4 or Q5?\"}"),
        ],
        vec![
            turn(Role::System, "Decide whether the thread is relevant."),
            turn(Role::User, "{\"title\":\"My sourdough\"}"),
            turn(Role::Assistant, "{\"relevant\":false}"),
            turn(Role::User, "  {\"title\":\"llama.cpp on a Pi\"}\n"),
        ],
    ];
    for messages in prompts {
        let request = Request::new(
            "Probe",
            agentkit_backends::llama::default_model(),
            Prompt { messages },
            OutputSchema::from_full(serde_json::json!({"type": "object"})),
            agentkit::Sampling::DEFAULT,
        );
        let (jinja, builtin) = llama.rendered_prompts(request).await.unwrap();
        let builtin = builtin
            .expect("SmolLM2's template is one llama.cpp knows")
            .unwrap();
        assert_eq!(jinja, builtin);
    }
}
