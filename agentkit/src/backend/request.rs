//! What a backend is asked: one [`Request`], with the output schema built
//! once per output type ([`OutputSchema`]).

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use schemars::JsonSchema;
use serde_json::Value;

use super::ModelSpec;
use crate::schema::model::SchemaModel;
use crate::{Error, Prompt, Sampling};

/// The JSON schema of an agent's output type, in the two forms a backend
/// needs, built once per output type and shared (cloning is cheap).
///
/// [`full`](OutputSchema::full) is what [`output_schema`](crate::output_schema)
/// gives: the schema shown in the prompt and checked after parsing.
/// [`grammar`](OutputSchema::grammar) is what [`grammar_schema`](crate::grammar_schema)
/// makes of it: what a constraining backend compiles into its decoding
/// grammar, and what the scripted backend checks canned replies against.
/// [`model`](OutputSchema::model) is the full schema parsed once, for
/// readers that walk it.
#[derive(Debug, Clone)]
pub struct OutputSchema(Arc<Forms>);

#[derive(Debug)]
struct Forms {
    full: Value,
    grammar: Value,
    model: SchemaModel,
}

impl OutputSchema {
    /// The schema of `T`, built on the first call for `T` and shared after.
    pub fn of<T: JsonSchema + 'static>() -> OutputSchema {
        static BUILT: OnceLock<Mutex<HashMap<TypeId, OutputSchema>>> = OnceLock::new();
        let built = BUILT.get_or_init(Default::default);
        let id = TypeId::of::<T>();
        if let Some(schema) = built.lock().unwrap_or_else(|p| p.into_inner()).get(&id) {
            return schema.clone();
        }
        // Built outside the lock: schemars may take a while on large types.
        let schema = OutputSchema::from_full(crate::output_schema::<T>());
        built
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(id)
            .or_insert(schema)
            .clone()
    }

    /// The two forms of a schema written by hand (or already generated).
    pub fn from_full(full: Value) -> OutputSchema {
        let grammar = crate::grammar_schema(&full);
        let model = SchemaModel::parse(&full);
        OutputSchema(Arc::new(Forms {
            full,
            grammar,
            model,
        }))
    }

    /// The full schema: what the prompt shows and the parser checks.
    pub fn full(&self) -> &Value {
        &self.0.full
    }

    /// The part a decoding grammar enforces (see [`grammar_schema`](crate::grammar_schema)).
    pub fn grammar(&self) -> &Value {
        &self.0.grammar
    }

    /// The full schema parsed into its typed model, once: what the prompt
    /// picture, scored choices and partial values read. The model keeps
    /// `uniqueItems`, which a reader of the grammar form passes over.
    pub fn model(&self) -> &SchemaModel {
        &self.0.model
    }
}

impl PartialEq<Value> for OutputSchema {
    fn eq(&self, other: &Value) -> bool {
        self.full() == other
    }
}

/// One generation request, everything a backend needs to answer it.
///
/// Built with [`Request::new`] or, for an agent and an input, with
/// [`Request::for_agent`]; `#[non_exhaustive]` so it can grow.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Request {
    /// The agent being run, for errors and traces.
    pub agent: &'static str,
    /// The model to run it on.
    pub model: ModelSpec,
    /// The chat messages to send.
    pub prompt: Prompt,
    /// The agent's input as JSON (`null` where there is none, as in
    /// pre-flight, which checks everything but the input).
    pub input: Value,
    /// The output type's schema; a constraining backend compiles
    /// [`OutputSchema::grammar`] into its decoding grammar.
    pub schema: OutputSchema,
    /// Sampling settings from the agent.
    pub sampling: Sampling,
    /// The shape of the think block where the agent thinks in a declared
    /// type ([`Agent::thought`](crate::Agent::thought)); `None`: free text.
    /// Only read when [`Sampling::reasoning`] is set.
    pub thought: Option<OutputSchema>,
}

impl Request {
    /// A request for `agent` to run `prompt` on `model`, its output
    /// constrained by `schema`, its tokens picked by `sampling`; no input
    /// attached (see [`Request::with_input`]).
    pub fn new(
        agent: &'static str,
        model: ModelSpec,
        prompt: Prompt,
        schema: OutputSchema,
        sampling: Sampling,
    ) -> Self {
        Request {
            agent,
            model,
            prompt,
            input: Value::Null,
            schema,
            sampling,
            thought: None,
        }
    }

    /// With the think block shaped by `thought` (see [`Request::thought`]).
    pub fn with_thought(mut self, thought: Option<OutputSchema>) -> Self {
        self.thought = thought;
        self
    }

    /// With the agent's input, as JSON, attached.
    pub fn with_input(mut self, input: Value) -> Self {
        self.input = input;
        self
    }

    /// The request the agent `A` sends for `input` on `runtime`: its model
    /// resolved, its prompt rendered, its output schema and its sampling.
    pub fn for_agent<A: crate::Agent>(
        runtime: &crate::Runtime,
        input: &A::Input,
    ) -> Result<Self, Error> {
        Ok(Request::new(
            A::NAME,
            runtime.resolve(A::NAME, A::MODEL)?,
            Prompt::render::<A>(input)?,
            OutputSchema::of::<A::Output>(),
            A::SAMPLING,
        )
        .with_thought(A::thought())
        .with_input(input_json::<A>(input)?))
    }
}

/// One decision for scored choices: after the text so far plus `lead`, which
/// of `options` does the model find likeliest?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// Text appended before the options (e.g. `{"relevant":`).
    pub lead: String,
    /// The allowed continuations (e.g. `true`, `false`).
    pub options: Vec<String>,
}

/// `input` as JSON, for [`Request::input`].
pub(crate) fn input_json<A: crate::Agent>(input: &A::Input) -> Result<Value, Error> {
    serde_json::to_value(input).map_err(|source| Error::Input {
        agent: A::NAME.to_string(),
        source,
    })
}
