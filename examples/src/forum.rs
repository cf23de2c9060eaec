//! The forum research pipeline's types, agents and corpus.
//!
//! Small agents, each with one job and a model alias so each can be sized
//! separately: `Screen` (is this thread about running language models
//! locally?), `KindOf` (open question, answered question, showcase, ...: only
//! an open question is worth answering), `Solved` (does the poster's own
//! follow-up say the question is solved?), `Classify` (which topic?) and
//! `Draft` (write the reply). `KindOf`, `Solved` and `Classify` decide by
//! scored choices with the tunings in `examples/tuned/` (written by
//! `--example tune`); `Judge` (worth answering, yes or no) and
//! `ClassifyFine` are the candidates they were measured against. Every alias points at SmolLM2-135M unless
//! `agentkit.toml` or the caller registers another GGUF.
//!
//! The threads come from the labelled corpus ([`load`]) or from a user's own
//! JSON Lines file ([`read_input`]), labelled or not.

use std::path::Path;

use agentkit::prelude::*;
use agentkit::stream::{Event, Partial, StreamExt};
use futures_util::stream::{self, TryStreamExt};
use tracing::Instrument;

use crate::progress;

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
    /// Label: a question a reply solved, as the poster confirmed in a
    /// follow-up (absent in the file means false).
    #[serde(default)]
    pub solved: bool,
    /// Label: hardware, performance, models or other.
    pub topic: Topic,
}

impl LabelledThread {
    /// Its labels.
    pub fn labels(&self) -> Labels {
        Labels {
            relevant: self.relevant,
            worth_answering: self.worth_answering,
            topic: self.topic,
        }
    }

    /// The thread as an [`Entry`] to research, labels kept.
    pub fn entry(&self) -> Entry {
        Entry {
            id: self.id.clone(),
            thread: self.thread(),
            labels: Some(self.labels()),
        }
    }

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
    /// Replies so far. A reply by the original poster carries
    /// [`POSTER_MARK`], as forums mark the poster's own comments.
    pub replies: Vec<String>,
}

/// How a reply written by the thread's original poster is marked in
/// [`Thread::replies`]: `(OP)` anywhere in its text, as in the corpus.
pub const POSTER_MARK: &str = "(OP)";

impl Thread {
    /// What the original poster wrote back after the replies, for `Solved`:
    /// `None` when the poster has not replied (then nothing can say the
    /// problem is solved).
    pub fn follow_up(&self) -> Option<FollowUp> {
        let said: Vec<String> = self
            .replies
            .iter()
            .filter(|r| r.contains(POSTER_MARK))
            .map(|r| r.replace(POSTER_MARK, "").trim().to_string())
            .collect();
        (!said.is_empty()).then(|| FollowUp {
            question: self.title.clone(),
            follow_up: said,
        })
    }
}

/// A question's title and what its poster wrote back, as `Solved` reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FollowUp {
    /// the question the poster asked
    pub question: String,
    /// what the poster wrote after reading the replies
    pub follow_up: Vec<String>,
}

/// `Solved`'s answer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Resolution {
    /// true when the follow-up says the problem is fixed
    pub solved: bool,
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

impl Subject {
    /// Every subject, in order.
    pub const ALL: [Subject; 9] = [
        Subject::LocalAiModels,
        Subject::CloudAiServices,
        Subject::ComputerHardware,
        Subject::Programming,
        Subject::Cooking,
        Subject::Gardening,
        Subject::Money,
        Subject::Sports,
        Subject::Other,
    ];
}

/// `Screen`'s answer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Subjected {
    /// what the post is mainly about
    pub subject: Subject,
}

/// Whether a scored `Screen` answer makes the post relevant: its subject,
/// after the tuned offsets ([`screen`]), is `local_ai_models`.
pub fn is_relevant(scored: &agentkit::Scored<Subjected>) -> bool {
    scored.value.subject == Subject::LocalAiModels
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

/// What kind of post a thread opens with, as `KindOf` sees it: finer than
/// "worth answering or not", so a small model has somewhere to put a
/// showcase or a solved question. Only an open question is worth answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PostKind {
    /// asks a concrete question that no reply has answered yet
    OpenQuestion,
    /// asks a question that a reply has already answered or solved
    AnsweredQuestion,
    /// shows off a build, benchmark numbers or an experience, asks nothing
    Showcase,
    /// announces a release, a tool or news
    Announcement,
    /// asks people to vote or share their opinions
    Poll,
    /// complains, asks nothing
    Rant,
}

