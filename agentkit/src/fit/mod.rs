//! Long inputs: fitting an agent's input to its model's context.
//!
//! Before every call the runtime counts the prompt's tokens on the agent's
//! model ([`Backend::count_tokens`](crate::Backend::count_tokens)) and keeps
//! room for the answer ([`output_room`]). A
//! prompt that does not fit is shortened where the input type allows it: a
//! field of text or a list that declares a fitting policy,
//!
//! ```
//! use agentkit::prelude::*;
//!
//! #[derive(Serialize, JsonSchema)]
//! struct Thread {
//!     title: String,
//!     /// The opening post: its start says what it asks.
//!     #[schemars(extend("x-agentkit-fit" = "head"))]
//!     body: String,
//!     /// Replies: the first and the latest matter most.
//!     #[schemars(extend("x-agentkit-fit" = "ends"))]
//!     replies: Vec<String>,
//! }
//! # let schema = agentkit::output_schema::<Thread>();
//! # assert_eq!(schema["properties"]["body"]["x-agentkit-fit"], "head");
//! ```
//!
//! loses characters (text) or whole items (a list) from the side its
//! [`Keep`] says, with a marker where something was cut, until the prompt
//! fits. The longest fields are cut first, to one length (in characters; a
//! list's items counted together), so a short title stays whole while a long
//! body and its replies are cut; the length is the longest that fits, found
//! with exact token counts. An input that
//! does not fit even with those fields cut to nothing, or that has no policy
//! to apply, fails with [`Error::ContextOverflow`] naming its largest fields
//! and their sizes in tokens; nothing is cut silently.
//!
//! Only the input's own fields (the top level of its type) carry policies.
//! For text that should be read whole, [`chunked`](crate::chunked) splits it
//! and runs the agent on every piece.

mod pieces;
mod policy;
mod shorten;

use serde_json::Value;

use crate::backend::{output_room, OutputSchema, Request, TokenCount};
use crate::{Agent, Error, FieldTokens, Problem, Prompt, Runtime};
pub(crate) use pieces::pieces;
pub(crate) use policy::{policies, Policy};
pub use policy::{Keep, FIT_KEYWORD};
pub(crate) use shorten::shorten;

/// How many lengths are tried at most before the longest that fitted is kept.
const ROUNDS: usize = 8;

/// Counts prompts of one agent on its model.
pub(crate) struct Counter<'a> {
    runtime: &'a Runtime,
    request: Request,
}

