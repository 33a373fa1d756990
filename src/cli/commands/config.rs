//! `vane config`: the configuration vane uses here, and checking `vane.toml`.

use console::Style;
use serde_json::Value;

use crate::cli::{render, CommandEnv};
use crate::config::{Config, ConfigError, Loaded};
use crate::error::{config_problems, preflight_problems, CliError};
use crate::git::RepoLocation;
use crate::orchestrator::preflight::{self, would_fail, PreflightProblem};
use crate::workspace::{Workspace, WorkspaceError};

/// Show the effective configuration, or check vane.toml
#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    Show(ShowArgs),
    Check(CheckArgs),
}

/// Show every key of the configuration with its value and where the value came from
///
/// Lists each key of vane.toml with the value vane uses: the file's, or the default. The built-in
/// agent profiles are listed too, with the keys of their `[agents.NAME]` tables applied, as are
/// the profiles vane.toml defines, and every `[[gate]]` in the order of the file with the defaults
/// of its kind filled in. Keys are dotted: `workers`, `agents.claude.timeout`,
/// `gate.tests.command`. The source is `default`, or `vane.toml:LINE` for a value the file sets.
///
/// With `--json`, one object keyed by the dotted key, in the same order; each value is
/// `{"value": ..., "source": "default" | "vane.toml", "line": N | null}`, with a value of null for
/// a key that is not set and has no default (`base_branch`, `setup`, ...).
///
/// Works before `vane init`. A vane.toml with problems is refused with all of them, as
/// `vane config check` lists them.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  vane config show                          every key, its value and its source
  vane config show --json | jq '.workers'   one key as JSON
  vane config show | grep '^gate\\.'         the gates as vane runs them")]
pub struct ShowArgs {}

/// Check vane.toml and report every problem, each with its line
///
/// Reads vane.toml at the repository root and reports every problem at once: unknown keys (with
/// the nearest known key: `did you mean "timeout"?`), values of the wrong type (`expected an
/// integer, found a string`), values out of range, and keys that need one another. Every other
/// command refuses a vane.toml with problems with the same messages.
///
/// Once the file is fine, it checks what `vane work` checks before it starts: that every agent
/// profile it may start (`default_agent`, `escalate_to`, critic gates' `agent`, and the tasks'
/// own) exists, that its command line can be built (no unknown placeholder), and that its program
/// is installed; and that the program each command gate runs first is installed, or is in the
/// repository.
///
/// Exits 0 when all is fine (or there is no file: every key then has its default) and 1 when
/// there are problems. With `--json`: `{"path", "exists", "ok", "problems": [{"line", "key",
/// "message"}], "preflight": [{"subject", "message", "key", "line", "fix"}], "keys", "agents",
/// "gates"}`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  vane config check           say whether vane.toml is fine, or list its problems
  vane config check --json    the same as JSON, for an editor or CI")]
pub struct CheckArgs {}

pub fn run(env: &CommandEnv<'_>, command: ConfigCommand) -> Result<(), CliError> {
    let location = RepoLocation::discover(&env.cwd)?;
    let loaded = Config::load_checked(&location.workdir)?;
    match command {
        ConfigCommand::Show(_) => show(env, loaded),
        ConfigCommand::Check(_) => check(env, &location, loaded),
    }
}

fn show(env: &CommandEnv<'_>, loaded: Loaded) -> Result<(), CliError> {
    let Some(config) = &loaded.checked.config else {
        return Err(config_problems(&ConfigError::Invalid {
            path: loaded.path.clone(),
            problems: loaded.checked.problems.clone(),
        })
        .with_hint("`vane config check` lists them; fix them and run this again"));
    };
    let effective = config.effective(&loaded.checked.sources);
    if env.ui.json() {
        env.ui.json_value(&effective)?;
        return Ok(());
    }
    let mut rows = vec![vec![
        "KEY".to_string(),
        "SOURCE".to_string(),
        "VALUE".to_string(),
    ]];
    for setting in &effective.settings {
        let source = match setting.line {
            Some(line) => format!("vane.toml:{line}"),
            None => setting.source.to_string(),
        };
        let value = match (&setting.value, setting.unset) {
            (Value::Null, Some(meaning)) => format!("(not set: {meaning})"),
            (Value::Null, None) => "(not set)".to_string(),
            (value, _) => toml_text(value),
        };
        let source = if setting.line.is_some() {
            env.ui.paint(Style::new().cyan(), &source)
        } else {
            source
        };
        rows.push(vec![setting.key.clone(), source, value]);
    }
    env.ui.data(&render::table(&rows))?;
    if !loaded.exists {
        env.ui.status(&format!(
            "No {} yet: every key has its default; `vane init` writes a commented one.",
            loaded.path.display()
        ));
    }
    Ok(())
}

