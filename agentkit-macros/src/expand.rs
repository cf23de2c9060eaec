//! Writing the `Agent` and `Step` impls.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Item, Type};

use crate::attr::parse_pairs;
use crate::errors::Errors;
use crate::model::AgentModel;
use crate::validate;

/// The whole macro: parse, model, validate, expand. Never panics; on bad input
/// it emits the struct, the errors, and a fallback impl so that the user sees
/// their mistakes and not a cascade of follow-on errors.
pub fn agent(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let item = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Struct(s)) => s,
        Ok(other) => {
            let (keyword, kind) = item_keyword(&other);
            errors.spanned(
                keyword,
                format!("#[agent] goes on a struct, not on {kind}: declare the agent as a struct, e.g. `struct Score;`"),
            );
            let compile_errors = errors.to_compile_errors();
            return quote! { #other #compile_errors };
        }
        Err(e) => return e.to_compile_error(),
    };
    let pairs = parse_pairs(args, &mut errors);
    let model = AgentModel::from_pairs(item, pairs, &mut errors);
    validate::check(&model, &mut errors);
    let impls = impls(&model, errors.is_empty());
    let item = &model.item;
    let compile_errors = errors.to_compile_errors();
    quote! {
        #item
        #compile_errors
        #impls
    }
}

/// The tokens that say what kind of item this is, and that kind in words.
fn item_keyword(item: &Item) -> (TokenStream, &'static str) {
    match item {
        Item::Enum(e) => (e.enum_token.to_token_stream(), "an enum"),
        Item::Union(u) => (u.union_token.to_token_stream(), "a union"),
        Item::Fn(f) => (f.sig.fn_token.to_token_stream(), "a function"),
        Item::Trait(t) => (t.trait_token.to_token_stream(), "a trait"),
        Item::Impl(i) => (i.impl_token.to_token_stream(), "an impl block"),
        Item::Type(t) => (t.type_token.to_token_stream(), "a type alias"),
        other => (other.to_token_stream(), "this item"),
    }
}

