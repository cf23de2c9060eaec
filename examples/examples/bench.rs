//! Speed, measured side by side in one process on the default model
//! (SmolLM2-135M-Instruct Q4_1): every figure is a median over the runs, and
//! every ratio compares two things measured in the same run.
//!
//! - constrained vs unconstrained decoding (tokens/s);
//! - an agentkit agent call vs a hand-written llama-cpp-2 loop doing the same
//!   grammar-constrained generation (framework overhead);
//! - a second call's prompt time with the agent's shared prefix kept in the
//!   KV cache vs evaluated cold;
//! - model load time and schema → grammar compile time.
//!
//! `cargo run -p agentkit-examples --example bench [-- RUNS]`

use std::num::{NonZeroU32, NonZeroUsize};
use std::time::{Duration, Instant};

use agentkit::backend::{Backend, Request};
use agentkit::prelude::*;
use agentkit::Prompt;
use agentkit_backends::llama::{llama_backend, Llama, LlamaConfig};
use clap::Parser;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llguidance::api::TopLevelGrammar;
use llguidance::{Matcher, ParserFactory};

/// Speed on the default model, measured side by side in one process:
/// constrained vs unconstrained decoding, an agentkit call vs a hand-written
/// llama-cpp-2 loop, a warm shared prefix vs a cold prompt, model load and
/// grammar compile times. Prints a Markdown table of medians.
///
/// llama.cpp runs on AGENTKIT_THREADS threads (2 when unset).
#[derive(Parser)]
struct Args {
    /// How many times to measure each figure (the table gives medians).
    #[arg(value_name = "RUNS", default_value = "5")]
    runs: NonZeroUsize,
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct Thread {
    title: String,
    body: String,
}

#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)]
struct Summary {
    /// the thread's main question, in your own words
    #[schemars(length(max = 120))]
    question: String,
    /// what the poster has tried so far
    #[schemars(length(max = 3))]
    tried: Vec<String>,
    /// true when the thread is about running models locally
    relevant: bool,
}

/// Summarise the forum thread: its main question and what the poster tried.
#[agent(model = "smollm2-135m", temperature = 0.0, max_tokens = 96, input = Thread, output = Summary)]
struct Summarise;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(0.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn thread(i: usize) -> Thread {
    Thread {
        title: format!("llama.cpp on an old ThinkPad (#{i}): which quant and how many threads?"),
        body: "I have 8 GB of RAM and a 4-core i5 without a GPU. I tried Q8_0 of a 1B model and it \
               was slow, then Q4_K_M which was faster but sometimes rambles. I also set threads to 8 \
               and it got slower. What should I try next?"
            .into(),
    }
}

/// The hand-written loop: llama-cpp-2 and llguidance used directly, the way
/// their documentation shows, generating under the same schema.
struct Raw {
    model: LlamaModel,
    factory: ParserFactory,
    threads: i32,
}

impl Raw {
    fn call(
        &self,
        prompt: &Prompt,
        schema: &serde_json::Value,
        max_tokens: usize,
    ) -> (String, usize, Duration) {
        let started = Instant::now();
        let backend = llama_backend().expect("backend");
        let template = self.model.chat_template(None).expect("template");
        let messages: Vec<LlamaChatMessage> = prompt
            .messages
            .iter()
            .map(|m| {
                LlamaChatMessage::new(m.role.as_str().into(), m.content.clone()).expect("message")
            })
            .collect();
        let text = self
            .model
            .apply_chat_template(&template, &messages, true)
            .expect("apply");
        let tokens = self.model.vocab().tokenize(text.as_bytes(), true, true);
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(2048))
            .with_n_batch(512)
            .with_n_threads(self.threads)
            .with_n_threads_batch(self.threads);
        let mut ctx = self.model.new_context(backend, params).expect("context");
        let mut batch = LlamaBatch::new(512, 1);
        for (i, t) in tokens.iter().enumerate() {
            batch
                .add(*t, i as i32, &[0], i == tokens.len() - 1)
                .expect("batch");
        }
        ctx.decode(&mut batch).expect("decode");
        let mut schema = schema.clone();
        schema["x-guidance"] = serde_json::json!({ "whitespace_flexible": false });
        let parser = self
            .factory
            .create_parser(TopLevelGrammar::from_json_schema(schema))
            .expect("grammar");
        let mut sampler = LlamaSampler::chain_simple([
            LlamaSampler::from(Matcher::new(Ok(parser))),
            LlamaSampler::greedy(),
        ]);
        let mut out = Vec::new();
        let mut n = 0;
        let mut pos = tokens.len() as i32;
        let mut idx = batch.n_tokens() - 1;
        while n < max_tokens {
            let token = sampler.sample(&ctx, idx);
            if self.model.vocab().is_eog(token) {
                break;
            }
            out.extend(self.model.vocab().token_to_piece(token, false, None));
            n += 1;
            batch.clear();
            batch.add(token, pos, &[0], true).expect("batch");
            pos += 1;
            ctx.decode(&mut batch).expect("decode");
            idx = 0;
        }
        (
            String::from_utf8_lossy(&out).into_owned(),
            n,
            started.elapsed(),
        )
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let runs = Args::parse().runs.get();
    let threads = agentkit_examples::threads().unwrap_or(2);
    let spec = agentkit_backends::llama::default_model();
    let path = agentkit_backends::llama::default_model_path();
    let cold = Llama::new(LlamaConfig::default().threads(threads).reuse_prefix(false))?;
    let warm = Llama::new(LlamaConfig::default().threads(threads))?;
    let cold_rt = Runtime::builder().backend(cold.clone()).build();

    // Model load and grammar engine set-up, raw.
    let started = Instant::now();
    let model = LlamaModel::load_from_file(llama_backend()?, &path, &LlamaModelParams::default())
        .map_err(|e| Error::ModelLoad {
        alias: spec.alias.clone(),
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let load_ms = ms(started.elapsed());
    let started = Instant::now();
    let env = LlamaSampler::llguidance_tok_env(&model);
    let factory = ParserFactory::new_simple(&env).map_err(|e| {
        Error::backend("bench", agentkit::backend::BackendError::new(e.to_string()))
    })?;
    let factory_ms = ms(started.elapsed());
    let schema = agentkit::output_schema::<Summary>();
    let mut compile = Vec::new();
    for _ in 0..runs {
        let mut s = schema.clone();
        s["x-guidance"] = serde_json::json!({ "whitespace_flexible": false });
        let started = Instant::now();
        let parser = factory.create_parser(TopLevelGrammar::from_json_schema(s));
        compile.push(ms(started.elapsed()));
        assert!(parser.is_ok());
    }
    let raw = Raw {
        model,
        factory,
        threads: threads as i32,
    };

    // Warm-up: loads the model into both backends.
    cold.preload(&spec).await?;
    warm.preload(&spec).await?;
    Summarise.run(&cold_rt, thread(0)).await?;

    let request = |i: usize| -> Result<Request, Error> {
        Ok(Request::new(
            "Summarise",
            spec.clone(),
            Prompt::render::<Summarise>(&thread(i))?,
            agentkit::backend::OutputSchema::from_full(schema.clone()),
            <Summarise as Agent>::SAMPLING,
        ))
    };
    let (mut free_tps, mut con_tps, mut agent_ms, mut raw_ms, mut agent_tps, mut raw_tps) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    let (mut cold_prompt, mut warm_prompt) = (vec![], vec![]);
    let mut same_text = true;
    let mut tokens = (0, 0);
    for i in 1..=runs {
        // constrained vs unconstrained, same request
        let f = cold.generate_unconstrained(request(i)?).await?;
        let c = cold.generate(request(i)?).await?;
        free_tps.push(f.generated_tokens as f64 / f.generate_time.as_secs_f64());
        con_tps.push(c.generated_tokens as f64 / c.generate_time.as_secs_f64());
        tokens = (f.generated_tokens, c.generated_tokens);

        // agentkit agent call vs the raw loop (both cold, greedy, same schema)
        let started = Instant::now();
        Summarise.run(&cold_rt, thread(i)).await?;
        agent_ms.push(ms(started.elapsed()));
        let a = cold.generate(request(i)?).await?;
        agent_tps.push(a.generated_tokens as f64 / a.generate_time.as_secs_f64());
        let prompt = request(i)?.prompt;
        let (text, n, took) = tokio::task::block_in_place(|| raw.call(&prompt, &schema, 96));
        raw_ms.push(ms(took));
        let decode_s = took.as_secs_f64() - a.prompt_time.as_secs_f64();
        raw_tps.push(n as f64 / decode_s.max(1e-9));
        same_text &= text == a.text;

        // second call of the same agent with a new input: warm prefix vs cold
        warm.generate(request(100 + i)?).await?;
        let w = warm.generate(request(200 + i)?).await?;
        let c = cold.generate(request(200 + i)?).await?;
        warm_prompt.push(ms(w.prompt_time));
        cold_prompt.push(ms(c.prompt_time));
    }
    let (free, con) = (median(free_tps), median(con_tps));
    let (am, rm) = (median(agent_ms), median(raw_ms));
    let (wp, cp) = (median(warm_prompt), median(cold_prompt));
    println!("SmolLM2-135M-Instruct Q4_1, {threads} threads, {runs} runs each, medians");
    println!();
    println!("| measure | value | ratio | target |");
    println!("|---|---|---|---|");
    println!(
        "| unconstrained decode | {free:.1} tok/s ({} tokens) | | |",
        tokens.0
    );
    println!("| constrained decode (llguidance mask) | {con:.1} tok/s ({} tokens) | {:.2}x unconstrained | >= 0.90x |", tokens.1, con / free);
    println!("| raw llama-cpp-2 loop, whole call | {rm:.0} ms | | |");
    println!(
        "| agentkit agent call, whole call | {am:.0} ms | {:.2}x raw speed | >= 0.95x |",
        rm / am
    );
    let (at, rt) = (median(agent_tps), median(raw_tps));
    println!(
        "| decode speed, agentkit vs raw | {at:.1} vs {rt:.1} tok/s | {:.2}x | |",
        at / rt
    );
    println!("| same output text as the raw loop | {same_text} | | |");
    println!("| second call's prompt, cold | {cp:.0} ms | | |");
    println!("| second call's prompt, shared prefix kept in KV cache | {wp:.0} ms | {:.2}x cold | <= 0.50x |", wp / cp);
    println!("| model load (98 MB GGUF) | {load_ms:.0} ms | | |");
    println!("| grammar engine set-up, once per model | {factory_ms:.0} ms | | |");
    println!(
        "| schema -> grammar compile, per call | {:.2} ms | | |",
        median(compile)
    );
    Ok(())
}