/// A value as it would be written in vane.toml.
fn toml_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => Value::String(s.clone()).to_string(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(toml_text).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) if map.is_empty() => "{}".to_string(),
        Value::Object(map) => format!(
            "{{ {} }}",
            map.iter()
                .map(|(k, v)| format!("{k} = {}", toml_text(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[derive(serde::Serialize)]
struct CheckReport<'a> {
    path: &'a std::path::Path,
    exists: bool,
    ok: bool,
    problems: &'a [crate::config::Problem],
    /// What would fail every attempt of `vane work` once the file is fine: agent profiles that
    /// cannot start, gates whose program is missing (`orchestrator::preflight`).
    preflight: &'a [PreflightProblem],
    /// Top-level keys the file sets, `[agents.*]`, `[[gate]]` and `[[route]]` tables apart.
    keys: usize,
    agents: usize,
    gates: usize,
    routes: usize,
}

fn check(env: &CommandEnv<'_>, location: &RepoLocation, loaded: Loaded) -> Result<(), CliError> {
    let checked = &loaded.checked;
    // The profiles of the tasks count too, once vane is set up here.
    let preflight = match &checked.config {
        Some(config) => {
            let workspace = match Workspace::open(&env.cwd) {
                Ok(workspace) => Some(workspace),
                Err(WorkspaceError::NotInitialised { .. }) => None,
                Err(e) => return Err(e.into()),
            };
            preflight::check_repository(location, config, workspace.as_ref().map(|w| &w.store))?
        }
        None => Vec::new(),
    };
    let (keys, agents, gates, routes) = match &checked.config {
        Some(config) => {
            let effective = config.effective(&checked.sources);
            let keys = effective
                .settings
                .iter()
                .filter(|s| s.line.is_some() && !s.key.contains('.'))
                .count();
            (
                keys,
                config.agents.len(),
                config.gates.len(),
                config.routes.len(),
            )
        }
        None => (0, 0, 0, 0),
    };
    if env.ui.json() {
        env.ui.json_value(&CheckReport {
            path: &loaded.path,
            exists: loaded.exists,
            ok: checked.problems.is_empty() && preflight.is_empty(),
            problems: &checked.problems,
            preflight: &preflight,
            keys,
            agents,
            gates,
            routes,
        })?;
    }
    if !checked.problems.is_empty() {
        let err = config_problems(&ConfigError::Invalid {
            path: loaded.path.clone(),
            problems: checked.problems.clone(),
        });
        return Err(err.with_hint(
            "`vane init`'s template and the README's configuration section describe every key",
        ));
    }
    if !preflight.is_empty() {
        return Err(preflight_problems(
            format!(
                "{} parses, but {} of `vane work`",
                crate::config::FILE_NAME,
                would_fail(preflight.len())
            ),
            &preflight,
        )
        .with_hint("`vane work` refuses to start until they are fixed"));
    }
    if env.ui.json() {
        return Ok(());
    }
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let text = if loaded.exists {
        let mut text = format!(
            "{} is fine: {}, {}, {}",
            crate::config::FILE_NAME,
            plural(keys, "key set", "keys set"),
            plural(agents, "agent profile", "agent profiles"),
            plural(gates, "gate", "gates"),
        );
        if routes > 0 {
            text.push_str(&format!(", {}", plural(routes, "route", "routes")));
        }
        text
    } else {
        format!(
            "There is no {}, which is fine: every key has its default.",
            loaded.path.display()
        )
    };
    env.ui.data(&text)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_read_as_toml() {
        assert_eq!(toml_text(&json!("a \"b\"")), r#""a \"b\"""#);
        assert_eq!(toml_text(&json!(["a", 1])), r#"["a", 1]"#);
        assert_eq!(toml_text(&json!({"A": "b"})), r#"{ A = "b" }"#);
        assert_eq!(toml_text(&json!({})), "{}");
        assert_eq!(toml_text(&json!(0.85)), "0.85");
        assert_eq!(toml_text(&json!(true)), "true");
    }
}
