//! Thinking before the answer: the think block's budget and tags.

use agentkit_manifest::settings;

/// Thinking before the answer: the model first writes free text inside a
/// think block (`<think>` … `</think>`, or the tags given here), with no
/// grammar, for at most `budget` tokens; at the budget the end tag is
/// written for it. Then it answers under the output's grammar, as without
/// thinking. The think block is not part of the answer: a backend returns it
/// apart ([`Completion::reasoning`](crate::backend::Completion::reasoning)),
/// and validation, retries and voting see the answer only.
///
/// Where the chat template already opens the block at the generation prompt
/// (as reasoning models' templates do), the model starts inside it.
///
/// ```
/// use agentkit::{Reasoning, Sampling};
///
/// const THINK: Sampling = Sampling::DEFAULT.with_reasoning(Reasoning::budget(64));
/// assert_eq!(THINK.reasoning.map(|r| r.budget), Some(64));
/// assert_eq!(Reasoning::budget(64).open, "<think>");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reasoning {
    /// The most tokens the think block may take (its tags not counted).
    pub budget: u32,
    /// The tag that opens the think block.
    pub open: &'static str,
    /// The tag that closes it.
    pub close: &'static str,
}

impl Reasoning {
    /// Free thinking of at most `budget` tokens, in `<think>` tags.
    pub const fn budget(budget: u32) -> Reasoning {
        Reasoning {
            budget,
            open: "<think>",
            close: "</think>",
        }
    }

    /// In the tags `open` and `close` instead (a model whose template uses
    /// others, such as `<reasoning>`).
    pub const fn with_tags(mut self, open: &'static str, close: &'static str) -> Reasoning {
        self.open = open;
        self.close = close;
        self
    }

    /// What is wrong with these settings, if anything.
    pub fn problem(&self) -> Option<String> {
        if let Some(p) = settings::THINK_BUDGET.problem(self.budget) {
            return Some(p);
        }
        if self.open.trim().is_empty() || self.close.trim().is_empty() || self.open == self.close {
            return Some(format!(
                "the think tags must be two different non-empty texts, got `{}` and `{}`",
                self.open, self.close
            ));
        }
        None
    }
}
