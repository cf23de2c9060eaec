use agentkit::prelude::*;

/// Decide whether a forum thread is about running language models locally.
#[agent]
struct Score;

fn main() {}
