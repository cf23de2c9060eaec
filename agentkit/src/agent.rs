//! The `Agent` trait: one small, single-purpose step backed by a model.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::Sampling;

/// A single-purpose step of a pipeline: typed input in, typed output out,
/// one model, one tight prompt.
///
/// Usually written with `#[agent(...)]`, which implements this trait and
/// [`Step`](crate::Step) from the struct's doc comment and the attribute.
/// Writing both impls by hand is equally supported:
///
/// ```
/// use agentkit::prelude::*;
///
/// #[derive(Serialize, JsonSchema)]
/// struct Text { text: String }
/// #[derive(Deserialize, JsonSchema)]
/// struct Mood { positive: bool }
///
/// struct Sentiment;
///
/// impl Agent for Sentiment {
///     type Input = Text;
///     type Output = Mood;
///     const NAME: &'static str = "Sentiment";
///     const MODEL: &'static str = "screen";
///     const INSTRUCTIONS: &'static str = "Say whether the text is positive.";
/// }
///
/// impl Yields for Sentiment {
///     type Output = Mood;
/// }
///
/// impl Step<Text> for Sentiment {
///     fn run(&self, runtime: &Runtime, input: Text)
///         -> impl std::future::Future<Output = Result<Mood, Error>> + Send {
///         runtime.run_agent(self, input)
///     }
/// }
/// ```
pub trait Agent: Send + Sync + 'static {
    /// What the agent is given. Rendered into the user message.
    type Input: Serialize + JsonSchema + Send + Sync + 'static;
    /// What the agent answers. Its JSON schema constrains decoding.
    type Output: DeserializeOwned + JsonSchema + Send + 'static;
    /// The agent's name, used in errors, traces and the scripted backend.
    const NAME: &'static str;
    /// The model alias the runtime resolves, e.g. `"screen"`.
    const MODEL: &'static str;
    /// The instructions: what this agent decides and how.
    const INSTRUCTIONS: &'static str;
    /// How tokens are sampled for this agent.
    const SAMPLING: Sampling = Sampling::DEFAULT;
    /// How many times to ask again when the output fails to parse or fails
    /// [`Agent::validate`]; each retry's prompt carries the previous answer
    /// and what was wrong with it.
    const RETRIES: u32 = 0;
    /// How many constrained samples to draw (each with its own seed); the
    /// answer given most often wins. `1` means a single sample.
    const SAMPLES: u32 = 1;
    /// How the input is written into the user message.
    const INPUT_FORMAT: InputFormat = InputFormat::Json;

    /// Worked examples shown to the model before the real input, as earlier
    /// chat turns (`#[agent(examples = ...)]`). Few-shot examples are the
    /// strongest lever on a small model's accuracy; measure them with
    /// [`eval`](crate::eval).
    fn examples() -> Result<Vec<Shot>, crate::Error> {
        Ok(Vec::new())
    }

    /// Checks beyond the schema (`#[agent(validate = path)]`), with the input
    /// at hand for rules that relate the two ("the quote must appear in the
    /// thread"): `Err` says what is wrong, in words the model can act on when
    /// it is asked again.
    fn validate(input: &Self::Input, output: &Self::Output) -> Result<(), String> {
        let _ = (input, output);
        Ok(())
    }

    /// The shape of the agent's think block, where it thinks in a declared
    /// type (`#[agent(think = Plan)]`): the block is then JSON of that type,
    /// decoded under its grammar, before the answer. `None` (the default):
    /// free text, where the agent thinks at all
    /// ([`Sampling::reasoning`](crate::Sampling::reasoning)).
    fn thought() -> Option<crate::backend::OutputSchema> {
        None
    }

    /// The tools the agent may call before it answers
    /// (`#[agent(tools = [..], tool_sources = [..], max_turns = N, parallel = N)]`;
    /// see [`tools`](crate::tools)). The default: none, one turn.
    fn tool_use() -> crate::tools::ToolUse {
        crate::tools::ToolUse::none()
    }
}

