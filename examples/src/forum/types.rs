//! The threads the agents read and the answers they give.

use agentkit::prelude::*;

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
///
/// Every field says how it is shortened when a thread is too long for an
/// agent's context (see the book's "Long inputs" chapter): the longest
/// fields are cut first, so a long body and many replies lose their middle
/// and end while the title stays whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Thread {
    /// Where it was posted.
    #[schemars(extend("x-agentkit-fit" = "head"))]
    pub community: String,
    /// Its title.
    #[schemars(extend("x-agentkit-fit" = "head"))]
    pub title: String,
    /// The opening post: its start says what it asks.
    #[schemars(extend("x-agentkit-fit" = "head"))]
    pub body: String,
    /// Replies so far. A reply by the original poster carries
    /// [`POSTER_MARK`], as forums mark the poster's own comments. The first
    /// replies and the latest (where the poster says whether it is solved)
    /// are kept, the middle dropped.
    #[schemars(extend("x-agentkit-fit" = "ends"))]
    pub replies: Vec<String>,
}

/// How a reply written by the thread's original poster is marked in
/// [`Thread::replies`]: `(OP)` anywhere in its text, as in the corpus.
pub const POSTER_MARK: &str = "(OP)";

impl Thread {
    /// This thread `times` times as long: its body repeated `times` times
    /// (paragraphs apart) and its replies repeated `times` times in order.
    /// A long thread for the long-input tests and the padded benchmark
    /// (`--example forum -- --pad 10`).
    pub fn padded(&self, times: usize) -> Thread {
        let times = times.max(1);
        Thread {
            community: self.community.clone(),
            title: self.title.clone(),
            body: vec![self.body.as_str(); times].join("\n\n"),
            replies: (0..times).flat_map(|_| self.replies.clone()).collect(),
        }
    }

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

/// A draft as `JudgeDraft` reads it: the thread's question, its opening
/// post (cut to 600 characters) and the reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DraftToJudge {
    /// the thread's title
    pub question: String,
    /// the opening post
    pub post: String,
    /// the reply to judge
    pub reply: String,
}

impl DraftToJudge {
    /// `reply` to `thread`, as the judge reads it.
    pub fn new(thread: &Thread, reply: &str) -> DraftToJudge {
        DraftToJudge {
            question: thread.title.clone(),
            post: thread.body.chars().take(600).collect(),
            reply: reply.to_string(),
        }
    }
}

/// `JudgeDraft`'s answer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Addresses {
    /// true when the reply responds to what was asked with something specific
    pub addresses: bool,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forum::{load, Split};

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
        assert_eq!(
            solved,
            ["t07", "t13", "t18", "t24", "t63", "t70", "t77", "t84", "t91", "t97"]
        );
    }
}
