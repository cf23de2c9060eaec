//! Parsing `#[agent(key = value, ...)]` into raw key/value pairs.
//!
//! Values are kept as tokens here; [`crate::model`] interprets them per key,
//! so that one malformed value does not stop the rest from being checked.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::{Ident, Token};

use crate::errors::Errors;

/// One `key = value` pair as written.
pub struct RawPair {
    /// The key, with its span.
    pub key: Ident,
    /// The value's tokens, up to the next top-level comma.
    pub value: TokenStream,
    /// The span of the `=` sign, for a missing value.
    pub eq_span: Span,
}

/// Parses the attribute's arguments. Syntax errors are recorded in `errors`;
/// the pairs read before them are still returned.
pub fn parse_pairs(args: TokenStream, errors: &mut Errors) -> Vec<RawPair> {
    let parser = |input: ParseStream| -> syn::Result<Vec<RawPair>> {
        let mut pairs = Vec::new();
        while !input.is_empty() {
            // `crate` is a keyword, so keys are read with `parse_any`.
            let key = Ident::parse_any(input)?;
            let eq: Token![=] = input.parse().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    format!("expected `=` after `{key}`: write `{key} = value`"),
                )
            })?;
            let value = value_tokens(input);
            pairs.push(RawPair {
                key,
                value,
                eq_span: eq.span,
            });
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(pairs)
    };
    match parser.parse2(args) {
        Ok(pairs) => pairs,
        Err(e) => {
            errors.push(e);
            Vec::new()
        }
    }
}

/// Takes tokens up to the next comma that is not inside `<...>`, so that
/// `input = HashMap<String, u32>` stays one value.
fn value_tokens(input: ParseStream) -> TokenStream {
    let mut depth = 0usize;
    let mut out = TokenStream::new();
    while !input.is_empty() {
        if depth == 0 && input.peek(Token![,]) {
            break;
        }
        let Ok(tt) = input.parse::<TokenTree>() else {
            break;
        };
        if let TokenTree::Punct(p) = &tt {
            match p.as_char() {
                '<' => depth += 1,
                '>' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        out.extend(std::iter::once(tt));
    }
    out
}
