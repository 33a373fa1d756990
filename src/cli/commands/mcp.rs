use crate::cli::CommandEnv;
use crate::error::CliError;

/// Serve vane's tools over the Model Context Protocol (stdio), for an agent that coordinates
///
/// `vane mcp` speaks newline-delimited JSON-RPC on stdin and stdout, and prints nothing else
/// there; what it logs goes to stderr. An MCP client such as Claude Code starts it and calls its
/// tools: the task graph's state and changes, through the same store as the command line.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  claude mcp add vane -- vane mcp             let Claude Code use vane's tools
  vane mcp                                    serve on stdin and stdout (a client starts this)")]
pub struct Args {}

pub fn run(env: &CommandEnv<'_>, _args: Args) -> Result<(), CliError> {
    // Refused here, before the client's first message, when the repository is not set up.
    env.workspace()?;
    crate::mcp::serve(&env.cwd)?;
    Ok(())
}
