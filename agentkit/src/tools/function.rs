//! Tools made at run time from closures, for tools that hold state (an
//! index, a connection), and a list of tools as a [`ToolSource`].

use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::{DynTool, ToolSource, DEFAULT_TIMEOUT};
use crate::backend::OutputSchema;
use crate::Error;

/// A tool made from an async closure `f(args) -> Result<Output, E>`:
/// what `#[tool]` makes of a function, for a tool that captures state.
/// Register it on the runtime in a list
/// (`Runtime::builder().tool_source("forum", vec![search])`) and name the
/// list in `#[agent(tool_sources = ["forum"])]`.
///
/// ```
/// use agentkit::prelude::*;
/// use agentkit::tools;
///
/// #[derive(Deserialize, JsonSchema)]
/// struct Query { words: String }
///
/// let index = std::sync::Arc::new(vec!["local models", "sourdough"]);
/// let search = tools::function("search", "Search the notes.", move |q: Query| {
///     let index = index.clone();
///     async move {
///         let hits: Vec<&str> = index.iter().copied().filter(|t| t.contains(&q.words)).collect();
///         Ok::<_, String>(hits)
///     }
/// });
/// let runtime = Runtime::builder().tool_source("notes", vec![search]).build();
/// # let _ = runtime;
/// ```
pub fn function<Args, Out, E, F, Fut>(name: &str, description: &str, f: F) -> Arc<dyn DynTool>
where
    Args: DeserializeOwned + JsonSchema + Send + 'static,
    Out: Serialize + Send + 'static,
    E: std::fmt::Display + 'static,
    F: Fn(Args) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Out, E>> + Send + 'static,
{
    function_with_timeout(name, description, DEFAULT_TIMEOUT, f)
}

/// A tool from [`function`] with its own timeout.
pub fn function_with_timeout<Args, Out, E, F, Fut>(
    name: &str,
    description: &str,
    timeout: Duration,
    f: F,
) -> Arc<dyn DynTool>
where
    Args: DeserializeOwned + JsonSchema + Send + 'static,
    Out: Serialize + Send + 'static,
    E: std::fmt::Display + 'static,
    F: Fn(Args) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Out, E>> + Send + 'static,
{
    Arc::new(Function {
        name: name.to_string(),
        description: description.to_string(),
        schema: OutputSchema::of::<Args>(),
        timeout,
        f,
        _types: PhantomData,
    })
}

struct Function<F, Args, Out> {
    name: String,
    description: String,
    schema: OutputSchema,
    timeout: Duration,
    f: F,
    _types: PhantomData<fn(Args) -> Out>,
}

#[async_trait::async_trait]
impl<Args, Out, E, F, Fut> DynTool for Function<F, Args, Out>
where
    Args: DeserializeOwned + JsonSchema + Send + 'static,
    Out: Serialize + Send + 'static,
    E: std::fmt::Display + 'static,
    F: Fn(Args) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Out, E>> + Send + 'static,
{
    fn name(&self) -> &str {
        &self.name
    }
    fn description(&self) -> &str {
        &self.description
    }
    fn schema(&self) -> &OutputSchema {
        &self.schema
    }
    fn timeout(&self) -> Duration {
        self.timeout
    }
    async fn call(&self, args: Value) -> Result<Value, String> {
        let args: Args = serde_json::from_value(args)
            .map_err(|e| format!("the arguments do not fit `{}`: {e}", self.name))?;
        let output = (self.f)(args).await.map_err(|e| e.to_string())?;
        serde_json::to_value(output).map_err(|e| {
            format!(
                "the result of `{}` could not be written as JSON: {e}",
                self.name
            )
        })
    }
}

/// A fixed list of tools is a source of them.
#[async_trait::async_trait]
impl ToolSource for Vec<Arc<dyn DynTool>> {
    async fn tools(&self) -> Result<Vec<Arc<dyn DynTool>>, Error> {
        Ok(self.clone())
    }
}
