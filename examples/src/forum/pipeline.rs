//! The research pipeline: find, score, draft.

use agentkit::prelude::*;
use agentkit::stream::{Event, Partial, StreamExt};
use futures_util::stream::{self, TryStreamExt};
use tracing::Instrument;

use super::{classify, is_relevant, kind_of, screen, solved};
use super::{Draft, FollowUp, PostKind, Reply, Subject, Thread, Topic};
use crate::progress;

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
    Err(Error::backend(
        "Draft",
        agentkit::backend::BackendError::new("the stream ended without a reply"),
    ))
}
