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
    pub fn post(&self) -> Post {
        Post {
            community: self.community.clone(),
            title: self.title.clone(),
            body: self.body.clone(),
        }
    }

    /// The thread with its replies, for judging whether it is still open.
    pub fn discussion(&self) -> Discussion {
        Discussion {
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

/// A forum post: what `Screen` reads.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Post {
    /// Where it was posted.
    pub community: String,
    /// Its title.
    pub title: String,
    /// The opening post.
    pub body: String,
}

/// A thread with its replies: what `Judge` and `Draft` read.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Discussion {
    /// Its title.
    pub title: String,
    /// The opening post.
    pub body: String,
    /// Replies so far.
    pub replies: Vec<String>,
}

/// `Screen`'s answer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Relevance {
    /// true when the post is about running language models on one's own
    /// computer (llama.cpp, Ollama, GGUF, quantization, local speed or memory)
    pub relevant: bool,
}

/// `Judge`'s answer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Worth {
    /// true when the post asks a concrete question that the replies have not
    /// answered yet
    pub worth_answering: bool,
}

/// `Draft`'s answer.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Reply {
    /// a short, friendly, helpful reply to the post
    #[schemars(length(max = 400))]
    pub reply: String,
}

/// Decide whether a forum post is about running language models locally, on
/// one's own computer: llama.cpp, Ollama, GGUF files, quantization, local
/// speed or memory, choosing a model to run at home. Posts about cloud AI
/// services, ChatGPT, model training theory, or anything else are not.
#[agent(
    model = "screen",
    temperature = 0.0,
    max_tokens = 16,
    input = Post,
    output = Relevance,
    input_format = "labelled",
    examples = "data/screen_examples.jsonl"
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
    input = Discussion,
    output = Worth,
    input_format = "labelled",
    examples = "data/judge_examples.jsonl"
)]
pub struct Judge;

/// Write a short, friendly reply to this forum thread that helps the poster
/// with their question about running language models locally. Be concrete.
#[agent(
    model = "draft",
    temperature = 0.3,
    max_tokens = 160,
    input = Discussion,
    output = Reply,
    input_format = "labelled"
)]
pub struct Draft;

/// A runtime for the pipeline: the llama.cpp backend and the aliases in the
/// examples' `agentkit.toml` (every step on SmolLM2-135M unless edited).
pub fn runtime() -> Result<Runtime, Error> {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("agentkit.toml");
    Ok(Runtime::builder()
        .backend(crate::llama()?)
        .manifest(manifest)?
        .build())
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
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
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
