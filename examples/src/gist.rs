//! The batching benchmark's agent, shared by the speed examples
//! (`--example batching`, `--example forced`): a topic and the question in a
//! few words, so a call generates a short answer of two fields.

use agentkit::prelude::*;

use crate::forum::{Thread, Topic};

/// `Summarise`'s answer.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Gist {
    /// What the thread is mainly about.
    pub topic: Topic,
    /// the poster's question in a few words
    #[schemars(length(max = 60))]
    pub question: String,
}

/// Read the forum thread about running language models locally: say what it
/// is mainly about and sum up the poster's question in a few words.
#[agent(
    model = "smollm2-135m",
    temperature = 0.0,
    repeat_penalty = 1.1,
    max_tokens = 64,
    input = Thread,
    output = Gist,
    input_format = "labelled"
)]
pub struct Summarise;
