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
///     const MODEL: &'static str = "smollm2-135m";
///     const INSTRUCTIONS: &'static str = "Say whether the text is positive.";
/// }
///
/// impl Step<Text> for Sentiment {
///     type Output = Mood;
///     fn run(&self, runtime: &Runtime, input: Text)
///         -> impl std::future::Future<Output = Result<Mood, Error>> + Send {
///         agentkit::run_agent(self, runtime, input)
///     }
/// }
/// ```
pub trait Agent: Send + Sync {
    /// What the agent is given. Rendered into the user message.
    type Input: Serialize + JsonSchema + Send + Sync + 'static;
    /// What the agent answers. Its JSON schema constrains decoding.
    type Output: DeserializeOwned + JsonSchema + Send + 'static;
    /// The agent's name, used in errors, traces and the scripted backend.
    const NAME: &'static str;
    /// The model alias the runtime resolves, e.g. `"smollm2-135m"`.
    const MODEL: &'static str;
    /// The instructions: what this agent decides and how.
    const INSTRUCTIONS: &'static str;
    /// How tokens are sampled for this agent.
    const SAMPLING: Sampling = Sampling::DEFAULT;
    /// How many times to ask again when the output fails to parse or fails
    /// [`Agent::validate`]; each retry's prompt carries the previous answer
    /// and what was wrong with it.
    const RETRIES: u32 = 0;

    /// Checks beyond the schema (`#[agent(validate = path)]`): `Err` says what
    /// is wrong, in words the model can act on when it is asked again.
    fn validate(output: &Self::Output) -> Result<(), String> {
        let _ = output;
        Ok(())
    }
}

/// One try of an agent: what the model said and why it was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The text the model produced.
    pub raw: String,
    /// Why it was rejected.
    pub problem: String,
}
