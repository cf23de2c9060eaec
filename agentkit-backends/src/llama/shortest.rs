//! Pre-flight of an answer's budget: `max_tokens` must leave room for the
//! shortest answer the output's schema allows, else every call would run out
//! (or, closed at its budget, could not even be closed).

use agentkit::backend::{closing, BackendError, Request};
use agentkit::Error;

use super::model::LoadedModel;

/// `Ok` when `request`'s `max_tokens` holds the shortest value of its
/// schema on `model` (the smallest value of every required field: `""`, `0`
/// or the minimum, `false`, `[]`, the first of an enum), else a
/// configuration error that names both sizes and the value.
pub(super) fn check_budget(model: &LoadedModel, request: &Request) -> Result<(), Error> {
    let Some(shortest) = closing("", &request.schema) else {
        return Ok(());
    };
    let needed = model.tokenize(&shortest).len();
    let max_tokens = request.sampling.max_tokens as usize;
    if needed <= max_tokens {
        return Ok(());
    }
    Err(Error::backend(
        request.agent,
        BackendError::configuration(format!(
            "max_tokens is {max_tokens}, but the shortest answer the output type allows, {shortest}, is {needed} tokens on model `{}`; raise max_tokens to at least {needed} (more for real answers), or make fields optional",
            request.model.alias
        )),
    ))
}
