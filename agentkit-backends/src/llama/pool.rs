//! Where requests run: one batching engine per model on a thread of its own
//! (the default), or, with batching off, an engine per call leased from a
//! small pool of warm ones.

use std::collections::VecDeque;
use std::sync::mpsc::{self, TryRecvError};
use std::sync::{Arc, Mutex};

use agentkit::Error;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::model::LlamaModel;

use super::engine::task::{Job, Stats};
use super::engine::{Engine, EngineConfig};
use super::errors::{caused, failure};

/// With batching off, how many contexts a model keeps warm: one per call
/// that may run at the same time, so concurrent calls of one agent all find
/// their shared prefix cached.
pub(super) const WARM_CONTEXTS: usize = 4;

/// The batching engine of one model, running on a thread of its own.
/// Requests join between two steps; the thread ends when the scheduler is
/// dropped and the last request is answered.
pub(super) struct Scheduler {
    jobs: mpsc::Sender<Job>,
}

impl Scheduler {
    /// Starts the engine thread for `model`, named after `alias`.
    pub(super) fn start(
        backend: &'static LlamaBackend,
        model: Arc<LlamaModel>,
        config: EngineConfig,
        alias: &str,
    ) -> Result<Scheduler, Error> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let (ready, started) = mpsc::channel::<Result<(), Error>>();
        std::thread::Builder::new()
            .name(format!("agentkit-batch-{alias}"))
            .spawn(move || match Engine::new(backend, model, config) {
                Ok(engine) => {
                    let _ = ready.send(Ok(()));
                    serve(engine, &queue);
                }
                Err(e) => {
                    let _ = ready.send(Err(e));
                }
            })
            .map_err(|e| caused("", "could not start the batching thread", e))?;
        started
            .recv()
            .map_err(|e| caused("", "the batching thread did not start", e))??;
        Ok(Scheduler { jobs })
    }

    /// Queues `job`; it starts as soon as a slot and its KV cells are free.
    /// Hands the job back if the engine thread has stopped.
    pub(super) fn submit(&self, job: Job) -> Result<(), Job> {
        self.jobs.send(job).map_err(|rejected| rejected.0)
    }
}

/// The engine thread: admit what fits, in arrival order (a request that does
/// not fit yet waits and the ones behind it wait with it, so none starves),
/// step, repeat; sleep when there is nothing to do.
fn serve(mut engine: Engine, jobs: &mpsc::Receiver<Job>) {
    let mut waiting: VecDeque<Job> = VecDeque::new();
    let mut open = true;
    loop {
        if engine.is_idle() && waiting.is_empty() {
            if !open {
                return;
            }
            match jobs.recv() {
                Ok(job) => waiting.push_back(job),
                Err(_) => return,
            }
        }
        loop {
            match jobs.try_recv() {
                Ok(job) => waiting.push_back(job),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        waiting.retain(|job| !job.is_cancelled());
        while let Some(job) = waiting.pop_front() {
            if let Err(job) = engine.admit(job) {
                waiting.push_front(job);
                break;
            }
        }
        engine.step();
    }
}

/// With batching off: engines of one sequence each, kept warm between calls.
#[derive(Default)]
pub(super) struct EnginePool {
    idle: Mutex<Vec<Engine>>,
}

impl EnginePool {
    /// Runs `job` to its end on an engine of its own: the warm one whose
    /// cache shares the longest prefix with its prompt, or a new one when
    /// all are in use.
    pub(super) fn run(
        &self,
        backend: &'static LlamaBackend,
        model: &Arc<LlamaModel>,
        config: EngineConfig,
        job: Job,
    ) -> Result<(), Error> {
        let warm = {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            let best = idle
                .iter()
                .enumerate()
                .max_by_key(|(_, e)| e.cached_prefix(&job.prompt))
                .map(|(i, _)| i);
            best.map(|i| idle.swap_remove(i))
        };
        let mut engine = match warm {
            Some(engine) => engine,
            None => Engine::new(backend, Arc::clone(model), config.clone())?,
        };
        if let Err(job) = engine.admit(job) {
            // An idle engine admits every job that can fit at all.
            let error = failure(job.agent, "the request", "found no room in an idle context");
            job.finish(Err(error), Stats::default());
        }
        while !engine.is_idle() {
            engine.step();
        }
        if config.keep_prefixes {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < WARM_CONTEXTS {
                idle.push(engine);
            }
        }
        Ok(())
    }
}
