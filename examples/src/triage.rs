//! The support-ticket triage pipeline of `--example triage`: each ticket's
//! category and urgency chosen by scored choices (calibrated once per model),
//! a reply drafted only for urgent tickets, as one chain per ticket fanned
//! out over the list, the drafts streamed as they are written.

use agentkit::prelude::*;
use agentkit::{Scored, Streams};

// The types carry `//` comments where a `///` would become part of the JSON
// schema every request shows the model.

// A support ticket as the customer wrote it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Ticket {
    pub subject: String,
    pub body: String,
}

// What a ticket is about. Field-less, so it is a scored choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Billing,
    Bug,
    Account,
    FeatureRequest,
    Other,
}

// `Classify`'s answer: both fields are scored choices (an enum, and an
// integer with a small range).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Classification {
    pub category: Category,
    /// 1 = can wait, 5 = customers are blocked right now
    #[schemars(range(min = 1, max = 5))]
    pub urgency: u8,
}

/// The longest reply `Draft` may write, in characters.
pub const REPLY_CHARS: usize = 400;

// `Draft`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Reply {
    /// a short, polite reply to the customer
    #[schemars(length(max = REPLY_CHARS))]
    pub reply: String,
}

/// Classify this customer support ticket: what it is about (billing, a bug,
/// their account, a feature request, or other) and how urgent it is, from 1
/// (a question that can wait) to 5 (the customer cannot work or is losing
/// money right now).
#[agent(model = "judge", input = Ticket, output = Classification)]
pub struct Classify;

/// Write a short, polite first reply to this urgent support ticket: say that
/// you have understood the problem and what happens next. Do not promise a
/// refund or a fix date.
#[agent(
    model = "draft",
    temperature = 0.3,
    repeat_penalty = 1.1,
    dry_multiplier = 0.8,
    max_tokens = 440,
    input = (Ticket, Classification),
    output = Reply,
    input_format = "labelled"
)]
pub struct Draft;

/// The lowest urgency that gets a drafted reply.
pub const URGENT: u8 = 4;

/// One ticket after triage: the ticket, its classification, and the draft
/// (`None` for a ticket that was not urgent).
pub type Triaged = ((Ticket, Classification), Option<Reply>);

/// Tickets that say nothing (empty, "N/A", `"[MASK]"`): what `Classify`
/// answers for them is the model's lean, which calibration divides out.
pub fn content_free() -> Vec<Ticket> {
    ["", "N/A", "[MASK]"]
        .into_iter()
        .map(|text| Ticket {
            subject: text.into(),
            body: text.into(),
        })
        .collect()
}

/// The per-ticket chain: classify by calibrated scored choices, then draft a
/// reply only when the urgency is at least [`URGENT`], keeping the ticket and
/// its classification either way. Returned as `impl Streams` so the drafts
/// can be watched while they are written.
pub fn per_ticket() -> impl Streams<Ticket, Output = Triaged> {
    let classify = scored(Classify)
        .calibrate(content_free())
        .map(|s: Scored<Classification>| s.value);
    with_input(classify).then(with_input(
        Draft.when(|(_, c): &(Ticket, Classification)| c.urgency >= URGENT),
    ))
}

/// The pipeline: [`per_ticket`] on every ticket, up to `concurrency` at a
/// time; its stream tags each draft's text with the ticket's index.
pub fn triage(concurrency: usize) -> impl Streams<Vec<Ticket>, Output = Vec<Triaged>> {
    each(per_ticket()).concurrency(concurrency.max(1))
}

/// The eight tickets the example triages.
pub fn tickets() -> Vec<Ticket> {
    [
        (
            "Charged twice this month",
            "My card was charged twice for the March invoice. Please refund the duplicate charge.",
        ),
        (
            "Production API returns 500 on every request",
            "Since 09:10 UTC every call to /v2/orders fails with HTTP 500. Our checkout is down \
             and we are losing sales every minute.",
        ),
        (
            "Dark mode",
            "It would be nice to have a dark mode in the dashboard some day.",
        ),
        (
            "Locked out after password reset",
            "I reset my password and now the login page says my account is locked. I cannot \
             access any of our projects and a client demo starts in an hour.",
        ),
        (
            "Typo on the pricing page",
            "The pricing page says 'anual' instead of 'annual'.",
        ),
        (
            "Data export deleted our records",
            "Running the CSV export deleted all customer records from our workspace. This is \
             urgent, our support team cannot see any customers.",
        ),
        (
            "Change the email on my account",
            "How do I change the email address my account uses? No rush.",
        ),
        (
            "Invoice shows the wrong company name",
            "Our latest invoice has the old company name on it; could you send a corrected \
             one when you get a chance?",
        ),
    ]
    .into_iter()
    .map(|(subject, body)| Ticket {
        subject: subject.into(),
        body: body.into(),
    })
    .collect()
}