impl PostKind {
    /// The rule: only an open question is worth answering.
    pub fn worth_answering(self) -> bool {
        self == PostKind::OpenQuestion
    }

    /// Every kind, in order.
    pub const ALL: [PostKind; 6] = [
        PostKind::OpenQuestion,
        PostKind::AnsweredQuestion,
        PostKind::Showcase,
        PostKind::Announcement,
        PostKind::Poll,
        PostKind::Rant,
    ];
}

/// `KindOf`'s answer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KindChoice {
    /// what kind of post this is
    pub kind: PostKind,
}

/// A finer topic than [`Topic`], as `ClassifyFine` sees it: each maps to
/// one topic ([`Subtopic::topic`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Subtopic {
    /// which GPU, graphics card or VRAM to use or buy
    Gpus,
    /// how much RAM or unified memory, which computer or Mac to buy
    Machines,
    /// tokens per second, threads, slow prompt processing
    Speed,
    /// quantization levels such as Q4 or Q8 and their trade-offs
    Quantization,
    /// context length and memory settings
    ContextLength,
    /// which model to pick, or a model's quality
    ModelChoice,
    /// fine-tuning a model
    FineTuning,
    /// prompts, chat templates, system prompts
    Prompts,
    /// installing, setup, networking, errors, tools
    Setup,
    /// anything else
    Other,
}

impl Subtopic {
    /// The topic it belongs to.
    pub fn topic(self) -> Topic {
        match self {
            Subtopic::Gpus | Subtopic::Machines => Topic::Hardware,
            Subtopic::Speed | Subtopic::Quantization | Subtopic::ContextLength => {
                Topic::Performance
            }
            Subtopic::ModelChoice | Subtopic::FineTuning | Subtopic::Prompts => Topic::Models,
            Subtopic::Setup | Subtopic::Other => Topic::Other,
        }
    }

    /// Every subtopic, in order.
    pub const ALL: [Subtopic; 10] = [
        Subtopic::Gpus,
        Subtopic::Machines,
        Subtopic::Speed,
        Subtopic::Quantization,
        Subtopic::ContextLength,
        Subtopic::ModelChoice,
        Subtopic::FineTuning,
        Subtopic::Prompts,
        Subtopic::Setup,
        Subtopic::Other,
    ];
}

/// `ClassifyFine`'s answer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SubtopicChoice {
    /// what the post is mainly about
    pub subtopic: Subtopic,
}

/// The most characters a drafted reply may have. With repetition control
/// the drafts no longer loop, but at 200 characters a quarter of them were
/// cut mid-sentence (7 of 30 dev threads) and at 300 about one in ten of
/// all 60 threads' drafts, over three seeds; at 400, fewer
/// (`BENCHMARKS.md`, `--example repetition`).
pub const REPLY_CHARS: usize = 400;

/// `Draft`'s answer.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Reply {
    /// a short, friendly, helpful reply to the post
    #[schemars(length(max = REPLY_CHARS))]
    pub reply: String,
}

/// Whether a draft ran into its length bound (within 5 characters of
/// [`REPLY_CHARS`]): where a small model's loops end.
pub fn at_bound(reply: &str) -> bool {
    reply.chars().count() + 5 >= REPLY_CHARS
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

/// Read the forum thread about running language models locally, replies
/// included, and say what kind of post it is. A question counts as answered
/// when a reply solves it or the poster says it is solved.
#[agent(
    model = "judge",
    temperature = 0.0,
    max_tokens = 16,
    input = Thread,
    output = KindChoice,
    input_format = "labelled"
)]
pub struct KindOf;

/// A forum poster asked a question and later wrote back. Say whether their
/// follow-up says the problem is now fixed.
#[agent(
    model = "judge",
    temperature = 0.0,
    max_tokens = 8,
    input = FollowUp,
    output = Resolution,
    input_format = "labelled"
)]
pub struct Solved;

