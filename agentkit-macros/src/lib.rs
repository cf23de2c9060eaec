//! The `#[agent]` attribute macro. Use it through the `agentkit` crate, which
//! re-exports it and documents it in full.
//!
//! The macro runs in four stages, each in its own module: `attr` parses the
//! attribute's `key = value` pairs, `model` turns them and the struct into a
//! typed description of the agent, `validate` checks it (collecting every
//! problem), and `expand` writes the `Agent` and `Step` impls.

#![forbid(unsafe_code)]

mod attr;
mod errors;
mod expand;
mod model;
mod tool;
mod validate;

use proc_macro::TokenStream;

/// Declares a struct to be an agent: a typed, single-purpose model call.
///
/// See the `agentkit` crate for the keys and an example.
#[proc_macro_attribute]
pub fn agent(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::agent(args.into(), item.into()).into()
}

/// Makes an async function a tool that agents can call.
///
/// See the `agentkit` crate for the keys and an example.
#[proc_macro_attribute]
pub fn tool(args: TokenStream, item: TokenStream) -> TokenStream {
    tool::tool(args.into(), item.into()).into()
}
