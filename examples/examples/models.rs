//! The report on every model a manifest names, before any call: what each
//! GGUF is (architecture, parameters, quantization, contexts, vocabulary),
//! which chat template renders its prompts and why, its special tokens, its
//! load time and memory, and warnings for what is known to go wrong.
//!
//! ```text
//! cargo run -p agentkit-examples --example models                  # examples/agentkit.toml
//! cargo run -p agentkit-examples --example models -- --manifest examples/agentkit.mixed.toml
//! cargo run -p agentkit-examples --example models -- --model /models/some.gguf
//! ```

use std::path::PathBuf;

use agentkit::prelude::*;
use clap::Parser;

/// Print the report on each model of a manifest (or of the given files).
#[derive(Parser)]
struct Args {
    /// The manifest whose aliases to report on (default: examples/agentkit.toml,
    /// or $AGENTKIT_MANIFEST).
    #[arg(long, value_name = "FILE.toml", conflicts_with = "model")]
    manifest: Option<PathBuf>,

    /// Report on these GGUF files instead (each under its file name).
    #[arg(long, value_name = "FILE.gguf")]
    model: Vec<PathBuf>,

    /// Also render an agent's prompt (instructions, a few-shot turn, the
    /// input) through each model's Jinja template and through llama.cpp's
    /// built-in list, and say whether the two agree.
    #[arg(long)]
    templates: bool,
}

#[tokio::main]
async fn main() {
    if let Err(e) = run(Args::parse()).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let llama = agentkit_examples::llama()?;
    let backend = llama.clone();
    let runtime = if args.model.is_empty() {
        let manifest = args
            .manifest
            .unwrap_or_else(agentkit_examples::forum::manifest_path);
        eprintln!("models of {}", manifest.display());
        agentkit_examples::forum::runtime_from(llama, &manifest)?
    } else {
        let mut builder = Runtime::builder().backend(llama);
        for path in &args.model {
            let alias = path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            builder = builder.model(alias, path.clone());
        }
        builder.build()
    };
    for report in runtime.report().await? {
        println!("{report}");
        if args.templates {
            if let Some(spec) = runtime.model(&report.alias) {
                compare_templates(&backend, spec).await?;
            }
        }
    }
    Ok(())
}

/// Prints whether the Jinja rendering of an agent-shaped prompt equals
/// llama.cpp's built-in one on `spec`, and both where they differ.
async fn compare_templates(
    llama: &agentkit_backends::llama::Llama,
    spec: agentkit::ModelSpec,
) -> Result<(), Box<dyn std::error::Error>> {
    use agentkit::backend::{OutputSchema, Request};
    use agentkit::{Message, Prompt, Role};
    let turn = |role, content: &str| Message {
        role,
        content: content.to_string(),
    };
    let prompt = Prompt {
        messages: vec![
            turn(Role::System, "Decide whether the thread is relevant."),
            turn(Role::User, "{\"title\":\"My sourdough\"}"),
            turn(Role::Assistant, "{\"relevant\":false}"),
            turn(Role::User, "{\"title\":\"llama.cpp on a Pi\"}"),
        ],
    };
    let request = Request::new(
        "Probe",
        spec,
        prompt,
        OutputSchema::from_full(serde_json::json!({ "type": "object" })),
        agentkit::Sampling::DEFAULT,
    );
    let (jinja, builtin) = llama.rendered_prompts(request).await?;
    match builtin {
        None => println!("  templates      no Jinja template to compare\n"),
        Some(Err(e)) => println!("  templates      llama.cpp's built-in list cannot render it: {e}\n"),
        Some(Ok(builtin)) if builtin == jinja => {
            println!("  templates      Jinja and llama.cpp's built-in rendering agree\n")
        }
        Some(Ok(builtin)) => println!(
            "  templates      they differ:\n--- Jinja (what agentkit sends)\n{jinja}\n--- llama.cpp built-in\n{builtin}\n---\n"
        ),
    }
    Ok(())
}
