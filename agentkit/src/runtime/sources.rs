//! The runtime's tool sources (MCP servers, say): registered by name, listed
//! once, shared by every agent that names them.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::lock::Mutex;

use super::Runtime;
use crate::tools::{DynTool, ToolSource};
use crate::Error;

/// One registered source and its tools once listed.
pub(super) struct Source {
    source: Arc<dyn ToolSource>,
    listed: Mutex<Option<Vec<Arc<dyn DynTool>>>>,
}

/// Sources by name.
pub(super) type Sources = BTreeMap<String, Arc<Source>>;

impl Source {
    pub(super) fn new(source: Arc<dyn ToolSource>) -> Arc<Source> {
        Arc::new(Source {
            source,
            listed: Mutex::new(None),
        })
    }
}

impl Runtime {
    /// The tools of the source registered as `name`, listed on the first
    /// call (concurrent first calls wait for one listing; a failed listing
    /// is not kept, so the next call tries again).
    pub(crate) async fn source_tools(
        &self,
        agent: &str,
        name: &str,
    ) -> Result<Vec<Arc<dyn DynTool>>, Error> {
        let Some(source) = self.sources.get(name) else {
            let known = self.sources.keys().cloned().collect::<Vec<_>>().join(", ");
            return Err(Error::Tools {
                agent: agent.to_string(),
                problem: format!(
                    "it names the tool source `{name}`, which is not registered (registered: {}); register it with `Runtime::builder().tool_source(\"{name}\", source)` or fix the name",
                    if known.is_empty() { "none" } else { known.as_str() }
                ),
            });
        };
        let mut listed = source.listed.lock().await;
        if let Some(tools) = listed.as_ref() {
            return Ok(tools.clone());
        }
        let tools = source.source.tools().await?;
        *listed = Some(tools.clone());
        Ok(tools)
    }
}
