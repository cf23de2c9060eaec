//! The triage example's pipeline on the scripted backend: non-urgent tickets
//! keep their classification and get no draft, the order is kept, the
//! calibration is measured once, and the drafts stream tagged by ticket.

use std::collections::BTreeMap;

use agentkit::prelude::*;
use agentkit::stream::{Event, Progress, StreamExt};
use agentkit::Streams;
use agentkit_examples::triage::{
    self, content_free, Category, Classification, Classify, Draft, Ticket, Triaged, URGENT,
};
use agentkit_test::ScriptedBackend;
use serde_json::json;

/// What the scripted `Classify` answers for the eight tickets, in order.
fn expected() -> Vec<Classification> {
    use Category::*;
    [
        (Billing, 2),
        (Bug, 5),
        (FeatureRequest, 1),
        (Account, 4),
        (Bug, 1),
        (Bug, 5),
        (Account, 2),
        (Billing, 3),
    ]
    .into_iter()
    .map(|(category, urgency)| Classification { category, urgency })
    .collect()
}

/// Log-probabilities that make `c` the likeliest answer: one list per field,
/// in the output type's order (categories as declared, urgency 1 to 5).
fn scores_for(c: &Classification) -> Vec<Vec<f64>> {
    let categories = [
        Category::Billing,
        Category::Bug,
        Category::Account,
        Category::FeatureRequest,
        Category::Other,
    ];
    let pick = |hit: bool| f64::ln(if hit { 0.6 } else { 0.1 });
    vec![
        categories.iter().map(|k| pick(*k == c.category)).collect(),
        (1..=5u8).map(|u| pick(u == c.urgency)).collect(),
    ]
}

/// A content-free ticket's scores: no lean, so calibration changes no answer.
fn uniform() -> Vec<Vec<f64>> {
    vec![vec![f64::ln(0.2); 5], vec![f64::ln(0.2); 5]]
}

fn draft_text(t: &Ticket) -> String {
    format!("Sorry about \"{}\", we are on it.", t.subject)
}

/// A script whose `Classify` answers with `scores` in turn (the tickets' and
/// the content-free tickets'), and whose `Draft` answers each ticket by its
/// subject.
fn script(scores: Vec<Vec<Vec<f64>>>) -> ScriptedBackend {
    let mut script = ScriptedBackend::new().chunk_size(4);
    for s in scores {
        script = script.scores::<Classify>(s);
    }
    for ticket in triage::tickets() {
        let subject = ticket.subject.clone();
        script = script.reply_when::<Draft>(
            move |(t, _): &(Ticket, Classification)| t.subject == subject,
            json!({ "reply": draft_text(&ticket) }),
        );
    }
    script
}

/// Every ticket in its place with its classification; a draft for exactly
/// the urgent ones; calls = items + content-free inputs + drafts.
fn check(out: &[Triaged], runtime: &Runtime) {
    let tickets = triage::tickets();
    let expected = expected();
    assert_eq!(out.len(), tickets.len());
    let mut drafts = 0;
    for (i, ((ticket, class), draft)) in out.iter().enumerate() {
        assert_eq!(ticket, &tickets[i], "ticket {i} in its place");
        assert_eq!(class, &expected[i], "ticket {i} keeps its classification");
        if class.urgency >= URGENT {
            let draft = draft.as_ref().map(|d| d.reply.as_str());
            assert_eq!(draft, Some(draft_text(ticket).as_str()), "ticket {i}");
            drafts += 1;
        } else {
            assert!(draft.is_none(), "ticket {i} is not urgent: {draft:?}");
        }
    }
    assert_eq!(drafts, 3);
    let calls = tickets.len() + content_free().len() + drafts;
    assert_eq!(
        runtime.usage().calls,
        calls as u64,
        "calibration measured once"
    );
}

#[tokio::test]
async fn one_at_a_time_every_ticket_keeps_its_classification() {
    // One at a time: the first ticket is scored, then the lean is measured
    // on the content-free tickets, then the other seven are scored.
    let items: Vec<_> = expected().iter().map(scores_for).collect();
    let mut scores = vec![items[0].clone()];
    scores.extend(content_free().iter().map(|_| uniform()));
    scores.extend(items[1..].iter().cloned());
    let script = script(scores);
    let runtime = Runtime::builder().backend(script.clone()).build();

    let out = triage::triage(1)
        .run(&runtime, triage::tickets())
        .await
        .unwrap();

    check(&out, &runtime);
    assert_eq!(
        script.calls_for::<Draft>().len(),
        3,
        "a draft per urgent ticket"
    );
}

#[tokio::test]
async fn eight_at_a_time_the_drafts_stream_tagged_by_ticket_and_calibration_runs_once() {
    // Eight at a time (on the test's one thread, so the order is fixed):
    // every ticket's scored call is answered first, in the order they
    // started, then one of them measures the lean while the others wait.
    let mut scores: Vec<_> = expected().iter().map(scores_for).collect();
    scores.extend(content_free().iter().map(|_| uniform()));
    let script = script(scores);
    let runtime = Runtime::builder().backend(script.clone()).build();
    let pipeline = triage::triage(8);

    let mut events = pipeline.stream(&runtime, triage::tickets());
    let mut texts: BTreeMap<usize, String> = BTreeMap::new();
    let mut deltas = 0;
    let mut out = None;
    while let Some(event) = events.next().await {
        match event.unwrap() {
            Event::Item {
                index,
                progress: Progress::Delta(d),
            } => {
                texts.entry(index).or_default().push_str(&d);
                deltas += 1;
            }
            Event::Done(all) => out = Some(all),
            _ => {}
        }
    }
    let out = out.expect("the stream ends with the outputs");

    check(&out, &runtime);
    // Only the urgent tickets wrote text, each its own draft, in pieces.
    let tickets = triage::tickets();
    let written: Vec<usize> = texts.keys().copied().collect();
    assert_eq!(written, [1, 3, 5]);
    for (i, text) in &texts {
        let reply: triage::Reply = serde_json::from_str(text).unwrap();
        assert_eq!(reply.reply, draft_text(&tickets[*i]));
    }
    assert!(deltas > 3, "drafts stream in pieces");
}
