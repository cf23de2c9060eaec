//! Prompt rendering: instructions, a compact picture of the output schema, and the input.

pub(crate) mod describe;
mod input;
mod tuple;

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::{Agent, Error, Shot};

pub use describe::describe_schema;
pub use input::render_input;
use tuple::name_tuple_parts;

/// Who speaks a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions for the model.
    System,
    /// The input.
    User,
    /// The model's answer (used for examples).
    Assistant,
    /// The result of a tool the model called (see [`tools`](crate::tools)).
    Tool,
}

impl Role {
    /// The role's name as chat templates spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    /// Who speaks.
    pub role: Role,
    /// What is said.
    pub content: String,
}

/// The chat messages for one agent call, before the model's chat template is applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Prompt {
    /// The messages in order: system first, then the user's input.
    pub messages: Vec<Message>,
}

impl Prompt {
    /// Renders the prompt for `agent` given `input`.
    ///
    /// The system message holds the agent's instructions and a compact
    /// description of the output's shape with the doc comments of its fields;
    /// the user message holds the input as JSON (or labelled lines, as
    /// [`Agent::INPUT_FORMAT`] says).
    ///
    /// A tuple input, such as the `(Thread, Verdict)` that
    /// [`with_input`](crate::with_input) yields, is written as an object keyed
    /// by its parts' type names in snake case (`{"thread": ..., "verdict":
    /// ...}`), nested tuples flattened, rather than as a JSON array a small
    /// model has to count through. Parts without a name of their own
    /// (`String`, `u8`, `Vec<T>`) or with the same name are keyed by position
    /// instead: `"1"`, `"2"`, ...
    pub fn render<A: Agent>(input: &A::Input) -> Result<Prompt, Error> {
        Prompt::render_with::<A>(input, &A::examples()?)
    }

    /// Renders the prompt for `agent` given `input`, with `shots` as the
    /// few-shot examples in place of the agent's own (what a tuned scored
    /// agent uses; see [`tune`](crate::tune)).
    pub fn render_with<A: Agent>(input: &A::Input, shots: &[Shot]) -> Result<Prompt, Error> {
        let value = serde_json::to_value(input).map_err(|source| Error::Input {
            agent: A::NAME.to_string(),
            source,
        })?;
        let mut prompt = Prompt::with_shots::<A>(shots);
        prompt.messages.push(Message {
            role: Role::User,
            content: render_input(&input_value::<A>(value), A::INPUT_FORMAT),
        });
        Ok(prompt)
    }

    /// This prompt with its input (the last message) rendered from `value`
    /// instead: what fitting an input to the context renders.
    pub(crate) fn with_input<A: Agent>(&self, value: Value) -> Prompt {
        let mut prompt = self.clone();
        if let Some(last) = prompt.messages.last_mut() {
            last.content = render_input(&input_value::<A>(value), A::INPUT_FORMAT);
        }
        prompt
    }

    /// Everything before the input: the system message and the few-shot
    /// examples as earlier turns. Pre-flight checks measure it against the
    /// context, and fail on examples that do not load.
    pub(crate) fn preamble<A: Agent>() -> Result<Prompt, Error> {
        Ok(Prompt::with_shots::<A>(&A::examples()?))
    }

    /// The system message, then `shots` as earlier turns.
    fn with_shots<A: Agent>(shots: &[Shot]) -> Prompt {
        let mut prompt = Prompt::system_only::<A>();
        for shot in shots.iter().cloned() {
            prompt.messages.push(Message {
                role: Role::User,
                content: render_input(&input_value::<A>(shot.input), A::INPUT_FORMAT),
            });
            prompt.messages.push(Message {
                role: Role::Assistant,
                content: shot.output.to_string(),
            });
        }
        prompt
    }

    /// The system message of `agent`'s prompt alone: its instructions and
    /// the shape of its output, without few-shot examples or input.
    pub fn system_only<A: Agent>() -> Prompt {
        // The picture is drawn from the model parsed once per output type.
        let schema = crate::backend::OutputSchema::of::<A::Output>();
        let mut content = system_message(A::INSTRUCTIONS, &describe::describe(schema.model()));
        if let Some(reasoning) = &A::SAMPLING.reasoning {
            let thought = A::thought().map(|t| describe::describe(t.model()));
            content.push_str(&think_message(reasoning, thought.as_deref()));
        }
        Prompt {
            messages: vec![Message {
                role: Role::System,
                content,
            }],
        }
    }

    /// The content of the first message with `role`, if any.
    pub fn message(&self, role: Role) -> Option<&str> {
        self.messages
            .iter()
            .find(|m| m.role == role)
            .map(|m| m.content.as_str())
    }
}

impl fmt::Display for Prompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, m) in self.messages.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            writeln!(f, "[{}]", m.role.as_str())?;
            writeln!(f, "{}", m.content)?;
        }
        Ok(())
    }
}

/// `A`'s input as the prompt shows it: a tuple's parts keyed by name (see
/// [`Prompt::render`]), anything else as it serialized.
fn input_value<A: Agent>(value: Value) -> Value {
    // Only an array can be a tuple: the schema is not built for anything else.
    if !value.is_array() {
        return value;
    }
    let schema = crate::schema::output_schema::<A::Input>();
    name_tuple_parts(&schema, value)
}

/// What a thinking agent is told about its think block: where it goes, and
/// for a shaped one (`picture`, the think type's), its shape.
fn think_message(reasoning: &crate::Reasoning, picture: Option<&str>) -> String {
    let (open, close) = (reasoning.open, reasoning.close);
    match picture {
        None => format!(
            "\n\nBefore the answer, think it over briefly inside {open} ... {close}."
        ),
        Some(picture) => format!(
            "\n\nBefore the answer, think inside {open} ... {close}, as one JSON value of this shape:\n{picture}"
        ),
    }
}

fn system_message(instructions: &str, picture: &str) -> String {
    let mut out = String::new();
    out.push_str(instructions.trim());
    out.push_str("\n\nAnswer with one JSON value of this shape:\n");
    out.push_str(picture);
    out
}
