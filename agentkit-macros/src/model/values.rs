//! Reading the values of attribute keys: strings, types, numbers, and the
//! doc comment.

use proc_macro2::TokenStream;
use syn::{Expr, ExprLit, ExprUnary, Ident, ItemStruct, Lit, LitStr, Type, UnOp};

use super::Number;
use crate::errors::Errors;

pub(super) fn string(key: &str, value: TokenStream, errors: &mut Errors) -> Option<LitStr> {
    match syn::parse2::<LitStr>(value.clone()) {
        Ok(s) => Some(s),
        Err(_) => {
            // A bare word (`model = screen`) most likely lacks its quotes.
            let example = match syn::parse2::<Ident>(value.clone()) {
                Ok(word) => format!("`{key} = \"{word}\"`"),
                Err(_) => format!("`{key} = \"...\"`"),
            };
            errors.spanned(
                value,
                format!("`{key}` takes a string literal, e.g. {example}"),
            );
            None
        }
    }
}

pub(super) fn ty(key: &str, value: TokenStream, errors: &mut Errors) -> Option<Type> {
    match syn::parse2::<Type>(value.clone()) {
        Ok(t) => Some(t),
        Err(_) => {
            errors.spanned(
                value,
                format!("`{key}` takes a type, e.g. `{key} = MyStruct`"),
            );
            None
        }
    }
}

/// A literal, possibly negated, as `(negative, literal)`.
fn literal(value: &TokenStream) -> Option<(bool, Lit)> {
    match syn::parse2::<Expr>(value.clone()).ok()? {
        Expr::Lit(ExprLit { lit, .. }) => Some((false, lit)),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => match *expr {
            Expr::Lit(ExprLit { lit, .. }) => Some((true, lit)),
            _ => None,
        },
        _ => None,
    }
}

pub(super) fn float(key: &str, value: TokenStream, errors: &mut Errors) -> Option<Number<f64>> {
    let parsed = match literal(&value) {
        Some((neg, Lit::Float(f))) => f.base10_parse::<f64>().ok().map(|v| (neg, v)),
        Some((neg, Lit::Int(i))) => i.base10_parse::<f64>().ok().map(|v| (neg, v)),
        _ => None,
    };
    match parsed {
        Some((neg, v)) => Some(Number {
            value: if neg { -v } else { v },
            tokens: value,
        }),
        None => {
            errors.spanned(value, format!("`{key}` takes a number, e.g. `{key} = 0.5`"));
            None
        }
    }
}

pub(super) fn integer(key: &str, value: TokenStream, errors: &mut Errors) -> Option<Number<u64>> {
    match literal(&value) {
        Some((false, Lit::Int(i))) => match i.base10_parse::<u64>() {
            Ok(v) if v <= u64::from(u32::MAX) => Some(Number {
                value: v,
                tokens: value,
            }),
            _ => {
                errors.spanned(value, format!("`{key}` must fit in a u32"));
                None
            }
        },
        Some((true, Lit::Int(_))) => {
            errors.spanned(value, format!("`{key}` cannot be negative"));
            None
        }
        _ => {
            errors.spanned(
                value,
                format!("`{key}` takes a whole number, e.g. `{key} = 64`"),
            );
            None
        }
    }
}

pub(super) fn doc_comment(item: &ItemStruct) -> String {
    doc_lines(&item.attrs)
}

/// What the model reads of the doc comment in `attrs`: its text up to the
/// first Markdown heading (`# Notes`, `# Errors`, ...) outside a code block,
/// trimmed. The sections under headings are rustdoc's only, so notes for
/// the code's readers never reach the prompt.
pub fn doc_lines(attrs: &[syn::Attribute]) -> String {
    let text = all_doc_lines(attrs);
    let mut kept = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        let start = line.trim_start();
        // Markdown: a heading is indented by at most three spaces (four
        // make a code block), and fences open with ``` or ~~~.
        let indent = line.len() - start.len();
        if start.starts_with("```") || start.starts_with("~~~") {
            fenced = !fenced;
        } else if !fenced && indent <= 3 && is_heading(start) {
            break;
        }
        kept.push(line);
    }
    kept.join("\n").trim().to_string()
}

/// A Markdown ATX heading: one to six `#` and a space (or nothing).
fn is_heading(line: &str) -> bool {
    let hashes = line.chars().take_while(|c| *c == '#').count();
    (1..=6).contains(&hashes) && line[hashes..].chars().next().is_none_or(|c| c == ' ')
}

/// Whether `attrs` hold a doc comment whose text is all under headings, so
/// the model would read none of it (the "no instructions" errors say so).
pub fn doc_only_under_headings(attrs: &[syn::Attribute]) -> bool {
    doc_lines(attrs).is_empty() && !all_doc_lines(attrs).is_empty()
}

/// The whole doc comment in `attrs`, joined into one trimmed string.
fn all_doc_lines(attrs: &[syn::Attribute]) -> String {
    let mut lines = Vec::new();
    for attr in attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let syn::Meta::NameValue(nv) = &attr.meta {
            if let Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) = &nv.value
            {
                let text = s.value();
                lines.push(text.strip_prefix(' ').unwrap_or(&text).to_string());
            }
        }
    }
    lines.join("\n").trim().to_string()
}
