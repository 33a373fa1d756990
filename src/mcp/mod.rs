//! `vane mcp`: a Model Context Protocol server over stdio, so that an agent such as Claude Code can
//! coordinate vane: read the graph, add tasks, plan, start work and follow it. Every tool goes
//! through the same store and orchestrator functions as the command line, one call at a time, each
//! with its own connection to the database (the same locks and transactions as the CLI).
//!
//! Newline-delimited JSON-RPC on stdout and nothing else: logs go to stderr. The protocol is
//! rmcp's; tokio runs only here.

mod args;
mod files;
mod state;
mod tools;
mod wire;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock as Content,
    Implementation, InitializeResult, ListToolsResult, PaginatedRequestParams, ServerCapabilities,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, ServiceExt};

pub use args::{Failure, Spec};

/// Every tool, in the order `tools/list` shows them.
pub fn tools() -> impl Iterator<Item = &'static Spec> {
    tools::TOOLS.iter().chain(state::TOOLS).chain(files::TOOLS)
}

/// The server: where the repository is, and nothing else; each call opens what it needs.
#[derive(Debug, Clone)]
pub struct VaneServer {
    dir: Arc<PathBuf>,
}

impl VaneServer {
    pub fn new(dir: &Path) -> VaneServer {
        VaneServer {
            dir: Arc::new(dir.to_path_buf()),
        }
    }
}

impl ServerHandler for VaneServer {
    fn get_info(&self) -> InitializeResult {
        InitializeResult::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("vane", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "vane runs coding work through agents in parallel git worktrees and lands only \
                 what passes its gates. `status` and `task_list` show the graph; `task_add` adds \
                 to it.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(
            tools().map(Spec::describe).collect(),
        ))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let Some(spec) = tools().find(|t| t.name == request.name) else {
            return Err(McpError::invalid_params(
                format!("no tool `{}`; `tools/list` lists them", request.name),
                None,
            ));
        };
        let arguments = serde_json::Value::Object(request.arguments.unwrap_or_default());
        let dir = Arc::clone(&self.dir);
        let call = spec.call;
        // The store and git are synchronous: each call runs on a thread of its own.
        let outcome = tokio::task::spawn_blocking(move || call(&dir, &arguments))
            .await
            .map_err(|e| McpError::internal_error(format!("the tool stopped: {e}"), None))?;
        Ok(match outcome {
            Ok(value) => {
                let text = serde_json::to_string_pretty(&value).unwrap_or_default();
                let mut result = CallToolResult::success(vec![Content::text(text)]);
                result.structured_content = Some(value);
                result.into()
            }
            Err(Failure::Arguments(message)) => {
                return Err(McpError::invalid_params(message, None));
            }
            Err(Failure::Tool(message)) => {
                CallToolResult::error(vec![Content::text(message)]).into()
            }
        })
    }
}

/// Serves MCP on stdin and stdout until the client closes them.
pub fn serve(dir: &Path) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        // rmcp serves one end of a pipe; the wire (`wire::run`) stands between it and stdio.
        let (client, server) = tokio::io::duplex(1024 * 1024);
        let wire = tokio::spawn(wire::run(client));
        let running = VaneServer::new(dir)
            .serve(server)
            .await
            .map_err(std::io::Error::other)?;
        running.waiting().await.map_err(std::io::Error::other)?;
        wire.await.map_err(std::io::Error::other)?
    })
}
