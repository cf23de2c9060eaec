//! Parsing `#[agent(key = value, ...)]` into raw key/value pairs.
//!
//! Values are kept as tokens here; [`crate::model`] interprets them per key,
//! so that one malformed value does not stop the rest from being checked.
//! Syntax errors are recovered from at the next comma for the same reason: a
//! missing `=` or `,` is reported once, and the other pairs are still read.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::{Ident, Token};

use crate::errors::Errors;

/// One `key = value` pair as written.
pub struct RawPair {
    /// The key, with its span.
    pub key: Ident,
    /// The value's tokens, up to the next top-level comma; `None` when the
    /// pair was malformed and its error is already recorded.
    pub value: Option<TokenStream>,
    /// The span of the `=` sign, for a missing value.
    pub eq_span: Span,
}

/// Parses the attribute's arguments. Syntax errors are recorded in `errors`;
/// every pair that could be read is still returned.
pub fn parse_pairs(args: TokenStream, errors: &mut Errors) -> Vec<RawPair> {
    let mut pairs = Vec::new();
    let parser = |input: ParseStream| -> syn::Result<()> {
        while !input.is_empty() {
            if !input.peek(Ident::peek_any) {
                let tt: TokenTree = input.parse()?;
                errors.spanned(&tt, "expected `key = value`, e.g. `model = \"screen\"`");
                skip_to_comma(input);
            } else {
                // `crate` is a keyword, so keys are read with `parse_any`.
                let key = Ident::parse_any(input)?;
                match input.parse::<Token![=]>() {
                    Ok(eq) => {
                        let value = value_tokens(input);
                        let empty = value.is_empty();
                        let this = key.to_string();
                        pairs.push(RawPair {
                            key,
                            value: Some(value),
                            eq_span: eq.span,
                        });
                        // `value_tokens` stops early at `key =`: a comma is
                        // missing. (An empty value is reported on its own.)
                        if !input.is_empty() && !input.peek(Token![,]) {
                            if !empty {
                                let next = input
                                    .fork()
                                    .call(Ident::parse_any)
                                    .map(|k| k.to_string())
                                    .unwrap_or_default();
                                errors.at(
                                    input.span(),
                                    format!("missing `,` between `{this}` and `{next}`"),
                                );
                            }
                            continue;
                        }
                    }
                    Err(e) => {
                        errors.at(
                            e.span(),
                            format!("expected `=` after `{key}`: write `{key} = value`"),
                        );
                        skip_to_comma(input);
                        pairs.push(RawPair {
                            eq_span: key.span(),
                            key,
                            value: None,
                        });
                    }
                }
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(())
    };
    if let Err(e) = parser.parse2(args) {
        errors.push(e);
    }
    pairs
}

/// Skips the rest of a malformed pair, up to (not past) the next comma.
fn skip_to_comma(input: ParseStream) {
    while !input.is_empty() && !input.peek(Token![,]) {
        if input.parse::<TokenTree>().is_err() {
            break;
        }
    }
}

/// Takes tokens up to the next comma that is not inside `<...>`, so that
/// `input = HashMap<String, u32>` stays one value. Stops also before a
/// `key =` at the top level, which means the comma before it is missing.
fn value_tokens(input: ParseStream) -> TokenStream {
    let mut depth = 0usize;
    let mut out = TokenStream::new();
    while !input.is_empty() {
        if depth == 0
            && (input.peek(Token![,])
                || (input.peek(Ident::peek_any)
                    && input.peek2(Token![=])
                    && !input.peek2(Token![==])))
        {
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