/// The impls; with `valid == false` a fallback that keeps whatever types were
/// given (so their own errors still show) and nothing else.
fn impls(m: &AgentModel, valid: bool) -> TokenStream {
    let krate = m
        .krate
        .as_ref()
        .map(ToTokens::to_token_stream)
        .unwrap_or_else(|| quote!(::agentkit));
    let private = quote!(#krate::__private);
    let ident = &m.item.ident;
    let (impl_generics, ty_generics, where_clause) = m.item.generics.split_for_impl();
    let unit: Type = syn::parse_quote!(());
    let input = m.input.as_ref().unwrap_or(&unit);
    let output = m.output.as_ref().unwrap_or(&unit);
    // Spanned at the user's types, so an unsatisfied `Serialize` or
    // `JsonSchema` bound is reported where the type was named.
    let input_decl = quote_spanned!(input.span()=> type Input = #input;);
    let output_decl = quote_spanned!(output.span()=> type Output = #output;);
    let name = ident.to_string();
    let model_alias = m.model.as_ref().map(|s| s.value()).unwrap_or_default();
    let instructions = m
        .prompt
        .as_ref()
        .map_or_else(|| m.doc.clone(), |p| p.value());
    let sampling = if valid {
        let mut fields = Vec::new();
        if let Some(t) = &m.temperature {
            let v = t.value as f32;
            fields.push(quote!(.with_temperature(#v)));
        }
        if let Some(p) = &m.top_p {
            let v = p.value as f32;
            fields.push(quote!(.with_top_p(#v)));
        }
        if let Some(k) = &m.top_k {
            let v = k.value as u32;
            fields.push(quote!(.with_top_k(#v)));
        }
        if let Some(n) = &m.max_tokens {
            let v = n.value as u32;
            fields.push(quote!(.with_max_tokens(#v)));
        }
        if let Some(s) = &m.seed {
            let v = s.value as u32;
            fields.push(quote!(.with_seed(#v)));
        }
        if let Some(p) = &m.min_p {
            let v = p.value as f32;
            fields.push(quote!(.with_min_p(#v)));
        }
        let mut repetition = Vec::new();
        if let Some(w) = &m.repeat_window {
            let v = w.value as u32;
            repetition.push(quote!(.with_window(#v)));
        }
        if let Some(p) = &m.repeat_penalty {
            let v = p.value as f32;
            repetition.push(quote!(.with_repeat_penalty(#v)));
        }
        if let Some(p) = &m.frequency_penalty {
            let v = p.value as f32;
            repetition.push(quote!(.with_frequency_penalty(#v)));
        }
        if let Some(p) = &m.presence_penalty {
            let v = p.value as f32;
            repetition.push(quote!(.with_presence_penalty(#v)));
        }
        if !repetition.is_empty() {
            fields.push(quote!(.with_repetition(#private::Repetition::DEFAULT #(#repetition)*)));
        }
        if let Some(p) = &m.dry_multiplier {
            let v = p.value as f32;
            let mut dry = vec![quote!(.with_multiplier(#v))];
            if let Some(b) = &m.dry_base {
                let v = b.value as f32;
                dry.push(quote!(.with_base(#v)));
            }
            if let Some(n) = &m.dry_allowed_length {
                let v = n.value as u32;
                dry.push(quote!(.with_allowed_length(#v)));
            }
            fields.push(quote!(.with_dry(#private::Dry::DEFAULT #(#dry)*)));
        }
        // A think type without a budget thinks within the default one.
        let budget = match (&m.think_budget, &m.think) {
            (Some(n), _) => Some(n.value as u32),
            (None, Some(_)) => Some(DEFAULT_THINK_BUDGET),
            (None, None) => None,
        };
        if let Some(v) = budget {
            fields.push(quote!(.with_reasoning(#private::Reasoning::budget(#v))));
        }
        if let Some(b) = &m.close_at_budget {
            let v = b.value;
            fields.push(quote!(.with_close_at_budget(#v)));
        }
        quote!(#private::Sampling::DEFAULT #(#fields)*)
    } else {
        quote!(#private::Sampling::DEFAULT)
    };
    let extra = if valid {
        agent_extras(m, &private)
    } else {
        TokenStream::new()
    };
    // Makes cargo rebuild this crate when the model manifest changes, so the
    // alias check never goes stale.
    let track_manifest =
        match crate::validate::manifest_path().and_then(|p| p.to_str().map(str::to_owned)) {
            Some(path) => quote!(
                const _: &str = ::core::include_str!(#path);
            ),
            None => TokenStream::new(),
        };
    // The whole `Step` impl is spanned at the input type, so that when a chain
    // feeds this agent the wrong type, rustc's "but `Step<Thread>` is
    // implemented for it" points at `input = Thread` rather than at the
    // whole attribute.
    let step_ident = syn::Ident::new(&name, input.span());
    let step_impl = quote_spanned! {input.span()=>
        #[automatically_derived]
        impl #impl_generics #private::Step<#input> for #step_ident #ty_generics #where_clause {
            fn check(
                &self,
                runtime: &#private::Runtime,
            ) -> impl #private::Future<
                Output = #private::Vec<#private::Problem>,
            > + ::core::marker::Send {
                #private::check_agent(self, runtime)
            }

            fn run(
                &self,
                runtime: &#private::Runtime,
                input: #input,
            ) -> impl #private::Future<
                Output = #private::Result<#output, #private::Error>,
            > + ::core::marker::Send {
                #private::run_agent(self, runtime, input)
            }
        }
    };
    quote! {
        #track_manifest
        const _: () = {
            #[automatically_derived]
            impl #impl_generics #private::Agent for #ident #ty_generics #where_clause {
                #input_decl
                #output_decl
                const NAME: &'static str = #name;
                const MODEL: &'static str = #model_alias;
                const INSTRUCTIONS: &'static str = #instructions;
                const SAMPLING: #private::Sampling = #sampling;
                #extra
            }

            #[automatically_derived]
            impl #impl_generics #private::Yields for #ident #ty_generics #where_clause {
                type Output = #output;
            }

            #step_impl
        };
    }
}

/// The optional parts of the `Agent` impl: retries, voting, input format,
/// few-shot examples and the output check.
/// The think budget of an agent that names a `think` type and no
/// `think_budget`: room for a few short bounded fields.
const DEFAULT_THINK_BUDGET: u32 = 256;

fn agent_extras(m: &AgentModel, private: &TokenStream) -> TokenStream {
    let mut out = TokenStream::new();
    if let Some(t) = &m.think {
        // Spanned at the type, so a type without a schema is reported there.
        let schema = quote_spanned!(t.span()=> #private::OutputSchema::of::<#t>());
        out.extend(quote! {
            fn thought() -> ::core::option::Option<#private::OutputSchema> {
                ::core::option::Option::Some(#schema)
            }
        });
    }
    if let Some(n) = &m.retries {
        let v = n.value as u32;
        out.extend(quote!(const RETRIES: u32 = #v;));
    }
    if let Some(n) = &m.samples {
        let v = n.value as u32;
        out.extend(quote!(const SAMPLES: u32 = #v;));
    }
    if let Some(f) = &m.input_format {
        let variant = if f.value() == "labelled" {
            quote!(Labelled)
        } else {
            quote!(Json)
        };
        out.extend(
            quote!(const INPUT_FORMAT: #private::InputFormat = #private::InputFormat::#variant;),
        );
    }
    match &m.examples {
        Some(crate::model::Examples::File(file)) => {
            let text = quote_spanned!(file.span()=> ::core::include_str!(::core::concat!(::core::env!("CARGO_MANIFEST_DIR"), "/", #file)));
            out.extend(quote! {
                fn examples() -> #private::Result<#private::Vec<#private::Shot>, #private::Error> {
                    #private::shots_from_jsonl::<Self>(#text, #file)
                }
            });
        }
        Some(crate::model::Examples::Function(f)) => {
            // Spanned at the function, so a wrong return type is reported there.
            let call = quote_spanned!(f.span()=> #private::shots::<Self>(#f()));
            out.extend(quote! {
                fn examples() -> #private::Result<#private::Vec<#private::Shot>, #private::Error> {
                    #call
                }
            });
        }
        None => {}
    }
    if m.tools.any() {
        out.extend(tool_use(m, private));
    }
    if let Some(v) = &m.validate {
        let input = m.input.as_ref();
        let output = m.output.as_ref();
        // `validate_with` accepts `fn(&Output)` and `fn(&Input, &Output)`
        // alike; spanned at the path, so a function of another shape is
        // reported where it was named.
        let call =
            quote_spanned!(v.span()=> #private::validate_with::<Self, _, _>(#v, input, output));
        out.extend(quote! {
            fn validate(
                input: &#input,
                output: &#output,
            ) -> #private::Result<(), #private::String> {
                #call
            }
        });
    }
    out
}

/// `Agent::tool_use` for an agent with tools: each `#[tool]` function's
/// typed tool, spanned at its name (so a function that is not a tool is
/// reported there), the sources by name, and the loop's bounds.
fn tool_use(m: &AgentModel, private: &TokenStream) -> TokenStream {
    let tools = m
        .tools
        .tools
        .iter()
        .map(|path| quote_spanned!(path.span()=> #private::shared_tool::<#path>()));
    let sources = &m.tools.sources;
    let mut bounds = TokenStream::new();
    if let Some(n) = &m.tools.max_turns {
        let v = n.value as u32;
        bounds.extend(quote!(uses.max_turns = #v;));
    }
    if let Some(n) = &m.tools.parallel {
        let v = n.value as u32;
        bounds.extend(quote!(uses.parallel = #v;));
    }
    if let Some(b) = &m.tools.require_call {
        let v = b.value;
        bounds.extend(quote!(uses.require_call = #v;));
    }
    quote! {
        fn tool_use() -> #private::ToolUse {
            let mut uses = #private::ToolUse::none();
            uses.tools = #private::vec![#(#tools),*];
            uses.sources = #private::vec![#(#sources),*];
            #bounds
            uses
        }
    }
}
