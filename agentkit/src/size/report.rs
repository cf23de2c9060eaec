//! What a sizing run measured per candidate model, the rule that chooses,
//! and writing the choice where the runtime reads it.

use std::fmt;
use std::path::Path;
use std::time::Duration;

#[cfg(doc)]
use super::Sizing;
use crate::tune::{CrossValidated, Score, Tuning};
use crate::Error;

/// How a sizing run picks among its candidates, by each one's choosing
/// score: the cross-validated dev score where the agent was tuned (scored
/// agents), else its score on the dev split. Held-out splits are reported,
/// never used to choose.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Choose {
    /// The smallest model (fewest parameters, else least memory, else the
    /// first given) whose choosing score reaches `target`.
    Smallest {
        /// The score to reach, e.g. 0.8.
        target: f64,
    },
    /// The most accurate model whose per-call p95 latency is within `p95`;
    /// a smaller one wins when its score is within one standard error of
    /// the best (the measurements do not separate them).
    MostAccurate {
        /// The latency budget per call (`Duration::MAX` for none).
        p95: Duration,
    },
}

impl Default for Choose {
    /// The most accurate, with no latency budget.
    fn default() -> Self {
        Choose::MostAccurate { p95: Duration::MAX }
    }
}

/// What one candidate model measured.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Measured {
    /// The candidate's model alias.
    pub model: String,
    /// The model's parameter count, where the backend reports it.
    pub parameters: Option<u64>,
    /// The model's weights plus its KV cache, where the backend reports them.
    pub memory_bytes: Option<u64>,
    /// The score on the dev split (for a tuned agent: of the tuning, fitted
    /// on all of it).
    pub dev: Score,
    /// The cross-validated dev score of the chosen tuning (scored agents).
    pub cv: Option<CrossValidated>,
    /// The score on each held-out split, by name, in the order given.
    pub held_out: Vec<(String, Score)>,
    /// Per-call latencies of the held-out runs (the dev runs where there are
    /// no held-out splits).
    pub latencies: Vec<Duration>,
    /// Mean prompt tokens per call (0 where the calls report none, as scored
    /// calls do).
    pub prompt_tokens: f64,
    /// Mean generated tokens per call.
    pub generated_tokens: f64,
    /// The tuning fitted on this model (scored agents).
    pub tuning: Option<Tuning>,
    /// Runs that produced no output, with their errors.
    pub failures: Vec<String>,
    /// What the tuner said about its choice on this model (a dev split too
    /// small for folds, a simpler candidate preferred), if anything.
    pub note: Option<String>,
}

impl Measured {
    /// The score a [`Choose`] rule compares: the cross-validated dev score,
    /// else the dev score.
    pub fn choosing_score(&self) -> f64 {
        self.cv.map_or(self.dev.metric, |cv| cv.mean)
    }

    /// One standard error of [`choosing_score`](Measured::choosing_score):
    /// the folds' spread over the square root of their number, or the
    /// binomial error of a share of the dev split.
    pub fn standard_error(&self) -> f64 {
        match self.cv {
            Some(cv) => cv.spread / (cv.folds.max(1) as f64).sqrt(),
            None => {
                let p = self.dev.metric.clamp(0.0, 1.0);
                (p * (1.0 - p) / self.dev.total.max(1) as f64).sqrt()
            }
        }
    }

    /// The `q` quantile of the per-call latencies.
    pub fn latency(&self, q: f64) -> Option<Duration> {
        crate::eval::quantile(&self.latencies, q)
    }

    /// What orders candidates by size: parameters, else memory.
    fn size(&self) -> Option<u64> {
        self.parameters.or(self.memory_bytes)
    }
}

/// What a sizing run measured and chose for one agent.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SizingReport {
    /// The agent sized ([`Agent::NAME`](crate::Agent::NAME)).
    pub agent: String,
    /// The model alias the agent names, which the choice re-points.
    pub alias: String,
    /// The rule that chose.
    pub rule: Choose,
    /// Every candidate, in the order given.
    pub candidates: Vec<Measured>,
    /// Index of the chosen candidate; `None` when none met the rule.
    pub chosen: Option<usize>,
    /// Why the choice fell where it did.
    pub note: String,
}

impl SizingReport {
    /// Applies `rule` to `candidates`.
    pub(super) fn new(agent: &str, alias: &str, rule: Choose, candidates: Vec<Measured>) -> Self {
        let (chosen, note) = choose(&candidates, rule);
        SizingReport {
            agent: agent.to_string(),
            alias: alias.to_string(),
            rule,
            candidates,
            chosen,
            note,
        }
    }

    /// The chosen candidate, if one met the rule.
    pub fn choice(&self) -> Option<&Measured> {
        self.candidates.get(self.chosen?)
    }

    /// Writes the choice where the runtime reads it: the agent's alias in
    /// the manifest at `manifest` is pointed at the chosen model (the rest of
    /// the file is kept; see [`agentkit_manifest::Manifest::set_model`]),
    /// and for a tuned agent the chosen model's tuning is saved at `tuning`
    /// (load it with [`ScoredAgent::tuned_from`](crate::ScoredAgent::tuned_from)).
    /// Agents that share the alias move with it. Fails when no candidate met
    /// the rule, or a file cannot be read or written.
    pub fn write_choice(&self, manifest: &Path, tuning: Option<&Path>) -> Result<(), Error> {
        let choice = self.choice().ok_or_else(|| Error::Sizing {
            agent: self.agent.clone(),
            reason: format!(
                "no candidate met the rule ({}), so there is no choice to write; relax the rule or add a bigger model",
                self.note
            ),
        })?;
        let io = |what: &str, e: std::io::Error| Error::Sizing {
            agent: self.agent.clone(),
            reason: format!("could not {what} `{}`: {e}", manifest.display()),
        };
        let text = std::fs::read_to_string(manifest).map_err(|e| io("read", e))?;
        let edited = agentkit_manifest::Manifest::set_model(&text, &self.alias, &choice.model)
            .map_err(|e| Error::Manifest {
                path: manifest.to_path_buf(),
                line: e.line(),
                column: e.column(),
                reason: e.message().to_string(),
                source: e.into_source(),
            })?;
        if let (Some(path), Some(t)) = (tuning, &choice.tuning) {
            t.save(path)?;
        }
        std::fs::write(manifest, edited).map_err(|e| io("write", e))
    }
}

