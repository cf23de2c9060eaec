#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod fixture;
/// A copy of a real GGUF model with its chat template replaced, to run real
/// weights under a template a test chooses.
pub mod gguf_copy;
#[cfg(feature = "llama-server")]
pub mod llama_server;
mod scripted;

pub use scripted::ScriptedBackend;
