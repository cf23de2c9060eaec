#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod fixture;
#[cfg(feature = "llama-server")]
pub mod llama_server;
mod scripted;

pub use scripted::ScriptedBackend;
