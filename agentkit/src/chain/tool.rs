//! An async Rust function as a step.

use std::future::Future;
use std::marker::PhantomData;

use super::{Step, Yields};
use crate::{Error, Runtime};

/// An async Rust function used as a step: a fetch, a lookup, a computation.
/// Built by [`tool`].
pub struct Tool<F, In, Out> {
    name: &'static str,
    f: F,
    _types: PhantomData<fn(In) -> Out>,
}

impl<F, In, Out> std::fmt::Debug for Tool<F, In, Out> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tool").field("name", &self.name).finish()
    }
}

/// Makes an async function a step named `name`; it chains like an agent.
///
/// The function's error becomes [`Error::Tool`] naming the tool.
///
/// ```
/// use agentkit::prelude::*;
/// use agentkit::tool;
///
/// let double = tool("double", |x: u32| async move { Ok::<_, std::io::Error>(x * 2) });
/// let quadruple = double.then(tool("double again", |x: u32| async move {
///     Ok::<_, std::io::Error>(x * 2)
/// }));
/// # let _ = quadruple;
/// ```
pub fn tool<F, In, Fut, Out, E>(name: &'static str, f: F) -> Tool<F, In, Out>
where
    F: Fn(In) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Out, E>> + Send,
{
    Tool {
        name,
        f,
        _types: PhantomData,
    }
}

impl<F, In, Out: Send> Yields for Tool<F, In, Out> {
    type Output = Out;
}

impl<In, F, Fut, Out, E> Step<In> for Tool<F, In, Out>
where
    In: Send,
    F: Fn(In) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Out, E>> + Send,
    Out: Send,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    async fn run(&self, _runtime: &Runtime, input: In) -> Result<Out, Error> {
        let span = tracing::info_span!("tool", tool = self.name);
        let result = tracing::Instrument::instrument((self.f)(input), span).await;
        result.map_err(|e| Error::Tool {
            tool: self.name.to_string(),
            source: e.into(),
        })
    }
}
