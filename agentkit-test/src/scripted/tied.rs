//! Replies tied to inputs: whether a call fits one, decided on the input
//! the request carries ([`Request::input`]), decoded into the agent's input
//! type for a predicate or compared as JSON with a given input.

use std::sync::Arc;

use agentkit::backend::{BackendError, Request};
use agentkit::{Agent, Error};
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// Whether a call fits a tied reply. User code, so it runs outside the lock.
pub(super) type Fits = dyn Fn(&Request) -> Result<bool, Error> + Send + Sync;

/// A canned reply tied to the inputs `fits` accepts.
pub(super) struct TiedReply {
    pub(super) fits: Arc<Fits>,
    pub(super) text: String,
    /// Answers every call that fits, not only the first.
    pub(super) always: bool,
    /// Has answered a call (what makes a once-reply spent).
    pub(super) used: bool,
}

/// Fits the calls whose input, decoded into `A::Input`, satisfies `when`;
/// `always` says which method tied it (`always_when`, else `reply_when`), so
/// an input that does not decode points at its `_for` counterpart.
pub(super) fn predicate<A: Agent>(
    when: impl Fn(&A::Input) -> bool + Send + Sync + 'static,
    always: bool,
) -> Arc<Fits>
where
    A::Input: DeserializeOwned,
{
    Arc::new(move |request: &Request| Ok(when(&typed_input::<A>(request, always)?)))
}

/// Fits the calls given exactly `input`: compared as JSON with the input the
/// request carries.
pub(super) fn key<A: Agent>(input: &A::Input) -> Arc<Fits> {
    let expected = serde_json::to_value(input).map_err(|e| e.to_string());
    Arc::new(move |request: &Request| match &expected {
        Ok(expected) => Ok(&request.input == expected),
        Err(e) => Err(unmatched(
            A::NAME,
            request,
            format!(
                "the input given to `reply_for::<{}>` could not be serialized: {e}",
                A::NAME
            ),
        )),
    })
}

/// The input of a call of `A`, decoded from the JSON the request carries,
/// for a reply tied by `always_when` (`always`) or `reply_when`.
fn typed_input<A: Agent>(request: &Request, always: bool) -> Result<A::Input, Error>
where
    A::Input: DeserializeOwned,
{
    A::Input::deserialize(&request.input).map_err(|e| {
        let reason = if request.input.is_null() {
            format!(
                "the request carries no input (`Request::input` is null): build it with \
                 `Request::for_agent` or attach one with `Request::with_input`; {e}"
            )
        } else {
            let (when, for_) = if always {
                ("always_when", "always_for")
            } else {
                ("reply_when", "reply_for")
            };
            format!(
                "`{when}` cannot read it back as `{}`: {e}; tie the reply to the input itself \
                 with `.{for_}::<{}>(&input, json!(...))` instead",
                std::any::type_name::<A::Input>(),
                A::NAME
            )
        };
        unmatched(A::NAME, request, reason)
    })
}

/// `agent` has replies tied to inputs, and none answers `request`: `reason`
/// says why and what to add. The input is shown as compact JSON.
pub(super) fn unmatched(agent: &str, request: &Request, reason: String) -> Error {
    Error::backend(
        agent,
        BackendError::configuration(format!(
            "the scripted backend has no reply for agent `{agent}` given the input {}: {reason}",
            request.input
        )),
    )
}
