//! The forum research pipeline's types, agents and corpus.
//!
//! Three small agents, each with one job and its own model alias so each can
//! be sized separately: `Screen` (is this thread about running language models
//! locally?), `Judge` (is it worth answering?) and `Draft` (write the reply).
//! Every alias points at SmolLM2-135M unless `agentkit.toml` or the caller
//! registers another GGUF.

use agentkit::prelude::*;

/// A thread as stored in the corpus, with its labels.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabelledThread {
    /// Stable id (`t01`..).
    pub id: String,
    /// `dev` (for tuning and few-shot examples) or `test` (held out).
    pub split: String,
    /// The community it was posted in.
    pub community: String,
    /// The thread title.
    pub title: String,
    /// The opening post.
    pub body: String,
    /// Replies so far.
    pub comments: Vec<String>,
    /// Label: about running language models locally.
    pub relevant: bool,
    /// Label: relevant, an open concrete question, not a showcase or rant.
    pub worth_answering: bool,
    /// Label: hardware, performance, models or other.
    pub topic: Topic,
}

impl LabelledThread {
    /// The thread as the agents see it (no labels).
    pub fn thread(&self) -> Thread {
        Thread {
            community: self.community.clone(),
            title: self.title.clone(),
            body: self.body.clone(),
            replies: self.comments.clone(),
        }
    }
}

/// What a thread is mainly about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Topic {
    /// RAM, GPUs, CPUs, machines.
    Hardware,
    /// Speed, threads, quantization trade-offs, memory tuning.
    Performance,
    /// Which model, model quality, fine-tuning, prompts and templates.
    Models,
    /// Anything else.
    Other,
}

/// A forum thread as every agent of the pipeline reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Thread {
    /// Where it was posted.
    pub community: String,
    /// Its title.
    pub title: String,
    /// The opening post.
    pub body: String,
    /// Replies so far.
    pub replies: Vec<String>,
}

/// What a post is mainly about, as `Screen` sees it. Only the first variant
/// counts as relevant; the others give a small model somewhere else to put
/// posts that merely mention computers or AI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// Running AI language models on one's own computer.
    LocalAiModels,
    /// Cloud AI services and APIs.
    CloudAiServices,
    /// Computer hardware for other uses.
    ComputerHardware,
    /// Programming.
    Programming,
    /// Cooking and food.
    Cooking,
    /// Gardening.
    Gardening,
    /// Money.
    Money,
    /// Sports.
    Sports,
    /// Anything else.
    Other,
}

/// `Screen`'s answer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Subjected {
    /// what the post is mainly about
    pub subject: Subject,
}

/// `Screen` calls a post relevant when the model gives `local_ai_models` at
/// least this probability. Calibrated on the `dev` split only (the `levers`
/// example prints the curve); the `test` split is never used for tuning.
pub const SCREEN_THRESHOLD: f64 = 0.82;

/// Whether a scored `Screen` answer makes the post relevant.
pub fn is_relevant(scored: &agentkit::Scored<Subjected>) -> bool {
    scored
        .probability("subject", "\"local_ai_models\"")
        .is_some_and(|p| p >= SCREEN_THRESHOLD)
}

/// `Judge`'s answer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Worth {
    /// true when the post asks a concrete question that the replies have not
    /// answered yet
    pub worth_answering: bool,
}

/// `Classify`'s answer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TopicChoice {
    /// hardware: RAM, GPUs, machines; performance: speed, threads,
    /// quantization; models: which model, quality, fine-tuning, prompts;
    /// other: anything else
    pub topic: Topic,
}

/// `Draft`'s answer.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Reply {
    /// a short, friendly, helpful reply to the post
    #[schemars(length(max = 200))]
    pub reply: String,
}

/// Read the forum post and name its subject.
#[agent(
    model = "screen",
    temperature = 0.0,
    max_tokens = 16,
    input = Thread,
    output = Subjected,
    input_format = "labelled"
)]
pub struct Screen;

/// Decide whether this thread about running language models locally is worth
/// answering: the post asks a concrete question and the replies have not
/// solved it yet. Showcases, announcements, rants and polls are not worth
/// answering, and neither is a question the replies already answered.
#[agent(
    model = "judge",
    temperature = 0.0,
    max_tokens = 16,
    input = Thread,
    output = Worth,
    input_format = "labelled",
    examples = "data/judge_examples.jsonl"
)]
pub struct Judge;

