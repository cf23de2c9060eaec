#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![forbid(unsafe_code)]

#[cfg(feature = "llama-server")]
pub mod llama_server;
