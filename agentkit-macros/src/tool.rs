//! The `#[tool]` attribute: an async function an agent can call.
//!
//! `#[tool] async fn price_of(args: PriceOf) -> Result<Price, E>` keeps the
//! function as written and adds a type of the same name (types and functions
//! live apart, so both can be called `price_of`) implementing
//! `agentkit::tools::TypedTool`, which `#[agent(tools = [price_of])]` lists.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, ItemFn, PathArguments, ReturnType, Type};

use crate::attr::parse_pairs;
use crate::errors::Errors;
use crate::model::doc_lines;

/// The whole `#[tool]` macro. Never panics; on bad input it emits the
/// function unchanged with the errors.
pub fn tool(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let func = match syn::parse2::<ItemFn>(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            errors.at(
                proc_macro2::Span::call_site(),
                "#[tool] goes on an async function, e.g. `#[tool] async fn price_of(args: PriceOf) -> Result<Price, String>`",
            );
            let compile_errors = errors.to_compile_errors();
            return quote!(#item #compile_errors);
        }
    };
    let mut timeout_ms: Option<u64> = None;
    let mut krate: Option<syn::Path> = None;
    for pair in parse_pairs(args, &mut errors) {
        let key = pair.key.to_string();
        let Some(value) = pair.value else { continue };
        match key.as_str() {
            "timeout_ms" => match syn::parse2::<syn::LitInt>(value.clone())
                .ok()
                .and_then(|i| i.base10_parse::<u64>().ok())
            {
                Some(v) if v > 0 => timeout_ms = Some(v),
                _ => errors.spanned(
                    value,
                    "`timeout_ms` takes a whole number of milliseconds above 0, e.g. `timeout_ms = 2000`",
                ),
            },
            "crate" => match syn::parse2::<syn::Path>(value.clone()) {
                Ok(p) => krate = Some(p),
                Err(_) => errors.spanned(value, "`crate` takes a path to the agentkit crate"),
            },
            _ => errors.spanned(
                &pair.key,
                format!("unknown tool attribute `{key}`; expected `timeout_ms` or `crate`"),
            ),
        }
    }
    let sig = &func.sig;
    if sig.asyncness.is_none() {
        errors.spanned(
            sig.fn_token,
            "a tool is an `async fn`: write `async fn` (it may wait on I/O; its timeout needs a future)",
        );
    }
    if !sig.generics.params.is_empty() {
        errors.spanned(
            &sig.generics,
            "a tool cannot be generic: the model calls it with one concrete argument type",
        );
    }
    let args_ty = match sig.inputs.iter().collect::<Vec<_>>().as_slice() {
        [FnArg::Typed(arg)] => Some((*arg.ty).clone()),
        _ => {
            errors.spanned(
                &sig.inputs,
                "a tool takes exactly one argument, a type deriving `Deserialize` and `JsonSchema` whose fields are the tool's arguments, e.g. `args: PriceOf`",
            );
            None
        }
    };
    let (output_ty, fallible) = match &sig.output {
        ReturnType::Type(_, ty) => match result_ok_type(ty) {
            Some(ok) => (ok, true),
            None => ((**ty).clone(), false),
        },
        ReturnType::Default => (syn::parse_quote!(()), false),
    };
    let doc = doc_lines(&func.attrs);
    if doc.is_empty() {
        errors.spanned(
            &sig.ident,
            format!(
                "tool `{}` needs a doc comment: it is what the model reads to decide when to call it{}",
                sig.ident,
                crate::validate::heading_hint(&func.attrs)
            ),
        );
    }
    let compile_errors = errors.to_compile_errors();
    let (Some(args_ty), true) = (args_ty, errors.is_empty()) else {
        return quote!(#func #compile_errors);
    };
    let krate = krate
        .map(|k| k.to_token_stream())
        .unwrap_or_else(|| quote!(::agentkit));
    let private = quote!(#krate::__private);
    let ident = &sig.ident;
    let vis = &func.vis;
    let name = ident.to_string();
    let timeout = match timeout_ms {
        Some(ms) => {
            quote!(const TIMEOUT: ::core::time::Duration = ::core::time::Duration::from_millis(#ms);)
        }
        None => TokenStream::new(),
    };
    let args_decl = quote_spanned!(args_ty.span()=> type Args = #args_ty;);
    let output_decl = quote_spanned!(output_ty.span()=> type Output = #output_ty;);
    let call = if fallible {
        quote!(#private::tool_result(#ident(args).await))
    } else {
        quote!(::core::result::Result::Ok(#ident(args).await))
    };
    let struct_doc =
        format!("The tool `{name}`, as an agent lists it in `#[agent(tools = [{name}])]`.");
    quote! {
        #func

        #[doc = #struct_doc]
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy)]
        #vis struct #ident {}

        const _: () = {
            #[automatically_derived]
            impl #private::TypedTool for #ident {
                #args_decl
                #output_decl
                const NAME: &'static str = #name;
                const DESCRIPTION: &'static str = #doc;
                #timeout
                fn call(
                    args: Self::Args,
                ) -> impl #private::Future<
                    Output = #private::Result<Self::Output, #private::String>,
                > + ::core::marker::Send {
                    async move { #call }
                }
            }
        };
    }
}

/// `T` when `ty` is written `Result<T, E>` (or `...::Result<T, E>`).
fn result_ok_type(ty: &Type) -> Option<Type> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(t) => Some(t.clone()),
        _ => None,
    }
}
