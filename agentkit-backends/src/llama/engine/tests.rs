//! The engine's bookkeeping on the fixture model: admission (slots, KV
//! cells, prefix sharing, waiting) and what a step leaves behind.

use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Mutex, OnceLock};

use agentkit::{Error, ErrorKind};
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;

use super::slots::Slot;
use super::task::{Job, Next, Running, Stats, Task};
use super::{Engine, EngineConfig};

/// The fixture model, written and loaded once for all tests.
fn model() -> Arc<LlamaModel> {
    static MODEL: OnceLock<Arc<LlamaModel>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let dir = std::env::temp_dir().join(format!("agentkit-engine-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join("fixture.gguf");
            agentkit_test::fixture::write_fixture_model(&path, 7).unwrap();
            let backend = crate::llama::process_backend(false).unwrap();
            let model =
                LlamaModel::load_from_file(backend, &path, &LlamaModelParams::default()).unwrap();
            Arc::new(model)
        })
        .clone()
}

fn engine(slots: usize, kv_size: usize, unified: bool) -> Engine {
    let config = EngineConfig {
        threads: 2,
        slots,
        kv_size,
        unified,
        flash_attention: Some(false),
        keep_prefixes: true,
        budget: None,
    };
    let backend = crate::llama::process_backend(false).unwrap();
    Engine::new(backend, model(), config).unwrap()
}

/// What a finished test task reports.
#[derive(Debug)]
struct Report {
    result: Result<(), Error>,
    stats: Stats,
    /// Logit rows it was handed, per advance.
    rows: Vec<usize>,
}

/// A task that feeds `steps` times `width` tokens, then is done.
struct Steps {
    steps: usize,
    width: usize,
    shares: bool,
    rows: Vec<usize>,
    out: Arc<Mutex<Option<Report>>>,
    abandoned: Arc<AtomicBool>,
}

impl Task for Steps {
    fn advance(&mut self, rows: &[&[f32]], _: &LlamaModel) -> Next {
        self.rows.push(rows.len());
        if self.steps == 0 {
            return Next::Done;
        }
        self.steps -= 1;
        Next::Feed {
            rewind_to: None,
            tokens: vec![LlamaToken(100 + self.steps as i32); self.width],
            all_logits: false,
        }
    }

    fn shares_passes(&self) -> bool {
        self.shares
    }

    fn finish(self: Box<Self>, result: Result<(), Error>, stats: Stats) {
        *self.out.lock().unwrap() = Some(Report {
            result,
            stats,
            rows: self.rows,
        });
    }

