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
    }
    Ok(())
}
