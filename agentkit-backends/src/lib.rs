//! Model backends for [`agentkit`].
//!
//! - [`llama`] (feature `llama`, on by default): llama.cpp in-process, with every
//!   sampled token restricted by a grammar made from the agent's output schema.
#![warn(missing_docs)]

#[cfg(feature = "llama")]
pub mod llama;