/// Read the forum post about running language models locally and say what it
/// is mainly about.
#[agent(
    model = "judge",
    temperature = 0.0,
    max_tokens = 16,
    input = Thread,
    output = SubtopicChoice,
    input_format = "labelled"
)]
pub struct ClassifyFine;

/// Write a short, friendly reply to this forum thread that helps the poster
/// with their question about running language models locally. Be concrete.
///
/// `repeat_penalty` stops the loops SmolLM2 falls into under a length bound
/// ("128GB RAM, 128GB RAM, ..."); DRY (`dry_multiplier`) keeps it from
/// copying runs of the thread into the reply: see `--example repetition`.
/// `max_tokens` leaves room for [`REPLY_CHARS`] characters even at a token
/// per character (numbers, addresses), so a reply ends at its character
/// bound and is never cut off by the token budget.
#[agent(
    model = "draft",
    temperature = 0.3,
    repeat_penalty = 1.1,
    dry_multiplier = 0.8,
    max_tokens = 440,
    input = Thread,
    output = Reply,
    input_format = "labelled"
)]
pub struct Draft;

/// Threads that say nothing (empty, "N/A", `"[MASK]"`): what a scored agent
/// answers for them is its lean, whatever the input, which contextual
/// calibration divides out.
pub fn content_free() -> Vec<Thread> {
    let blank = |text: &str| Thread {
        community: text.into(),
        title: text.into(),
        body: text.into(),
        replies: Vec::new(),
    };
    vec![blank(""), blank("N/A"), blank("[MASK]")]
}

/// Follow-ups that say nothing, for calibrating `Solved` (see
/// [`content_free`]).
pub fn content_free_follow_ups() -> Vec<FollowUp> {
    ["", "N/A", "[MASK]"]
        .into_iter()
        .map(|text| FollowUp {
            question: text.into(),
            follow_up: vec![text.into()],
        })
        .collect()
}

/// Where the tunings of the pipeline's scored agents are kept
/// (`examples/tuned/`), written by `--example tune`.
pub fn tuned_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tuned")
}

/// A runtime for the pipeline: the aliases of [`manifest_path`] (every step
/// on SmolLM2-135M in-process unless edited), local ones on llama.cpp and
/// served ones (`alias = { endpoints = [...] }`) on their servers.
pub fn runtime() -> Result<Runtime, Error> {
    runtime_with(crate::llama()?)
}

/// The same, on a llama.cpp backend the caller keeps a handle to.
pub fn runtime_with(llama: agentkit_backends::llama::Llama) -> Result<Runtime, Error> {
    runtime_from(llama, &manifest_path())
}

/// The same, with the aliases of the manifest at `manifest`.
pub fn runtime_from(
    llama: agentkit_backends::llama::Llama,
    manifest: &Path,
) -> Result<Runtime, Error> {
    Ok(Runtime::builder()
        .backend(agentkit_backends::server::Router::new(llama))
        .manifest(manifest)?
        .build())
}

/// `Screen` as the pipeline runs it: by scored choices over the subjects,
/// with one offset per subject fitted on the dev split by `--example tune`
/// (`examples/tuned/Screen.json`).
pub fn screen() -> Result<agentkit::ScoredAgent<Screen>, Error> {
    scored(Screen).tuned_from(tuned_dir().join("Screen.json"))
}

/// `KindOf` as the pipeline runs it: by scored choices, with the tuning
/// `--example tune` fitted on the dev split (`examples/tuned/KindOf.json`).
pub fn kind_of() -> Result<agentkit::ScoredAgent<KindOf>, Error> {
    scored(KindOf).tuned_from(tuned_dir().join("KindOf.json"))
}

/// `Solved` as the pipeline runs it: by scored choices, with the threshold
/// `--example tune` fitted on the dev split (`examples/tuned/Solved.json`).
pub fn solved() -> Result<agentkit::ScoredAgent<Solved>, Error> {
    scored(Solved).tuned_from(tuned_dir().join("Solved.json"))
}

/// `Classify` as the pipeline runs it: by scored choices, with the tuning
/// `--example tune` fitted on the dev split (`examples/tuned/Classify.json`).
pub fn classify() -> Result<agentkit::ScoredAgent<Classify>, Error> {
    scored(Classify).tuned_from(tuned_dir().join("Classify.json"))
}

