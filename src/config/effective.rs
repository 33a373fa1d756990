//! The effective configuration, for `vane config show`: every key with the value vane uses and
//! where that value came from, the defaults and the built-in agent profiles included.

use serde::ser::SerializeMap;
use serde::Serialize;
use serde_json::{json, Value};

use super::check::{names, Table};
use super::{Config, ExecutorConfig, GateConfig, ScoreMode, Sources, LOCAL_EXECUTOR};
use crate::agent::Profile;

/// One key's effective value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Setting {
    /// Dotted: `workers`, `agents.claude.timeout`, `gate.tests.command`, `route[1].agent`,
    /// `extend.every`.
    #[serde(skip)]
    pub key: String,
    /// JSON null for a key that is not set and has no default value.
    pub value: Value,
    /// `default`, or `vane.toml` when the file sets it.
    pub source: &'static str,
    /// The line of `vane.toml` that sets it.
    pub line: Option<usize>,
    /// What a null value means, for people.
    #[serde(skip)]
    pub unset: Option<&'static str>,
}

/// Every key in the order of the default file, then each agent profile (the built-in ones first),
/// then each gate and each route in the order of the file, then `[extend]`. Serialises as one JSON
/// object keyed by `Setting::key`, in that order.
#[derive(Debug, Clone, PartialEq)]
pub struct Effective {
    pub settings: Vec<Setting>,
}

impl Serialize for Effective {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.settings.len()))?;
        for setting in &self.settings {
            map.serialize_entry(&setting.key, setting)?;
        }
        map.end()
    }
}

fn setting(key: String, value: Value, line: Option<usize>) -> Setting {
    Setting {
        key,
        value,
        source: if line.is_some() {
            "vane.toml"
        } else {
            "default"
        },
        line,
        unset: None,
    }
}

