//! Model backends for [`agentkit`].
//!
//! - [`llama`] (feature `llama`, on by default): llama.cpp in-process, with every
//!   sampled token restricted by a grammar made from the agent's output schema.
#![warn(missing_docs)]
// The compiler proves every borrow here; what llama.cpp needs unsafe for stays
// inside llama-cpp-2 (and `self_cell` for a context that owns its model).
#![forbid(unsafe_code)]

#[cfg(feature = "llama")]
pub mod llama;