    fn is_abandoned(&self) -> bool {
        self.abandoned.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A job with `prompt` that generates `steps` tokens (reserving as many),
/// and where its report will be.
fn job(prompt: &[i32], steps: usize) -> (Job, Arc<Mutex<Option<Report>>>, Arc<AtomicBool>) {
    wide_job(prompt, steps, 1, false)
}

/// A job that feeds `width` tokens per step, which may share a pass with
/// other sequences' feeds if `shares`.
fn wide_job(
    prompt: &[i32],
    steps: usize,
    width: usize,
    shares: bool,
) -> (Job, Arc<Mutex<Option<Report>>>, Arc<AtomicBool>) {
    let out = Arc::new(Mutex::new(None));
    let abandoned = Arc::new(AtomicBool::new(false));
    let task = Steps {
        steps,
        width,
        shares,
        rows: Vec::new(),
        out: Arc::clone(&out),
        abandoned: Arc::clone(&abandoned),
    };
    let counter = Arc::new(AtomicUsize::new(0));
    let job = Job {
        agent: "Probe",
        prompt: prompt.iter().map(|t| LlamaToken(*t)).collect(),
        reserve: steps * width,
        task: Box::new(task),
        cancelled: Arc::new(AtomicBool::new(false)),
        running: Running::new(&counter),
    };
    (job, out, abandoned)
}

fn run_to_idle(engine: &mut Engine) -> usize {
    let mut steps = 0;
    while !engine.is_idle() {
        engine.step();
        steps += 1;
        assert!(steps < 1000, "the engine never became idle");
    }
    steps
}

fn prompt(len: usize, salt: i32) -> Vec<i32> {
    // Byte tokens of the fixture vocabulary (ids 3..259).
    (0..len as i32).map(|i| 3 + (i * 7 + salt) % 200).collect()
}

#[test]
fn a_job_that_can_never_fit_is_answered_with_a_configuration_error() {
    let mut engine = engine(2, 512, true);
    let (big, out, _) = job(&prompt(500, 0), 100);
    assert!(engine.admit(big).is_ok(), "answered, not handed back");
    assert!(engine.is_idle());
    let report = out.lock().unwrap().take().unwrap();
    let err = report.result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert!(err.to_string().contains("kv_size"), "{err}");
}

#[test]
fn with_streams_feeds_of_tasks_that_share_passes_go_together_and_others_alone() {
    // Four sequences, each a prompt of its own (`lengths`) and then three
    // feeds of three tokens.
    let passes = |shares: bool, lengths: [usize; 4]| {
        let mut engine = engine(4, 2048, false);
        let outs: Vec<_> = (0..4)
            .map(|i| {
                let (j, out, _) = wide_job(&prompt(lengths[i], 10 + i as i32), 3, 3, shares);
                assert!(engine.admit(j).is_ok());
                out
            })
            .collect();
        let passes = run_to_idle(&mut engine);
        for out in outs {
            assert!(out.lock().unwrap().take().unwrap().result.is_ok());
        }
        passes
    };
    // Each prompt and each feed alone: 4 + 4 * 3 passes.
    assert_eq!(passes(false, [20; 4]), 16);
    // The four prompts in one pass, then each round of feeds in one.
    assert_eq!(passes(true, [20; 4]), 4);
    // Prompts of different lengths each alone (a feed is never cut); the
    // feeds wait for them, then go together.
    assert_eq!(passes(true, [20, 21, 22, 23]), 4 + 3);
}

#[test]
fn with_streams_a_new_sequence_goes_beside_a_running_one() {
    let mut engine = engine(4, 2048, false);
    // Four sequences share an instruction prefix.
    let shared = prompt(20, 30);
    for (i, steps) in [2, 4, 1, 3].into_iter().enumerate() {
        let mut p = shared.clone();
        p.extend([200 + i as i32; 4]);
        let (j, _, _) = job(&p, steps);
        assert!(engine.admit(j).is_ok());
    }
    run_to_idle(&mut engine);
    assert!(engine
        .slots
        .iter()
        .all(|s| matches!(s, Slot::Cached { .. })));
    let used: Vec<u64> = engine
        .slots
        .iter()
        .filter_map(|s| match s {
            Slot::Cached { used, .. } => Some(*used),
            _ => None,
        })
        .collect();
    // The three that waited for the prefix started later: the order of
    // finishing is slot 0, 2, 1, 3.
    assert!(
        used[0] < used[2] && used[2] < used[1] && used[1] < used[3],
        "{used:?}"
    );
    // Two unrelated requests: the first empties the least recently used slot
    // (0); the second goes beside it (1) rather than into the least recently
    // used of the rest (2), since other slots hold the prefix slot 1 held.
    let (e, _, _) = job(&prompt(24, 90), 3);
    let (f, _, _) = job(&prompt(24, 91), 3);
    assert!(engine.admit(e).is_ok());
    assert!(engine.admit(f).is_ok());
    let busy: Vec<usize> = (0..4)
        .filter(|&i| matches!(engine.slots[i], Slot::Busy(_)))
        .collect();
    assert_eq!(busy, [0, 1]);
    run_to_idle(&mut engine);
}

#[test]
fn a_job_waits_while_every_slot_runs_and_gets_one_when_a_slot_frees() {
    let mut engine = engine(1, 512, true);
    let (first, first_out, _) = job(&prompt(20, 1), 3);
    let (second, second_out, _) = job(&prompt(20, 2), 3);
    assert!(engine.admit(first).is_ok());
    let second = engine.admit(second).expect_err("no slot is free");
    run_to_idle(&mut engine);
    assert!(first_out.lock().unwrap().as_ref().unwrap().result.is_ok());
    // The finished sequence is cached; the cached slot is taken over.
    assert!(matches!(engine.slots[0], Slot::Cached { .. }));
    assert!(engine.admit(second).is_ok());
    run_to_idle(&mut engine);
    assert!(second_out.lock().unwrap().as_ref().unwrap().result.is_ok());
}

#[test]
fn a_step_evaluates_the_prompt_then_one_token_per_step_and_caches_what_it_held() {
    let mut engine = engine(2, 1024, false);
    let (j, out, _) = job(&prompt(30, 3), 4);
    assert!(engine.admit(j).is_ok());
    // One step for the prompt (under the batch size), one per generated
    // token, and the step that reads the last token's logits.
    assert_eq!(run_to_idle(&mut engine), 5);
    let report = out.lock().unwrap().take().unwrap();
    assert!(report.result.is_ok());
    assert_eq!(report.stats.prompt_tokens, 30);
    assert_eq!(report.stats.reused, 0);
    assert_eq!(report.rows, vec![1; 5], "one logit row per advance");
    // Cached: the prompt and the four fed tokens.
    let Slot::Cached { tokens, .. } = &engine.slots[0] else {
        panic!("the finished sequence is not cached");
    };
    assert_eq!(tokens.len(), 34);
    assert_eq!(
        engine.cached_prefix(
            &prompt(30, 3)
                .iter()
                .map(|t| LlamaToken(*t))
                .collect::<Vec<_>>()
        ),
        30
    );
}

#[test]
fn a_later_job_reuses_the_cached_prefix_up_to_a_cut_point_short_of_its_last_tokens() {
    for unified in [true, false] {
        let mut engine = engine(2, 1024, unified);
        let shared = prompt(48, 4);
        let (a, _, _) = job(&shared, 2);
        assert!(engine.admit(a).is_ok());
        run_to_idle(&mut engine);
        // Same 48 tokens (a multiple of ALIGN), then its own 8.
        let mut longer = shared.clone();
        longer.extend([11, 12, 13, 14, 15, 16, 17, 18]);
        let (b, b_out, _) = job(&longer, 2);
        assert!(engine.admit(b).is_ok());
        run_to_idle(&mut engine);
        let report = b_out.lock().unwrap().take().unwrap();
        assert!(report.result.is_ok(), "{:?}", report.result);
        assert_eq!(report.stats.reused, 48, "unified = {unified}");
        // The very same prompt again: its last token's logits must be
        // computed, in a piece of eight or more from a cut point: 40 reused.
        let (c, c_out, _) = job(&shared, 2);
        assert!(engine.admit(c).is_ok());
        run_to_idle(&mut engine);
        assert_eq!(c_out.lock().unwrap().as_ref().unwrap().stats.reused, 40);
    }
}

#[test]
fn a_job_sharing_a_prompt_still_being_evaluated_waits_for_it_then_copies_it() {
    let mut engine = engine(2, 1024, false);
    let shared = prompt(48, 5);
    let (a, _, _) = job(&shared, 2);
    let mut longer = shared.clone();
    longer.extend([42, 43, 44, 45, 46, 47, 48, 49]);
    let (b, b_out, _) = job(&longer, 2);
    assert!(engine.admit(a).is_ok());
    assert!(engine.admit(b).is_ok());
    let Slot::Busy(seq) = &engine.slots[1] else {
        panic!("b is not running");
    };
    let wait = seq.wait.expect("b waits for a's prompt");
    assert_eq!((wait.slot, wait.upto), (0, 48));
    run_to_idle(&mut engine);
    assert_eq!(b_out.lock().unwrap().as_ref().unwrap().stats.reused, 48);
}

#[test]
fn a_cancelled_job_is_dropped_at_the_next_step_and_its_slot_freed() {
    let mut engine = engine(2, 1024, false);
    let (j, out, abandoned) = job(&prompt(20, 6), 50);
    assert!(engine.admit(j).is_ok());
    engine.step();
    assert!(!engine.is_idle());
    abandoned.store(true, std::sync::atomic::Ordering::Relaxed);
    engine.step();
    assert!(engine.is_idle());
    assert!(matches!(engine.slots[0], Slot::Free));
    assert!(out.lock().unwrap().is_none(), "nobody waits for an answer");
}

#[test]
fn unified_cells_are_made_room_for_by_dropping_the_oldest_cached_sequence() {
    let mut engine = engine(3, 512, true);
    for salt in [7, 8] {
        let (j, _, _) = job(&prompt(200, salt), 10);
        assert!(engine.admit(j).is_ok());
        run_to_idle(&mut engine);
    }
    // 2 x 210 cells cached; a third job of 210 needs the oldest gone.
    let (busy, cached) = engine.cells_in_use();
    assert_eq!((busy, cached), (0, 420));
    let (j, _, _) = job(&prompt(200, 9), 10);
    assert!(engine.admit(j).is_ok());
    let (busy, cached) = engine.cells_in_use();
    assert_eq!((busy, cached), (210, 210));
    run_to_idle(&mut engine);
}

#[test]
fn a_prompt_is_cut_only_at_multiples_of_align_into_pieces_of_eight_or_more() {
    use super::step::piece;
    use super::{reusable, ALIGN};
    // Whole when it fits, a lone token included (a decode step).
    assert_eq!(piece(7, 1, 1), 1);
    assert_eq!(piece(0, 40, 512), 40);
    // Cut at a multiple of ALIGN, leaving eight or more behind.
    assert_eq!(piece(0, 513, 512), 504);
    assert_eq!(piece(0, 600, 512), 512);
    assert_eq!(piece(32, 100, 20), 16);
    assert_eq!(piece(0, 24, 16), 16);
    assert_eq!(piece(0, 17, 16), 8);
    // Waits rather than cut elsewhere.
    assert_eq!(piece(0, 40, 7), 0);
    assert_eq!(piece(0, 15, 14), 0);
    for base in [0, 8, 32, 5] {
        for len in 2..70 {
            for room in 0..70 {
                let take = piece(base, len, room);
                assert!(take <= room && take <= len, "{base} {len} {room}");
                if take != 0 && take != len {
                    assert_eq!((base + take) % ALIGN, 0, "{base} {len} {room}");
                    assert!(take >= 8 && len - take >= 8, "{base} {len} {room}");
                }
            }
        }
    }
    // Reuse ends at a cut point, eight or more tokens short of the prompt.
    assert_eq!(reusable(45, 50), 40);
    assert_eq!(reusable(48, 56), 48);
    assert_eq!(reusable(48, 53), 40);
    assert_eq!(reusable(48, 48), 40);
    assert_eq!(reusable(100, 18), 8);
    assert_eq!(reusable(7, 100), 0);
}