/// Read the forum post about running language models locally and say what it
/// is mainly about.
#[agent(
    model = "judge",
    temperature = 0.0,
    max_tokens = 16,
    input = Thread,
    output = TopicChoice,
    input_format = "labelled"
)]
pub struct Classify;

/// Write a short, friendly reply to this forum thread that helps the poster
/// with their question about running language models locally. Be concrete.
#[agent(
    model = "draft",
    temperature = 0.3,
    max_tokens = 240,
    input = Thread,
    output = Reply,
    input_format = "labelled"
)]
pub struct Draft;

/// A runtime for the pipeline: the llama.cpp backend and the aliases in the
/// examples' `agentkit.toml` (every step on SmolLM2-135M unless edited).
pub fn runtime() -> Result<Runtime, Error> {
    runtime_with(crate::llama()?)
}

/// The same, on a backend the caller keeps a handle to.
pub fn runtime_with(llama: agentkit_backends::llama::Llama) -> Result<Runtime, Error> {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("agentkit.toml");
    Ok(Runtime::builder()
        .backend(llama)
        .manifest(manifest)?
        .build())
}

/// One thread's way through the pipeline.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The thread.
    pub thread: Thread,
    /// The probability `Screen` gave "running AI models locally".
    pub relevance: f64,
    /// Whether that passed [`SCREEN_THRESHOLD`].
    pub relevant: bool,
    /// `Judge`'s verdict, for relevant threads.
    pub worth_answering: Option<bool>,
    /// `Classify`'s topic and its probability, for relevant threads.
    pub topic: Option<(Topic, f64)>,
    /// `Draft`'s reply, for threads worth answering.
    pub reply: Option<String>,
}

/// The research pipeline: find the relevant threads, score them, draft
/// replies for the ones worth answering. Three chains, one per stage, so the
/// outcome of every thread is kept for the report.
pub async fn research(runtime: &Runtime, threads: Vec<Thread>) -> Result<Vec<Outcome>, Error> {
    // 1. find: the subject of every thread, by scored choices.
    // `each` runs the pre-flight itself before its first item, so a broken
    // model alias or schema fails here before anything is generated.
    let find = each(with_input(scored(Screen)));
    let screened = find.run(runtime, threads).await?;

    // 2. score the relevant ones: worth answering? which topic?
    let relevant: Vec<Thread> = screened
        .iter()
        .filter(|(_, s)| is_relevant(s))
        .map(|(t, _)| t.clone())
        .collect();
    let judged = each(with_input(both(Judge, scored(Classify))))
        .run(runtime, relevant)
        .await?;

    // 3. draft replies for the ones worth answering.
    let worth: Vec<Thread> = judged
        .iter()
        .filter(|(_, (w, _))| w.worth_answering)
        .map(|(t, _)| t.clone())
        .collect();
    let drafted = each(with_input(Draft)).run(runtime, worth).await?;

    Ok(screened
        .into_iter()
        .map(|(thread, s)| {
            let judged = judged.iter().find(|(t, _)| *t == thread).map(|(_, j)| j);
            Outcome {
                relevance: s
                    .probability("subject", "\"local_ai_models\"")
                    .unwrap_or(0.0),
                relevant: is_relevant(&s),
                worth_answering: judged.map(|(w, _)| w.worth_answering),
                topic: judged.map(|(_, t)| (t.value.topic, t.confidence())),
                reply: drafted
                    .iter()
                    .find(|(t, _)| *t == thread)
                    .map(|(_, r)| r.reply.clone()),
                thread,
            }
        })
        .collect())
}

/// Loads the corpus; `split` keeps only `dev` or `test` threads.
pub fn load(split: Option<&str>) -> Result<Vec<LabelledThread>, Error> {
    let path = crate::data_dir().join("forum.jsonl");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::Dataset {
        path: path.clone(),
        line: 0,
        reason: e.to_string(),
    })?;
    let mut threads = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let t: LabelledThread = serde_json::from_str(line).map_err(|e| Error::Dataset {
            path: path.clone(),
            line: i + 1,
            reason: e.to_string(),
        })?;
        if split.is_none_or(|s| s == t.split) {
            threads.push(t);
        }
    }
    Ok(threads)
}
