//! `vane mcp`: serve vane's tools over MCP on stdio, and `vane mcp config`: what to tell a client
//! so that it starts that server.

use std::path::Path;

use serde_json::json;

use crate::cli::CommandEnv;
use crate::error::{CliError, ErrorKind};
use crate::git::RepoLocation;

/// Serve vane's tools over the Model Context Protocol (stdio), for an agent that coordinates
///
/// `vane mcp` speaks newline-delimited JSON-RPC on stdin and stdout, and prints nothing else
/// there; what it logs goes to stderr. An MCP client such as Claude Code starts it and calls its
/// tools: the task graph's state and changes, through the same store as the command line.
/// `vane mcp config` prints what to add to a client's configuration.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  claude mcp add vane -- vane mcp             let Claude Code use vane's tools
  vane mcp config --client codex >> ~/.codex/config.toml
  vane mcp                                    serve on stdin and stdout (a client starts this)")]
pub struct Args {
    #[command(subcommand)]
    command: Option<McpCommand>,
}

#[derive(Debug, clap::Subcommand)]
enum McpCommand {
    Config(ConfigArgs),
}

/// Print what to add to an MCP client's configuration to start this vane's server
///
/// Every form names this vane by its absolute path, so the client starts the same binary
/// whatever its PATH holds.
///
/// `claude` (the default): the `claude mcp add` command line to run in the repository. Its
/// default scope is the project, and Claude Code starts the server where it runs, so it serves
/// the repository Claude Code works in.
///
/// `json`: a file for `claude --mcp-config FILE` (or any client that reads `mcpServers`). These
/// files have no working-directory key (Claude Code drops one), so inside a repository the
/// arguments pin it with `-C <root>`.
///
/// `codex`: the `[mcp_servers.vane]` table for `~/.codex/config.toml`. That file holds every
/// project's servers, so inside a repository `cwd` ties the entry to this one; leave `cwd` out to
/// serve whichever repository Codex runs in.
///
/// With `--json`: `{"client", "name", "command", "args", "cwd", "config"}`, where `config` is the
/// text printed without it and `cwd` is null when the client is not told one.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  vane mcp config                                   the `claude mcp add` line
  eval \"$(vane mcp config)\"                         ... and run it
  vane mcp config --client json > vane-mcp.json && claude --mcp-config vane-mcp.json
  vane mcp config --client codex >> ~/.codex/config.toml")]
pub struct ConfigArgs {
    /// The client to configure
    #[arg(long, value_enum, default_value = "claude", value_name = "CLIENT")]
    client: Client,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Client {
    /// The `claude mcp add` command line
    Claude,
    /// The `[mcp_servers.vane]` table of Codex's config.toml
    Codex,
    /// The `mcpServers` file that `claude --mcp-config` reads
    Json,
}

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    match args.command {
        None => {
            // Refused here, before the client's first message, when the repository is not set up.
            env.workspace()?;
            crate::mcp::serve(&env.cwd)?;
            Ok(())
        }
        Some(McpCommand::Config(args)) => config(env, args),
    }
}

/// The name the server is registered under in every client.
const NAME: &str = "vane";

fn config(env: &CommandEnv<'_>, args: ConfigArgs) -> Result<(), CliError> {
    let vane = std::env::current_exe()?;
    let vane = utf8(&vane)?.to_string();
    // Outside a repository there is nothing to pin: the client's own directory decides.
    let root = match RepoLocation::discover(&env.cwd) {
        Ok(location) => Some(utf8(&location.workdir)?.to_string()),
        Err(_) => None,
    };
    let (server_args, cwd): (Vec<String>, Option<String>) = match (args.client, &root) {
        (Client::Json, Some(root)) => (vec!["-C".into(), root.clone(), "mcp".into()], None),
        (Client::Codex, Some(root)) => (vec!["mcp".into()], Some(root.clone())),
        _ => (vec!["mcp".into()], None),
    };
    let text = match args.client {
        Client::Claude => {
            let words: Vec<String> = ["claude", "mcp", "add", NAME, "--", &vane]
                .into_iter()
                .chain(server_args.iter().map(String::as_str))
                .map(crate::ui::shell_word)
                .collect();
            words.join(" ")
        }
        Client::Json => {
            let body = json!({"mcpServers": {NAME: {
                "type": "stdio", "command": vane, "args": server_args,
            }}});
            // `{:#}` is serde_json's pretty printing, which cannot fail on a `Value`.
            format!("{body:#}")
        }
        Client::Codex => {
            let args: Vec<String> = server_args.iter().map(|a| toml_string(a)).collect();
            let mut table = format!(
                "[mcp_servers.{NAME}]\ncommand = {}\nargs = [{}]\n",
                toml_string(&vane),
                args.join(", ")
            );
            if let Some(cwd) = &cwd {
                table.push_str(&format!("cwd = {}\n", toml_string(cwd)));
            }
            // `codex exec` calls no MCP tool that is not approved, and asks no one.
            table.push_str(
                "# vane's tools check every path and confine every command; without this,\n\
                 # `codex exec` refuses to call them (it has no one to ask):\n\
                 # default_tools_approval_mode = \"approve\"\n",
            );
            table
        }
    };
    if env.ui.json() {
        env.ui.json_value(&json!({
            "client": match args.client {
                Client::Claude => "claude",
                Client::Codex => "codex",
                Client::Json => "json",
            },
            "name": NAME,
            "command": vane,
            "args": server_args,
            "cwd": cwd,
            "config": text,
        }))?;
        return Ok(());
    }
    env.ui.data_verbatim(&text)?;
    match (args.client, &root) {
        (Client::Claude, _) => env.ui.status(
            "Run it in the repository: Claude Code starts the server where it runs, and it serves \
             that repository.",
        ),
        (_, None) => env.ui.status(
            "Not in a git repository, so nothing pins the server to one: it serves the \
             repository the client runs in.",
        ),
        (Client::Codex, Some(root)) => env.ui.status(&format!(
            "Add it to ~/.codex/config.toml; `cwd` ties it to {root}."
        )),
        (Client::Json, Some(root)) => env.ui.status(&format!(
            "Give it to `claude --mcp-config FILE`; `-C` ties it to {root}."
        )),
    }
    Ok(())
}

fn utf8(path: &Path) -> Result<&str, CliError> {
    path.to_str().ok_or_else(|| {
        CliError::new(
            ErrorKind::Refused,
            format!(
                "{} is not valid UTF-8, which no client's configuration can hold",
                path.display()
            ),
        )
    })
}

/// `text` as a TOML basic string.
fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_strings_escape_quotes_backslashes_and_control_characters() {
        for (text, toml) in [
            ("/usr/bin/vane", r#""/usr/bin/vane""#),
            (r#"C:\a "b""#, r#""C:\\a \"b\"""#),
            ("a\nb\u{7f}", r#""a\nb\u007F""#),
        ] {
            assert_eq!(toml_string(text), toml, "{text:?}");
            let parsed: toml::Value = toml::from_str(&format!("key = {toml}")).unwrap();
            assert_eq!(parsed["key"].as_str(), Some(text));
        }
    }
}