pub(super) fn effective(config: &Config, sources: &Sources) -> Effective {
    let mut settings = Vec::new();
    for key in names(Table::Top) {
        let (value, unset) = match key {
            "base_branch" => (
                json!(config.base_branch),
                "the branch checked out when `vane work` starts",
            ),
            "workers" => (json!(config.workers), ""),
            "pause_timeout" => (
                json!(config.pause_timeout),
                "merging waits as long as it takes",
            ),
            "default_agent" => (json!(config.default_agent), ""),
            "max_attempts" => (json!(config.max_attempts), ""),
            "worktree_root" => (
                json!(config.worktree_root),
                "under your data directory, one folder per repository",
            ),
            "include" => (json!(config.include), ""),
            "setup" => (json!(config.setup), "no command runs in a new worktree"),
            "protected" => (
                json!(config.protected),
                "vane.toml and the repository files gate commands start",
            ),
            "log_limit" => (json!(config.log_limit), ""),
            "confine" => (json!(config.confine), ""),
            "threshold" => (json!(config.threshold), ""),
            "escalate_after" => (json!(config.escalate_after), "no escalation"),
            "escalate_to" => (json!(config.escalate_to), "no escalation"),
            "planner" => (json!(config.planner()), ""),
            "land_to" => (json!(config.land_to), "landings stay in this repository"),
            "pr_command" => (json!(config.pr_command), "no pull requests"),
            // Listed key by key below.
            _ => continue,
        };
        let mut s = setting(key.to_string(), value, sources.top(key));
        s.unset = (!unset.is_empty()).then_some(unset);
        settings.push(s);
    }

    let mut profiles: Vec<&str> = Profile::BUILTIN.to_vec();
    profiles.extend(
        config
            .agents
            .keys()
            .map(String::as_str)
            .filter(|name| !Profile::BUILTIN.contains(name)),
    );
    for name in profiles {
        let Some(profile) = config.profile(name) else {
            continue;
        };
        let argv: Vec<&str> = std::iter::once(profile.program.as_str())
            .chain(profile.args.iter().map(String::as_str))
            .collect();
        for (key, value) in [
            ("command", json!(argv)),
            ("env", json!(profile.env)),
            ("timeout", json!(profile.timeout.as_secs())),
            ("parser", json!(profile.parser.as_str())),
            ("writable", json!(profile.writable)),
            ("model", json!(profile.model)),
        ] {
            settings.push(setting(
                format!("agents.{name}.{key}"),
                value,
                sources.agent(name, key),
            ));
        }
    }

    for (index, gate) in config.gates.iter().enumerate() {
        for key in names(Table::Gate) {
            let (value, unset) = gate_value(gate, key);
            let mut s = setting(
                format!("gate.{}.{key}", gate.name),
                value,
                sources.gate(index, Some(key)),
            );
            s.unset = unset;
            settings.push(s);
        }
    }

    for (index, route) in config.routes.iter().enumerate() {
        let kinds: Vec<&str> = route.kinds.iter().map(|k| k.as_str()).collect();
        for key in names(Table::Route) {
            let (value, unset) = match key {
                "type" => (json!((!kinds.is_empty()).then_some(&kinds)), "any type"),
                "complexity" => (
                    json!(route.complexity.map(|c| c.written())),
                    "any complexity, or none",
                ),
                "paths" => (
                    json!((!route.paths.is_empty()).then_some(&route.paths)),
                    "any paths, or none",
                ),
                "executor" => (
                    json!(route.executor),
                    "where the batch runs (`vane work --executor`, else this machine)",
                ),
                _ => (json!(route.agent), ""),
            };
            let mut s = setting(
                format!("route[{}].{key}", index + 1),
                value,
                sources.route(index, Some(key)),
            );
            s.unset = (!unset.is_empty()).then_some(unset);
            settings.push(s);
        }
    }

    match &config.extend {
        None => {
            let mut s = setting("extend".to_string(), Value::Null, None);
            s.unset = Some("the roadmap is not extended");
            settings.push(s);
        }
        Some(extend) => {
            for key in names(Table::Extend) {
                let value = match key {
                    "every" => json!(extend.every),
                    "pending_below" => json!(extend.pending_below),
                    "done_above" => json!(extend.done_above),
                    "max_new_tasks" => json!(extend.max_new_tasks),
                    "max_total" => json!(extend.max_total),
                    // The profile asked: its own, else the planner.
                    _ => json!(config.extend_agent()),
                };
                // The agent's value may come from `planner`'s line.
                let line = match key {
                    "agent" if extend.agent.is_none() => sources.top("planner"),
                    _ => sources.extend(Some(key)),
                };
                settings.push(setting(format!("extend.{key}"), value, line));
            }
        }
    }
    for key in names(Table::Budget) {
        let value = match key {
            "batch_usd" => config.budget.batch_usd,
            _ => config.budget.task_usd,
        };
        let mut s = setting(
            format!("budget.{key}"),
            json!(value),
            sources.top(&format!("budget.{key}")),
        );
        s.unset = value.is_none().then_some("no limit");
        settings.push(s);
    }
    for (model, price) in config.price_table().entries() {
        settings.push(setting(
            format!("prices.{model}"),
            json!(price),
            sources.top(&format!("prices.{model}")),
        ));
    }
    // The built-in `local` first, as with the agent profiles.
    let mut executors: Vec<&str> = vec![LOCAL_EXECUTOR];
    executors.extend(
        config
            .executors
            .keys()
            .map(String::as_str)
            .filter(|name| *name != LOCAL_EXECUTOR),
    );
    for name in executors {
        let Some(executor) = config.executor(name) else {
            continue;
        };
        for key in names(Table::Executor) {
            let (value, unset) = executor_value(&executor, key);
            let mut s = setting(
                format!("executor.{name}.{key}"),
                value,
                sources.executor(name, Some(key)),
            );
            s.unset = unset;
            settings.push(s);
        }
    }
    Effective { settings }
}