impl<'a> Counter<'a> {
    /// A counter for `A` on `runtime`.
    pub(crate) fn of<A: Agent>(runtime: &'a Runtime) -> Result<Counter<'a>, Error> {
        let request = Request::new(
            A::NAME,
            runtime.resolve(A::NAME, A::MODEL)?,
            Prompt {
                messages: Vec::new(),
            },
            OutputSchema::of::<A::Output>(),
            A::SAMPLING,
        )
        .with_thought(A::thought());
        Ok(Counter { runtime, request })
    }

    /// The tokens of `prompt` on the agent's model, and its context.
    pub(crate) async fn count(&self, prompt: &Prompt) -> Result<TokenCount, Error> {
        let mut request = self.request.clone();
        request.prompt = prompt.clone();
        self.runtime.backend()?.count_tokens(&request).await
    }
}

/// `prompt` (rendered from `input`) as it fits `A`'s context with room for
/// the answer: unchanged when it fits or the backend does not know the
/// context, else with the fields that have a fitting policy shortened.
pub(crate) async fn fit<A: Agent>(
    runtime: &Runtime,
    input: &A::Input,
    prompt: Prompt,
) -> Result<Prompt, Error> {
    let counter = Counter::of::<A>(runtime)?;
    let room = output_room(&A::SAMPLING);
    let full = counter.count(&prompt).await?;
    tracing::debug!(
        prompt_tokens = full.prompt,
        output_room = room,
        context = full.context,
        counted = ?full.counted,
        "token budget"
    );
    let Some(context) = full.context else {
        return Ok(prompt);
    };
    if full.prompt + room <= context {
        return Ok(prompt);
    }
    let value = crate::backend::input_json::<A>(input)?;
    let policies = input_policies::<A>()?;
    let shortened = |cap: usize| prompt.with_input::<A>(apply(&value, &policies, cap));
    let budget = context.saturating_sub(room);
    let longest = policies
        .iter()
        .filter_map(|p| value.get(&p.field))
        .map(length)
        .max()
        .unwrap_or(0);
    let floor = match longest {
        0 => full.prompt,
        _ => counter.count(&shortened(0)).await?.prompt,
    };
    if floor > budget {
        let fields = field_tokens::<A>(&counter, &prompt, &value, full.prompt, &policies).await?;
        let shortest = (floor < full.prompt).then_some(floor);
        return Err(overflow::<A>(full.prompt, room, context, fields, shortest));
    }
    // The longest cap that fits, between one that fits (`lo`, at first
    // nothing) and one that does not (`hi`, at first the whole input):
    // guessed by the tokens' straight line between them, which is close,
    // since tokens grow with the kept length.
    let (mut lo, mut hi) = ((0, floor), (longest, full.prompt));
    let mut best = shortened(0);
    for _ in 0..ROUNDS {
        let slope = (budget - lo.1) as f64 / (hi.1 - lo.1).max(1) as f64;
        let cap = lo.0 + ((hi.0 - lo.0) as f64 * slope * 0.98) as usize;
        if cap <= lo.0 || cap >= hi.0 {
            break;
        }
        let candidate = shortened(cap);
        let tokens = counter.count(&candidate).await?.prompt;
        if tokens > budget {
            hi = (cap, tokens);
            continue;
        }
        (lo, best) = ((cap, tokens), candidate);
        if tokens * 100 >= budget * CLOSE_ENOUGH {
            break;
        }
    }
    tracing::info!(
        agent = A::NAME,
        from_tokens = full.prompt,
        to_tokens = lo.1,
        context,
        output_room = room,
        kept_chars = lo.0,
        "input shortened to fit the context"
    );
    Ok(best)
}

/// The share of the budget (in percent) a shortened prompt may stop at.
const CLOSE_ENOUGH: usize = 97;

/// `A`'s prompt of `prompt` tokens does not fit `context` with `room` for
/// the answer: the input's error, naming `fields` and the `shortest` prompt
/// the runtime could make.
pub(crate) fn overflow<A: Agent>(
    prompt: usize,
    room: usize,
    context: usize,
    fields: Vec<FieldTokens>,
    shortest: Option<usize>,
) -> Error {
    Error::ContextOverflow {
        agent: A::NAME.to_string(),
        model: A::MODEL.to_string(),
        prompt_tokens: prompt,
        max_tokens: u32::try_from(room).unwrap_or(u32::MAX),
        context,
        fields,
        shortest,
    }
}

/// The fitting policies of `A`'s input type, or the configuration error a
/// misdeclared one is.
pub(crate) fn input_policies<A: Agent>() -> Result<Vec<Policy>, Error> {
    policies(OutputSchema::of::<A::Input>().full()).map_err(|reason| Error::FitPolicy {
        agent: A::NAME.to_string(),
        reason,
    })
}

/// `value` with every field that has a policy cut to at most `cap`
/// characters (a list: of its items together). Short fields keep all of
/// theirs: the longest are cut first, to the same length.
fn apply(value: &Value, policies: &[Policy], cap: usize) -> Value {
    let mut value = value.clone();
    for p in policies {
        if let Some(field) = value.get_mut(&p.field) {
            let len = length(field);
            if len > cap {
                *field = shorten(field, p.keep, cap as f64 / len as f64);
            }
        }
    }
    value
}

/// A field's length as shortening counts it: characters of text, the
/// serialized length of a list's items together, else nothing.
fn length(value: &Value) -> usize {
    match value {
        Value::String(s) => s.chars().count(),
        Value::Array(items) => items.iter().map(|v| v.to_string().len()).sum(),
        _ => 0,
    }
}

/// The tokens each text or list field of `value` takes in `prompt` (of
/// `total` tokens): the prompt's count less the count with the field
/// emptied. Largest first; empty fields left out.
async fn field_tokens<A: Agent>(
    counter: &Counter<'_>,
    prompt: &Prompt,
    value: &Value,
    total: usize,
    policies: &[Policy],
) -> Result<Vec<FieldTokens>, Error> {
    let Some(fields) = value.as_object() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (name, field) in fields {
        let emptied = match field {
            Value::String(s) if !s.is_empty() => Value::String(String::new()),
            Value::Array(items) if !items.is_empty() => Value::Array(Vec::new()),
            _ => continue,
        };
        let mut without = value.clone();
        without[name.as_str()] = emptied;
        let rest = counter
            .count(&prompt.with_input::<A>(without))
            .await?
            .prompt;
        out.push(FieldTokens {
            field: name.clone(),
            tokens: total.saturating_sub(rest),
            fitted: policies.iter().any(|p| &p.field == name),
        });
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.tokens));
    Ok(out)
}

/// Whether `A`'s input has a text field `field` (what `chunked` splits).
pub(crate) fn has_text_field<A: Agent>(field: &str) -> bool {
    policy::is_text(OutputSchema::of::<A::Input>().full(), field)
}

/// Pre-flight's warning for `A`: its input has text or lists without a
/// bound and without a fitting policy, so a long input overflows its
/// context with [`Error::ContextOverflow`]. `None` when nothing can grow
/// unchecked.
pub(crate) fn overflow_risk<A: Agent>() -> Option<Problem> {
    let fields = policy::unbounded(OutputSchema::of::<A::Input>().full());
    if fields.is_empty() {
        return None;
    }
    let named: Vec<String> = fields.iter().map(|f| format!("`{f}`")).collect();
    Some(Problem::warning(
        A::NAME,
        format!(
            "its input could overflow the context of model `{}`: {} {} no bound and no fitting \
             policy; declare one (`#[schemars(extend(\"{FIT_KEYWORD}\" = \"head\"))]`), bound \
             the field (`#[schemars(length(max = ..))]`), or split long text with `chunked(..)`",
            A::MODEL,
            named.join(", "),
            if fields.len() == 1 { "has" } else { "have" },
        ),
    ))
}
