//! Scored choices: the log probability of each option, read from the logits
//! instead of sampled.

use agentkit::backend::Choice;
use agentkit::Error;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;

use super::engine::task::{Answer, Next, Stats, Task};
use super::model::LoadedModel;

/// Log-softmax of one logit among all of them.
fn log_prob(logits: &[f32], token: LlamaToken) -> f64 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f64 = logits.iter().map(|l| f64::from(l - max).exp()).sum();
    let logit = usize::try_from(token.0)
        .ok()
        .and_then(|i| logits.get(i))
        .copied()
        .unwrap_or(f32::NEG_INFINITY);
    f64::from(logit - max) - sum.ln()
}

/// A choice as tokens.
struct Tokens {
    lead: Vec<LlamaToken>,
    options: Vec<Vec<LlamaToken>>,
}

/// Where a scoring task is.
enum Phase {
    /// The logits that arrive are the prompt's (or the chosen option's):
    /// they follow the text before the current choice's lead.
    BeforeLead,
    /// The logits that arrive follow the lead: the base for every option.
    AfterLead,
    /// The logits that arrive are those of option `option`'s tokens but the
    /// last, one row per token.
    InOption { option: usize },
}

/// Scored choices in progress: the state the batching engine advances.
///
/// After the prompt, for each choice: evaluate its lead, read each option's
/// first token from those logits, evaluate the rest of each longer option
/// (rewinding after each), then append the likeliest option.
pub(super) struct Score {
    choices: Vec<Tokens>,
    choice: usize,
    phase: Phase,
    /// Logits after the lead of the current choice.
    base: Vec<f32>,
    /// Tokens in the sequence where the current choice's options start.
    mark: usize,
    current: Vec<f64>,
    scores: Vec<Vec<f64>>,
    /// Where the scores go.
    answer: Answer<Vec<Vec<f64>>>,
}

impl Score {
    /// Scoring of `choices` after a prompt of `prompt_len` tokens; also the
    /// tokens it may add to the sequence at most.
    pub(super) fn new(
        model: &LoadedModel,
        choices: &[Choice],
        prompt_len: usize,
        answer: Answer<Vec<Vec<f64>>>,
    ) -> (Score, usize) {
        let choices: Vec<Tokens> = choices
            .iter()
            .map(|c| Tokens {
                lead: model.tokenize(&c.lead),
                options: c.options.iter().map(|o| model.tokenize(o)).collect(),
            })
            .collect();
        let reserve = choices
            .iter()
            .map(|c| c.lead.len() + c.options.iter().map(Vec::len).max().unwrap_or(0))
            .sum();
        let score = Score {
            choices,
            choice: 0,
            phase: Phase::BeforeLead,
            base: Vec::new(),
            mark: prompt_len,
            current: Vec::new(),
            scores: Vec::new(),
            answer,
        };
        (score, reserve)
    }

    /// The options start `tokens` later in the sequence than the prompt's
    /// end: a think block came first.
    pub(super) fn after(&mut self, tokens: usize) {
        self.mark += tokens;
    }

    /// Takes the logits asked for and says what to evaluate next.
    fn next(&mut self, rows: &[&[f32]]) -> Next {
        match self.phase {
            Phase::BeforeLead => {
                let Some(choice) = self.choices.get(self.choice) else {
                    return Next::Done;
                };
                if !choice.lead.is_empty() {
                    self.phase = Phase::AfterLead;
                    return Next::Feed {
                        rewind_to: None,
                        tokens: choice.lead.clone(),
                        all_logits: false,
                    };
                }
                self.start_options(rows)
            }
            Phase::AfterLead => {
                self.mark += self.choices[self.choice].lead.len();
                self.start_options(rows)
            }
            Phase::InOption { option } => {
                let tokens = &self.choices[self.choice].options[option];
                let lp: f64 = rows
                    .iter()
                    .zip(&tokens[1..])
                    .map(|(row, token)| log_prob(row, *token))
                    .sum();
                self.current[option] += lp;
                self.next_option(option + 1)
            }
        }
    }

    /// With the logits after the lead: every option's first token.
    fn start_options(&mut self, rows: &[&[f32]]) -> Next {
        let base = rows.last().copied().unwrap_or(&[]);
        self.base = base.to_vec();
        self.current = self.choices[self.choice]
            .options
            .iter()
            .map(|o| o.first().map_or(f64::NEG_INFINITY, |t| log_prob(base, *t)))
            .collect();
        self.next_option(0)
    }

    /// The next option longer than one token is evaluated; when none is
    /// left the likeliest option is appended.
    fn next_option(&mut self, from: usize) -> Next {
        let options = &self.choices[self.choice].options;
        if let Some(option) = (from..options.len()).find(|&i| options[i].len() > 1) {
            self.phase = Phase::InOption { option };
            let tokens = &options[option];
            return Next::Feed {
                rewind_to: Some(self.mark),
                tokens: tokens[..tokens.len() - 1].to_vec(),
                all_logits: true,
            };
        }
        let best = crate::likeliest(&self.current);
        let chosen = options.get(best).cloned().unwrap_or_default();
        self.scores.push(std::mem::take(&mut self.current));
        self.choice += 1;
        self.phase = Phase::BeforeLead;
        if self.choice >= self.choices.len() {
            return Next::Done;
        }
        if chosen.is_empty() {
            // Nothing appended: the next lead follows the same logits, once
            // the last option evaluated is cut off again.
            let keep = self.mark;
            let base = std::mem::take(&mut self.base);
            return match self.next(&[&base]) {
                Next::Feed {
                    rewind_to: None,
                    tokens,
                    all_logits,
                } => Next::Feed {
                    rewind_to: Some(keep),
                    tokens,
                    all_logits,
                },
                next => next,
            };
        }
        self.mark += chosen.len();
        Next::Feed {
            rewind_to: Some(self.mark - chosen.len()),
            tokens: chosen,
            all_logits: false,
        }
    }
}

impl Task for Score {
    fn advance(&mut self, rows: &[&[f32]], _: &LlamaModel) -> Next {
        self.next(rows)
    }

    /// Answers with the log probabilities of every option of every choice.
    fn finish(self: Box<Self>, result: Result<(), Error>, _: Stats) {
        let Score { scores, answer, .. } = *self;
        answer.send(result.map(|()| scores));
    }

    fn is_abandoned(&self) -> bool {
        self.answer.is_closed()
    }

    fn shares_passes(&self) -> bool {
        true
    }
}