/// An executor's key as vane uses it, with what a key left out means.
fn executor_value(executor: &ExecutorConfig, key: &str) -> (Value, Option<&'static str>) {
    match key {
        "start" => (
            json!(executor.start),
            Some("`vane worker` runs as a process here"),
        ),
        "cancel" => (
            json!(executor.cancel),
            Some(match executor.start {
                None => "the worker's process is stopped",
                Some(_) => "no command stops a job",
            }),
        ),
        "max_jobs" => (json!(executor.max_jobs), None),
        "time_limit" => (json!(executor.time_limit), None),
        "remote" => (json!(executor.remote), Some("this repository")),
        "vane" => (json!(executor.vane), Some("this vane's own executable")),
        // Every key of `EXECUTOR_KEYS` has its arm above.
        _ => (Value::Null, None),
    }
}

/// A gate's key as vane uses it: the defaults that depend on the kind of gate filled in.
fn gate_value(gate: &GateConfig, key: &str) -> (Value, Option<&'static str>) {
    match key {
        "name" => (json!(gate.name), None),
        "dimension" => (json!(gate.dimension), None),
        "command" => (json!(gate.command), Some("the gate runs an agent")),
        "agent" => (json!(gate.agent), Some("the gate runs a command")),
        "weight" => (json!(gate.weight), None),
        "required" => (json!(gate.is_required()), None),
        "timeout" => (json!(Config::gate_timeout(gate).as_secs()), None),
        "score" => match (&gate.agent, gate.score.unwrap_or_default()) {
            (Some(_), _) => (Value::Null, Some("an agent answers with a verdict")),
            (None, ScoreMode::Exit) => (json!("exit"), None),
            (None, ScoreMode::Json) => (json!("json"), None),
        },
        "parallel" => (json!(gate.parallel), None),
        // Every key of `GATE_KEYS` has its arm above; the test of `vane config show` lists them.
        _ => (Value::Null, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<'a>(effective: &'a Effective, key: &str) -> &'a Setting {
        effective
            .settings
            .iter()
            .find(|s| s.key == key)
            .unwrap_or_else(|| panic!("no {key}"))
    }

    #[test]
    fn every_key_with_its_source() {
        let text = "\
workers = 2
setup = \"make deps\"

[agents.claude]
timeout = 60

[agents.mine]
command = [\"mine\", \"{prompt_file}\"]

[[gate]]
name = \"tests\"
command = \"cargo test\"

[[gate]]
name = \"review\"
agent = \"claude\"
";
        let checked = Config::check(text);
        let config = checked.config.expect("a fine file");
        let effective = config.effective(&checked.sources);
        let workers = find(&effective, "workers");
        assert_eq!(
            (&workers.value, workers.source, workers.line),
            (&json!(2), "vane.toml", Some(1))
        );
        let agent = find(&effective, "default_agent");
        assert_eq!(
            (&agent.value, agent.source, agent.line),
            (&json!("shell"), "default", None)
        );
        assert_eq!(find(&effective, "base_branch").value, Value::Null);
        assert_eq!(find(&effective, "setup").line, Some(2));
        assert_eq!(find(&effective, "agents.claude.timeout").line, Some(5));
        assert_eq!(find(&effective, "agents.claude.timeout").value, json!(60));
        assert_eq!(
            find(&effective, "agents.claude.parser").value,
            json!("claude")
        );
        assert_eq!(find(&effective, "agents.claude.parser").source, "default");
        assert_eq!(find(&effective, "agents.mine.timeout").value, json!(1800));
        assert_eq!(find(&effective, "agents.mine.command").line, Some(8));
        assert_eq!(find(&effective, "gate.tests.required").value, json!(true));
        assert_eq!(find(&effective, "gate.tests.timeout").value, json!(600));
        assert_eq!(find(&effective, "gate.tests.command").line, Some(12));
        assert_eq!(find(&effective, "gate.review.required").value, json!(false));
        assert_eq!(find(&effective, "gate.review.score").value, Value::Null);

        // As JSON: one object in the order above.
        let text = serde_json::to_string(&effective).expect("serialises");
        let parsed: serde_json::Map<String, Value> =
            serde_json::from_str(&text).expect("an object");
        assert_eq!(parsed.len(), effective.settings.len());
        assert!(text
            .starts_with("{\"base_branch\":{\"value\":null,\"source\":\"default\",\"line\":null}"));
        assert!(text.find("\"gate.tests.name\"") < text.find("\"gate.review.name\""));
        // No [extend]: off.
        assert_eq!(find(&effective, "extend").value, Value::Null);
        assert_eq!(find(&effective, "planner").value, json!("claude"));
    }

    #[test]
    fn routes_and_the_extension_are_listed_with_their_lines() {
        let text = "\
planner = \"codex\"

[[route]]
type = \"bug\"
complexity = \"<=3\"
agent = \"codex\"

[[route]]
paths = [\"docs/**\"]
agent = \"aider\"

[extend]
every = 3
";
        let checked = Config::check(text);
        let config = checked.config.expect("a fine file");
        let effective = config.effective(&checked.sources);
        let value = |key: &str| find(&effective, key).value.clone();
        assert_eq!(value("planner"), json!("codex"));
        assert_eq!(find(&effective, "planner").line, Some(1));
        assert_eq!(value("route[1].type"), json!(["bug"]));
        assert_eq!(value("route[1].complexity"), json!("<=3"));
        assert_eq!(find(&effective, "route[1].complexity").line, Some(5));
        assert_eq!(value("route[1].paths"), Value::Null);
        assert_eq!(value("route[1].agent"), json!("codex"));
        assert_eq!(value("route[2].type"), Value::Null);
        assert_eq!(find(&effective, "route[2].type").unset, Some("any type"));
        assert_eq!(value("route[2].paths"), json!(["docs/**"]));
        assert_eq!(find(&effective, "route[2].agent").line, Some(10));
        assert_eq!(value("extend.every"), json!(3));
        assert_eq!(find(&effective, "extend.every").line, Some(13));
        assert_eq!(value("extend.done_above"), json!(0.75));
        assert_eq!(find(&effective, "extend.done_above").source, "default");
        assert_eq!(value("extend.max_total"), json!(30));
        // No `agent` of its own: the planner's, from its line.
        assert_eq!(value("extend.agent"), json!("codex"));
        assert_eq!(find(&effective, "extend.agent").line, Some(1));
        assert!(effective.settings.iter().all(|s| s.key != "extend"));
    }

    #[test]
    fn executors_and_landing_elsewhere_are_listed_with_their_lines() {
        let text = "\
land_to = \"origin\"

[executor.cluster]
start = \"sbatch --wrap {worker}\"
max_jobs = 32

[[route]]
agent = \"shell\"
executor = \"cluster\"
";
        let checked = Config::check(text);
        let config = checked.config.expect("a fine file");
        let effective = config.effective(&checked.sources);
        let value = |key: &str| find(&effective, key).value.clone();
        assert_eq!(value("land_to"), json!("origin"));
        assert_eq!(find(&effective, "land_to").line, Some(1));
        assert_eq!(value("pr_command"), Value::Null);
        assert_eq!(
            find(&effective, "pr_command").unset,
            Some("no pull requests")
        );
        assert_eq!(value("route[1].executor"), json!("cluster"));
        assert_eq!(find(&effective, "route[1].executor").line, Some(9));
        // The built-in `local`, with its defaults, then those vane.toml defines.
        assert_eq!(value("executor.local.max_jobs"), json!(8));
        assert_eq!(value("executor.local.start"), Value::Null);
        assert_eq!(
            find(&effective, "executor.local.time_limit").source,
            "default"
        );
        assert_eq!(
            value("executor.cluster.start"),
            json!("sbatch --wrap {worker}")
        );
        assert_eq!(find(&effective, "executor.cluster.start").line, Some(4));
        assert_eq!(value("executor.cluster.max_jobs"), json!(32));
        assert_eq!(value("executor.cluster.time_limit"), json!(7200));
        assert_eq!(
            find(&effective, "executor.cluster.remote").unset,
            Some("this repository")
        );
        let keys: Vec<&str> = effective.settings.iter().map(|s| s.key.as_str()).collect();
        let at = |key: &str| keys.iter().position(|k| *k == key);
        assert!(at("executor.local.vane") < at("executor.cluster.start"));
    }
}