/// The candidate `rule` picks, and why.
fn choose(candidates: &[Measured], rule: Choose) -> (Option<usize>, String) {
    let score = |i: usize| candidates[i].choosing_score();
    let by_size = |a: &usize, b: &usize| {
        let (x, y) = (candidates[*a].size(), candidates[*b].size());
        match (x, y) {
            (Some(x), Some(y)) => x.cmp(&y).then(a.cmp(b)),
            _ => a.cmp(b),
        }
    };
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(by_size);
    match rule {
        Choose::Smallest { target } => {
            match order.iter().copied().find(|&i| score(i) >= target - 1e-9) {
                Some(i) => (
                    Some(i),
                    format!(
                        "`{}` is the smallest that reaches {target:.2} ({:.2})",
                        candidates[i].model,
                        score(i)
                    ),
                ),
                None => (None, best_of(candidates, &order, target)),
            }
        }
        Choose::MostAccurate { p95 } => {
            let within: Vec<usize> = order
                .iter()
                .copied()
                .filter(|&i| candidates[i].latency(0.95).is_none_or(|l| l <= p95))
                .collect();
            let Some(best) = within
                .iter()
                .copied()
                .max_by(|&a, &b| score(a).total_cmp(&score(b)).then(b.cmp(&a)))
            else {
                return (
                    None,
                    format!(
                        "no candidate answers within the p95 budget of {:.2} s",
                        p95.as_secs_f64()
                    ),
                );
            };
            let margin = candidates[best].standard_error();
            // `within` is smallest first: the first within one standard
            // error of the best is the smallest the data cannot tell apart.
            let pick = within
                .iter()
                .copied()
                .find(|&i| score(i) >= score(best) - margin - 1e-9)
                .unwrap_or(best);
            let note = if pick == best {
                format!(
                    "`{}` is the most accurate ({:.2})",
                    candidates[best].model,
                    score(best)
                )
            } else {
                format!(
                    "`{}` ({:.2}) is within one standard error ({margin:.2}) of the most accurate, `{}` ({:.2}), and smaller",
                    candidates[pick].model,
                    score(pick),
                    candidates[best].model,
                    score(best)
                )
            };
            (Some(pick), note)
        }
    }
}

/// The note when no candidate reaches `target`.
fn best_of(candidates: &[Measured], order: &[usize], target: f64) -> String {
    let best = order.iter().copied().max_by(|&a, &b| {
        candidates[a]
            .choosing_score()
            .total_cmp(&candidates[b].choosing_score())
    });
    match best {
        Some(i) => format!(
            "no candidate reaches {target:.2}; the best is `{}` at {:.2}",
            candidates[i].model,
            candidates[i].choosing_score()
        ),
        None => "there were no candidates".into(),
    }
}

impl fmt::Display for SizingReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let held: Vec<&str> = self
            .candidates
            .first()
            .map(|c| c.held_out.iter().map(|(n, _)| n.as_str()).collect())
            .unwrap_or_default();
        write!(
            f,
            "| {} on | dev: right, score (cross-validated ± spread) |",
            self.agent
        )?;
        for name in &held {
            write!(f, " {name}: right, score |")?;
        }
        writeln!(f, " p50 / p95 per call | tokens in / out | memory |")?;
        write!(f, "|---|---|")?;
        for _ in &held {
            write!(f, "---|")?;
        }
        writeln!(f, "---|---|---|")?;
        for (i, c) in self.candidates.iter().enumerate() {
            let mark = if Some(i) == self.chosen {
                " **(chosen)**"
            } else {
                ""
            };
            let cv = match c.cv {
                Some(cv) => format!(" ({:.2} ± {:.2})", cv.mean, cv.spread),
                None => String::new(),
            };
            write!(
                f,
                "| {}{mark} | {}/{} right, {:.2}{cv} |",
                c.model, c.dev.correct, c.dev.total, c.dev.metric
            )?;
            for (_, s) in &c.held_out {
                write!(f, " {}/{} right, {:.2} |", s.correct, s.total, s.metric)?;
            }
            let secs = |q| {
                c.latency(q)
                    .map_or("—".into(), |d| format!("{:.2}", d.as_secs_f64()))
            };
            let memory = c
                .memory_bytes
                .map_or("—".into(), |b| format!("{} MiB", b / (1 << 20)));
            let tokens = if c.prompt_tokens + c.generated_tokens > 0.0 {
                format!("{:.0} / {:.0}", c.prompt_tokens, c.generated_tokens)
            } else {
                "—".into()
            };
            writeln!(
                f,
                " {} / {} s | {tokens} | {memory} |",
                secs(0.5),
                secs(0.95)
            )?;
        }
        writeln!(f, "\n{}", self.note)?;
        for c in &self.candidates {
            if let Some(note) = &c.note {
                writeln!(f, "{}: {note}", c.model)?;
            }
            for e in c.failures.iter().take(3) {
                writeln!(f, "{} failed: {e}", c.model)?;
            }
        }
        Ok(())
    }
}