/// The manifest the pipeline runs with: `$AGENTKIT_MANIFEST`, else the
/// examples' `agentkit.toml`. Another manifest moves steps to servers
/// (`examples/agentkit.server.toml` moves all three); it must declare the
/// aliases the agents name, which the build checks against `agentkit.toml`.
pub fn manifest_path() -> std::path::PathBuf {
    match std::env::var_os("AGENTKIT_MANIFEST") {
        Some(path) if !path.is_empty() => path.into(),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("agentkit.toml"),
    }
}

/// One thread's way through the pipeline.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The thread.
    pub thread: Thread,
    /// The probability the tuned `Screen` gave "running AI models locally".
    pub relevance: f64,
    /// Whether the tuned screen named its subject `local_ai_models`.
    pub relevant: bool,
    /// What kind of post `KindOf` took it for, for relevant threads.
    pub kind: Option<PostKind>,
    /// What `Solved` said of the poster's follow-up, for open questions
    /// whose poster wrote back.
    pub solved: Option<bool>,
    /// Whether it is worth answering: an open question
    /// ([`PostKind::worth_answering`]) that `Solved` did not find solved.
    pub worth_answering: Option<bool>,
    /// `Classify`'s topic and its probability, for relevant threads.
    pub topic: Option<(Topic, f64)>,
    /// `Draft`'s reply, for threads worth answering.
    pub reply: Option<String>,
}

/// Threads in flight per stage: as many as the llama.cpp backend decodes
/// together by default (`LlamaConfig::parallel`).
pub const CONCURRENCY: usize = 8;

/// A reply as `Draft` writes it, for a live view ([`research_live`]).
#[derive(Debug, Clone, Copy)]
pub enum Drafting<'a> {
    /// The reply to `thread` so far.
    Writing {
        /// The thread being answered.
        thread: &'a Thread,
        /// The reply as far as it is written.
        reply: &'a str,
    },
    /// The reply to `thread` is done.
    Done {
        /// The thread answered.
        thread: &'a Thread,
        /// The whole reply.
        reply: &'a str,
    },
}

/// The research pipeline: find the relevant threads, score them, draft
/// replies for the ones worth answering. Three chains, one per stage, so the
/// outcome of every thread is kept for the report.
pub async fn research(runtime: &Runtime, threads: Vec<Thread>) -> Result<Vec<Outcome>, Error> {
    research_live(runtime, threads, &|_| {}).await
}

