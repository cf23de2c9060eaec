//! The seed's first agent: a finding agent takes a research topic and
//! searches the forum with a `search` tool (a BM25 index over the threads,
//! built at start) over several turns, writing its own queries. The threads
//! its searches returned go on to the rest of the flagship (screen, score,
//! draft). Prints each turn, the recall of the relevant threads against the
//! labels beside one search for the topic itself, and the flagship's verdicts.
//!
//! `cargo run -p agentkit-examples --example find [-- --split test] [--model ALIAS] [--no-flagship]`

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use agentkit::prelude::*;
use agentkit::tools::{self, run_with_transcript};
use agentkit_examples::forum::{self, Split};
use agentkit_examples::search::Index;
use clap::Parser;

#[derive(Parser)]
struct Args {
    /// The labelled threads to search.
    #[arg(long, value_enum, default_value = "test")]
    split: Split,
    /// The model the finding agent runs on (an alias the runtime knows).
    #[arg(long, default_value = "smollm2-135m")]
    model: String,
    /// The research topic.
    #[arg(
        long,
        default_value = "running language models locally on your own hardware"
    )]
    topic: String,
    /// Hits per search.
    #[arg(long, default_value_t = 5)]
    hits: usize,
    /// Stop after the search: do not run the flagship on what was found.
    #[arg(long)]
    no_flagship: bool,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct Research {
    topic: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct Searched {
    /// what the searches found, in one line
    #[schemars(length(max = 100))]
    note: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct Query {
    /// two to four searches, each two to four words on a different side of the topic
    #[schemars(length(min = 2, max = 4), inner(length(min = 3, max = 30)))]
    queries: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Hit {
    id: String,
    title: String,
}

/// Find forum threads about the research topic. Search the forum with
/// several short searches, each about a different side of the topic (for
/// example the hardware, the speed, which model to run, the software), then
/// search again for what is still missing, then answer with a note.
#[agent(model = "tools", temperature = 0.0, max_tokens = 120, input = Research, output = Searched,
        tool_sources = ["forum"], max_turns = 4, parallel = 1, require_call = true)]
struct Find;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args = Args::parse();
    let threads = forum::load(args.split)?;
    let texts: Vec<String> = threads
        .iter()
        .map(|t| format!("{} {} {}", t.title, t.body, t.comments.join(" ")))
        .collect();
    let index = Arc::new(Index::new(texts.iter().map(String::as_str)));
    let found: Arc<Mutex<BTreeSet<usize>>> = Arc::default();
    let search = {
        let (index, found) = (Arc::clone(&index), Arc::clone(&found));
        let titles: Vec<(String, String)> = threads
            .iter()
            .map(|t| (t.id.clone(), t.title.clone()))
            .collect();
        let k = args.hits;
        tools::function(
            "search",
            "Search the forum's threads with a few short searches at once; gives the ids and titles of the threads they match that were not found before.",
            move |q: Query| {
                let mut seen = found.lock().unwrap_or_else(|p| p.into_inner());
                let mut out: Vec<Hit> = Vec::new();
                for query in &q.queries {
                    for (doc, _) in index.search(query, k) {
                        if seen.insert(doc) {
                            out.push(Hit {
                                id: titles[doc].0.clone(),
                                title: titles[doc].1.clone(),
                            });
                        }
                    }
                }
                async move { Ok::<_, String>(out) }
            },
        )
    };
    let llama = agentkit_examples::llama()?;
    let runtime = Runtime::builder()
        .backend(agentkit_backends::server::Router::new(llama))
        .manifest(forum::manifest_path())?
        .alias("tools", &args.model)
        .tool_source("forum", vec![search])
        .build();

    let started = std::time::Instant::now();
    let research = Research {
        topic: args.topic.clone(),
    };
    let (note, transcript) = match run_with_transcript(&Find, &runtime, research).await {
        Ok((out, t)) => (Some(out.note), t),
        Err(Error::ToolTurns { transcript, .. }) => (None, transcript),
        Err(e) => return Err(e),
    };
    let find_time = started.elapsed();
    for (i, turn) in transcript.turns.iter().enumerate() {
        println!(
            "turn {}: {} prompt tokens ({} from the cache)",
            i + 1,
            turn.prompt_tokens,
            turn.cached_prompt_tokens
        );
        for (call, _) in &turn.calls {
            println!("  search {}", call.args);
        }
        if turn.calls.is_empty() {
            println!("  answered {}", turn.text.trim());
        }
    }
    if note.is_none() {
        println!("  (no answer within its turns; the searches' hits are kept)");
    }
    let found: BTreeSet<usize> = found.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let relevant: BTreeSet<usize> = (0..threads.len())
        .filter(|&i| threads[i].relevant)
        .collect();
    let recall = |set: &BTreeSet<usize>| set.intersection(&relevant).count();
    // The baseline: one search for the topic itself, as many hits as found.
    let baseline: BTreeSet<usize> = index
        .search(&args.topic, found.len().max(1))
        .into_iter()
        .map(|(d, _)| d)
        .collect();
    println!(
        "\n{} on {:?}: {} turns, {} searches, {} threads found in {:.1} s",
        args.model,
        args.split,
        transcript.turns.len(),
        transcript.calls().count(),
        found.len(),
        find_time.as_secs_f64()
    );
    println!(
        "recall of the {} relevant threads: agent {}/{} ({} of its {} found are relevant); one search for the topic with as many hits: {}/{}",
        relevant.len(),
        recall(&found),
        relevant.len(),
        recall(&found),
        found.len(),
        recall(&baseline),
        relevant.len()
    );
    if args.no_flagship || found.is_empty() {
        return Ok(());
    }
    let picked: Vec<usize> = found.iter().copied().collect();
    let outcomes = forum::research(
        &runtime,
        picked.iter().map(|&i| threads[i].thread()).collect(),
    )
    .await?;
    let mut agree = 0;
    for (&i, outcome) in picked.iter().zip(&outcomes) {
        let t = &threads[i];
        agree += usize::from(outcome.relevant == t.relevant);
        println!(
            "{} relevant {} (label {}) worth answering {:?} | {}",
            t.id, outcome.relevant, t.relevant, outcome.worth_answering, t.title
        );
    }
    println!(
        "the flagship's screen agrees with the label on {agree}/{} found threads",
        picked.len()
    );
    Ok(())
}