/// A function `#[agent(validate = path)]` accepts: one that checks the
/// output alone, `fn(&Output) -> Result<(), String>`, or one that checks it
/// against the input, `fn(&Input, &Output) -> Result<(), String>`.
///
/// `Marker` tells the two apart (it is [`OutputOnly`] or [`InputAndOutput`]),
/// so the compiler picks the right one from the function's signature and the
/// attribute needs no second key. Not a public API: the generated code calls
/// it through [`validate_with`].
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "the `validate` function of an agent with input `{I}` and output `{O}` must be `fn(&{O}) -> Result<(), String>` or `fn(&{I}, &{O}) -> Result<(), String>`",
    label = "this function has another signature",
    note = "`Err` says what is wrong with the output, in words the model can act on when it is asked again"
)]
pub trait Validate<I, O, Marker> {
    /// Checks `output`, given `input`.
    fn check(&self, input: &I, output: &O) -> Result<(), String>;
}

/// [`Validate`]'s marker for `fn(&Output) -> Result<(), String>`.
#[doc(hidden)]
#[derive(Debug)]
pub enum OutputOnly {}

/// [`Validate`]'s marker for `fn(&Input, &Output) -> Result<(), String>`.
#[doc(hidden)]
#[derive(Debug)]
pub enum InputAndOutput {}

impl<F, I, O> Validate<I, O, OutputOnly> for F
where
    F: Fn(&O) -> Result<(), String>,
{
    fn check(&self, _input: &I, output: &O) -> Result<(), String> {
        self(output)
    }
}

impl<F, I, O> Validate<I, O, InputAndOutput> for F
where
    F: Fn(&I, &O) -> Result<(), String>,
{
    fn check(&self, input: &I, output: &O) -> Result<(), String> {
        self(input, output)
    }
}

/// Runs the `validate` function `f` of agent `A`, whichever of the two
/// signatures it has. What the `Agent::validate` that `#[agent]` generates
/// calls.
#[doc(hidden)]
pub fn validate_with<A, F, Marker>(f: F, input: &A::Input, output: &A::Output) -> Result<(), String>
where
    A: Agent,
    F: Validate<A::Input, A::Output, Marker>,
{
    f.check(input, output)
}

/// One try of an agent: what the model said and why it was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The text the model produced.
    pub raw: String,
    /// Why it was rejected.
    pub problem: String,
}

/// How an agent's input is written into its prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// Pretty-printed JSON.
    Json,
    /// One `Label: value` line per field (nested fields indented, lists as
    /// `- item` lines): closer to the prose small models were trained on.
    Labelled,
}

/// One worked example for few-shot prompting: an input and the output the
/// agent should give for it, as JSON.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Shot {
    /// The example input.
    pub input: serde_json::Value,
    /// The output the agent should give for it.
    pub output: serde_json::Value,
}

/// Typed few-shot examples: checked against the agent's types at compile
/// time. What `#[agent(examples = some_fn)]` calls with `some_fn()`.
pub fn shots<A>(pairs: Vec<(A::Input, A::Output)>) -> Result<Vec<Shot>, crate::Error>
where
    A: Agent,
    A::Output: Serialize,
{
    pairs
        .iter()
        .map(|(i, o)| {
            let input = serde_json::to_value(i);
            let output = serde_json::to_value(o);
            match (input, output) {
                (Ok(input), Ok(output)) => Ok(Shot { input, output }),
                (Err(source), _) | (_, Err(source)) => Err(crate::Error::Input {
                    agent: A::NAME.to_string(),
                    source,
                }),
            }
        })
        .collect()
}

/// Few-shot examples from JSON lines (`{"input": ..., "output": ...}` per
/// line); each output must parse into the agent's output type. What
/// `#[agent(examples = "file.jsonl")]` calls with the file's text.
pub fn shots_from_jsonl<A: Agent>(text: &str, file: &str) -> Result<Vec<Shot>, crate::Error> {
    #[derive(serde::Deserialize)]
    struct Line {
        input: serde_json::Value,
        output: serde_json::Value,
    }
    let bad = |line: usize, reason: String| crate::Error::Dataset {
        path: file.into(),
        line,
        reason: format!("{reason}; each line must be {{\"input\": ..., \"output\": ...}}"),
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let line: Line = serde_json::from_str(l).map_err(|e| bad(i + 1, e.to_string()))?;
            serde_json::from_value::<A::Output>(line.output.clone()).map_err(|e| {
                bad(
                    i + 1,
                    format!(
                        "the output does not fit `{}`: {e}",
                        std::any::type_name::<A::Output>()
                    ),
                )
            })?;
            Ok(Shot {
                input: line.input,
                output: line.output,
            })
        })
        .collect()
}