/// [`research`], calling `watch` as each reply is written (the drafts are
/// streamed: see the book's streaming chapter).
pub async fn research_live(
    runtime: &Runtime,
    threads: Vec<Thread>,
    watch: &(dyn Fn(Drafting<'_>) + Sync),
) -> Result<Vec<Outcome>, Error> {
    // 1. find: the subject of every thread, by scored choices.
    // `each` runs the pre-flight itself before its first item, so a broken
    // model alias or schema fails here before anything is generated.
    // Each stage runs its threads concurrently: the llama.cpp backend decodes
    // concurrent calls of one model together, in one batch per step.
    let find = each(with_input(screen()?)).concurrency(CONCURRENCY);
    let calls = threads.len();
    let screened = find
        .run(runtime, threads)
        .instrument(progress::stage("find", calls))
        .await?;

    // 2. score the relevant ones: worth answering? which topic?
    let relevant: Vec<Thread> = screened
        .iter()
        .filter(|(_, s)| is_relevant(s))
        .map(|(t, _)| t.clone())
        .collect();
    // Two scored calls per thread: what kind of post, which topic.
    let calls = 2 * relevant.len();
    let judged = each(with_input(both(kind_of()?, classify()?)))
        .concurrency(CONCURRENCY)
        .run(runtime, relevant)
        .instrument(progress::stage("score", calls))
        .await?;

    // An open question whose poster wrote back may be solved already: one
    // more scored call each, on what the poster wrote.
    let asked: Vec<(Thread, FollowUp)> = judged
        .iter()
        .filter(|(_, (k, _))| k.value.kind.worth_answering())
        .filter_map(|(t, _)| Some((t.clone(), t.follow_up()?)))
        .collect();
    let calls = asked.len();
    let solved_agent = solved()?;
    let solved_agent = &solved_agent;
    let solved_by_reply: Vec<(Thread, bool)> = stream::iter(asked)
        .map(|(thread, follow_up)| async move {
            let said = solved_agent.run(runtime, follow_up).await?;
            Ok::<_, Error>((thread, said.value.solved))
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .instrument(progress::stage("follow-ups", calls))
        .await?;
    let solved_of = |thread: &Thread| {
        solved_by_reply
            .iter()
            .find(|(t, _)| t == thread)
            .map(|(_, s)| *s)
    };
    let worth_of =
        |thread: &Thread, kind: PostKind| kind.worth_answering() && solved_of(thread) != Some(true);

    // 3. draft replies for the ones worth answering.
    let worth: Vec<Thread> = judged
        .iter()
        .filter(|(t, (k, _))| worth_of(t, k.value.kind))
        .map(|(t, _)| t.clone())
        .collect();
    let calls = worth.len();
    let drafted: Vec<(Thread, Reply)> = stream::iter(worth)
        .map(|thread| draft_live(runtime, thread, watch))
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .instrument(progress::stage("draft", calls))
        .await?;

    Ok(screened
        .into_iter()
        .map(|(thread, s)| {
            let judged = judged.iter().find(|(t, _)| *t == thread).map(|(_, j)| j);
            Outcome {
                relevance: s
                    .probability("subject", &Subject::LocalAiModels)
                    .unwrap_or(0.0),
                relevant: is_relevant(&s),
                kind: judged.map(|(k, _)| k.value.kind),
                solved: solved_of(&thread),
                worth_answering: judged.map(|(k, _)| worth_of(&thread, k.value.kind)),
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

/// `Draft`'s reply to `thread`, streamed: `watch` sees it as it is written.
async fn draft_live(
    runtime: &Runtime,
    thread: Thread,
    watch: &(dyn Fn(Drafting<'_>) + Sync),
) -> Result<(Thread, Reply), Error> {
    let mut events = Draft.stream(runtime, thread.clone());
    while let Some(event) = events.next().await {
        match event? {
            Event::Partial(Partial {
                output: Some(so_far),
                ..
            }) => watch(Drafting::Writing {
                thread: &thread,
                reply: &so_far.reply,
            }),
            Event::Done(reply) => {
                watch(Drafting::Done {
                    thread: &thread,
                    reply: &reply.reply,
                });
                return Ok((thread, reply));
            }
            _ => {}
        }
    }
    Err(Error::Backend {
        agent: "Draft".into(),
        reason: "the stream ended without a reply".into(),
    })
}

/// Which part of the labelled corpus to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Split {
    /// The threads for tuning and few-shot examples.
    Dev,
    /// The held-out threads, never used for tuning.
    Test,
    /// Both.
    All,
}

impl Split {
    /// `dev`, `test`, or `None` for all.
    fn name(self) -> Option<&'static str> {
        match self {
            Split::Dev => Some("dev"),
            Split::Test => Some("test"),
            Split::All => None,
        }
    }
}

/// Loads the corpus (`data/forum.jsonl`), keeping the threads of `split`.
pub fn load(split: Split) -> Result<Vec<LabelledThread>, Error> {
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
        if split.name().is_none_or(|s| s == t.split) {
            threads.push(t);
        }
    }
    Ok(threads)
}

/// What a person said about a thread: what the pipeline should find.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Labels {
    /// About running language models locally.
    pub relevant: bool,
    /// Relevant, an open concrete question, not a showcase or rant.
    pub worth_answering: bool,
    /// Hardware, performance, models or other.
    pub topic: Topic,
}

/// A thread to research, with its labels when it has them.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The `id` it was given, or `line N` after its line in the file.
    pub id: String,
    /// The thread.
    pub thread: Thread,
    /// Its labels, if the input had them.
    pub labels: Option<Labels>,
}

/// One line of an input file, as written.
#[derive(Deserialize)]
struct InputLine {
    id: Option<String>,
    #[serde(default)]
    community: String,
    title: String,
    body: String,
    #[serde(default, alias = "comments")]
    replies: Vec<String>,
    relevant: Option<bool>,
    worth_answering: Option<bool>,
    topic: Option<Topic>,
}

impl InputLine {
    fn into_entry(self, line: usize) -> Result<Entry, String> {
        let labels = match (self.relevant, self.worth_answering, self.topic) {
            (Some(relevant), Some(worth_answering), Some(topic)) => Some(Labels {
                relevant,
                worth_answering,
                topic,
            }),
            (None, None, None) => None,
            (r, w, t) => {
                let missing: Vec<&str> = [
                    ("`relevant`", r.is_none()),
                    ("`worth_answering`", w.is_none()),
                    ("`topic`", t.is_none()),
                ]
                .into_iter()
                .filter_map(|(name, absent)| absent.then_some(name))
                .collect();
                return Err(format!(
                    "labels are all or nothing, and {} missing; give `relevant`, \
                     `worth_answering` and `topic`, or none of them",
                    missing.join(" and ")
                ));
            }
        };
        Ok(Entry {
            id: self.id.unwrap_or_else(|| format!("line {line}")),
            thread: Thread {
                community: self.community,
                title: self.title,
                body: self.body,
                replies: self.replies,
            },
            labels,
        })
    }
}

/// Why an input file gave no threads.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file could not be read.
    #[error("cannot read {name}: {reason}")]
    Read {
        /// The file (`standard input` for `-`).
        name: String,
        /// The operating system's reason.
        reason: std::io::Error,
    },
    /// A line is not a thread.
    #[error("{name} line {line}: {reason}")]
    Line {
        /// The file (`standard input` for `-`).
        name: String,
        /// The 1-based line.
        line: usize,
        /// What is wrong with it (serde_json's message for bad JSON).
        reason: String,
    },
    /// The file holds no threads at all.
    #[error(
        "{name} is empty: it needs one thread per line, as a JSON object with \
         `title` and `body` (and optionally `community`, `replies`, `id` and the labels)"
    )]
    Empty {
        /// The file (`standard input` for `-`).
        name: String,
    },
}

/// Reads threads from a JSON Lines file, `-` meaning standard input.
///
/// Each non-blank line is one JSON object: `title` and `body` (strings), and
/// optionally `community` (string), `replies` (strings; `comments` is also
/// accepted, so the corpus itself can be read), `id`, and the three labels
/// `relevant`, `worth_answering` and `topic`, all or none. Other fields are
/// ignored.
pub fn read_input(path: &Path) -> Result<Vec<Entry>, InputError> {
    let stdin = path.as_os_str() == "-";
    let name = if stdin {
        "standard input".to_string()
    } else {
        format!("`{}`", path.display())
    };
    let text = if stdin {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(path)
    }
    .map_err(|reason| InputError::Read {
        name: name.clone(),
        reason,
    })?;
    parse_input(&name, &text)
}

/// Parses the text of an input file; `name` is how errors name the file.
pub fn parse_input(name: &str, text: &str) -> Result<Vec<Entry>, InputError> {
    let mut entries = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| InputError::Line {
            name: name.to_string(),
            line: i + 1,
            reason,
        };
        let parsed: InputLine = serde_json::from_str(line).map_err(|e| bad(json_problem(&e)))?;
        entries.push(parsed.into_entry(i + 1).map_err(bad)?);
    }
    if entries.is_empty() {
        return Err(InputError::Empty {
            name: name.to_string(),
        });
    }
    Ok(entries)
}

/// serde_json's message with its position given as a column: the line is
/// already named, and serde_json counts lines within the one it was given.
fn json_problem(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    match message.strip_suffix(&position) {
        Some(problem) => format!("column {}: {problem}", e.column()),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        match parse_input("`t.jsonl`", text) {
            Ok(e) => panic!("expected an error, got {e:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn reads_threads_with_and_without_labels() {
        let entries = parse_input(
            "`t.jsonl`",
            r#"{"title": "a", "body": "b"}

{"id": "x", "community": "c", "title": "d", "body": "e", "comments": ["f"], "relevant": true, "worth_answering": false, "topic": "models", "why": "ignored"}
"#,
        )
        .unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].id, "line 1");
        assert_eq!(entries[0].labels, None);
        assert!(entries[0].thread.replies.is_empty());
        assert_eq!(entries[1].id, "x");
        assert_eq!(entries[1].thread.replies, vec!["f".to_string()]);
        assert_eq!(
            entries[1].labels,
            Some(Labels {
                relevant: true,
                worth_answering: false,
                topic: Topic::Models
            })
        );
    }

    #[test]
    fn names_the_line_and_the_problem() {
        assert_eq!(
            err("{\"title\": \"a\", \"body\": \"b\"}\n{\"title\": \"a\"}"),
            "`t.jsonl` line 2: column 14: missing field `body`"
        );
        assert_eq!(
            err("{\"title\": \"a\", \"body\": \"b\", \"topic\": \"hardwre\", \"relevant\": true, \"worth_answering\": true}"),
            "`t.jsonl` line 1: column 46: unknown variant `hardwre`, expected one of \
             `hardware`, `performance`, `models`, `other`"
        );
        assert_eq!(
            err("not json"),
            "`t.jsonl` line 1: column 2: expected ident"
        );
        assert!(err(r#"{"title": "a", "body": "b", "relevant": true}"#)
            .contains("`worth_answering` and `topic` missing"));
        assert!(err("\n  \n").starts_with("`t.jsonl` is empty"));
        assert!(err("").starts_with("`t.jsonl` is empty"));
    }

    #[test]
    fn the_corpus_reads_as_input() {
        let path = crate::data_dir().join("forum.jsonl");
        let entries = read_input(&path).unwrap();
        let corpus = load(Split::All).unwrap();
        let from_corpus: Vec<Entry> = corpus.iter().map(LabelledThread::entry).collect();
        assert_eq!(entries, from_corpus);
    }

    #[test]
    fn the_pipeline_loads_tunings_that_fit_its_agents() {
        screen().unwrap();
        kind_of().unwrap();
        solved().unwrap();
        classify().unwrap();
        let answers = |path: &str| {
            let tuning = agentkit::tune::Tuning::load(tuned_dir().join(path)).unwrap();
            tuning.offsets.keys().cloned().collect::<Vec<String>>()
        };
        let mut kinds: Vec<String> = PostKind::ALL
            .iter()
            .map(|k| serde_json::to_string(k).unwrap())
            .collect();
        kinds.sort();
        assert_eq!(answers("KindOf.json"), kinds);
        assert_eq!(answers("Solved.json"), ["false", "true"]);
        let mut topics: Vec<String> = [
            Topic::Hardware,
            Topic::Performance,
            Topic::Models,
            Topic::Other,
        ]
        .iter()
        .map(|t| serde_json::to_string(t).unwrap())
        .collect();
        topics.sort();
        assert_eq!(answers("Classify.json"), topics);
    }

    #[test]
    fn the_follow_up_is_what_the_poster_wrote_back() {
        let thread = |replies: &[&str]| Thread {
            community: "r/LocalLLaMA".into(),
            title: "Ollama ignores my GPU".into(),
            body: "It runs on the CPU.".into(),
            replies: replies.iter().map(|r| r.to_string()).collect(),
        };
        assert_eq!(thread(&[]).follow_up(), None);
        assert_eq!(thread(&["Set -ngl 99."]).follow_up(), None);
        let follow_up = thread(&["Set -ngl 99.", "That was it, thanks! (OP)"])
            .follow_up()
            .unwrap();
        assert_eq!(follow_up.question, "Ollama ignores my GPU");
        assert_eq!(follow_up.follow_up, ["That was it, thanks!"]);
        // The corpus's solved questions are relevant, not worth answering,
        // and each has a follow-up from its poster for `Solved` to read.
        let solved: Vec<String> = load(Split::All)
            .unwrap()
            .into_iter()
            .filter(|t| t.solved)
            .inspect(|t| {
                assert!(t.relevant && !t.worth_answering, "{}", t.id);
                assert!(t.thread().follow_up().is_some(), "{}", t.id);
            })
            .map(|t| t.id)
            .collect();
        assert_eq!(solved, ["t07", "t13", "t18", "t24"]);
    }

    #[test]
    fn the_sample_input_has_no_labels() {
        let entries = read_input(&crate::data_dir().join("my_threads.jsonl")).unwrap();
        assert!(entries.len() >= 3);
        assert!(entries.iter().all(|e| e.labels.is_none()));
    }

    #[test]
    fn a_missing_file_is_named() {
        let e = read_input(Path::new("/nonexistent/threads.jsonl"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("cannot read `/nonexistent/threads.jsonl`: "),
            "{e}"
        );
    }
}
