//! The tool keys of `#[agent]`: `tools = [..]`, `tool_sources = [..]`,
//! `max_turns` and `parallel`.

use proc_macro2::TokenStream;
use syn::punctuated::Punctuated;
use syn::{LitStr, Path, Token};

use super::values::integer;
use super::Number;
use crate::errors::Errors;

/// The keys this module reads.
pub const KEYS: &[&str] = &[
    "tools",
    "tool_sources",
    "max_turns",
    "parallel",
    "require_call",
];

/// What the attribute said about tools.
#[derive(Default)]
pub struct ToolKeys {
    /// The `#[tool]` functions the agent may call.
    pub tools: Vec<Path>,
    /// The names of tool sources registered on the runtime.
    pub sources: Vec<LitStr>,
    /// Model turns before the loop gives up.
    pub max_turns: Option<Number<u64>>,
    /// Calls one turn may make at once.
    pub parallel: Option<Number<u64>>,
    /// Whether the first turn must call a tool.
    pub require_call: Option<syn::LitBool>,
}

impl ToolKeys {
    /// Reads `key = value`, one of [`KEYS`], recording what is wrong.
    pub fn take(&mut self, key: &str, value: TokenStream, errors: &mut Errors) {
        match key {
            "tools" => match bracketed::<Path>(value.clone()) {
                Some(list) if !list.is_empty() => self.tools = list,
                _ => errors.spanned(
                    value,
                    "`tools` takes a list of functions marked `#[tool]`, e.g. `tools = [price_of, add]`",
                ),
            },
            "tool_sources" => match bracketed::<LitStr>(value.clone()) {
                Some(list) if !list.is_empty() => self.sources = list,
                _ => errors.spanned(
                    value,
                    "`tool_sources` takes a list of names registered with `Runtime::builder().tool_source(..)`, e.g. `tool_sources = [\"files\"]`",
                ),
            },
            "require_call" => match syn::parse2::<syn::LitBool>(value.clone()) {
                Ok(b) => self.require_call = Some(b),
                Err(_) => errors.spanned(
                    value,
                    "`require_call` takes `true` or `false`, e.g. `require_call = true`",
                ),
            },
            "max_turns" | "parallel" => {
                let Some(n) = integer(key, value, errors) else {
                    return;
                };
                if n.value == 0 {
                    let why = if key == "max_turns" {
                        "`max_turns` must be at least 1 (the turn that answers counts)"
                    } else {
                        "`parallel` must be at least 1 (1: one call a turn)"
                    };
                    errors.spanned(&n.tokens, why);
                    return;
                }
                if key == "max_turns" {
                    self.max_turns = Some(n);
                } else {
                    self.parallel = Some(n);
                }
            }
            _ => {}
        }
    }

    /// Whether the agent uses tools at all.
    pub fn any(&self) -> bool {
        !self.tools.is_empty() || !self.sources.is_empty()
    }
}

/// `[a, b, c]` as a list of `T`, or `None` when it is not one.
fn bracketed<T: syn::parse::Parse>(value: TokenStream) -> Option<Vec<T>> {
    let array = syn::parse2::<syn::ExprArray>(value).ok()?;
    let inner: TokenStream = array
        .elems
        .iter()
        .map(quote::ToTokens::to_token_stream)
        .fold(TokenStream::new(), |mut acc, e| {
            if !acc.is_empty() {
                acc.extend(quote::quote!(,));
            }
            acc.extend(e);
            acc
        });
    let parser = Punctuated::<T, Token![,]>::parse_terminated;
    syn::parse::Parser::parse2(parser, inner)
        .ok()
        .map(|p| p.into_iter().collect())
}
