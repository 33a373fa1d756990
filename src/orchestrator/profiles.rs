//! Choosing the agent profile for a task: the task's own, else the first `[[route]]` that matches
//! it, else the configured default, and `escalate_to` once enough attempts fell short; built-in
//! profiles changed by `vane.toml`, or profiles defined there.

use crate::agent::Profile;
use crate::config::Config;
use crate::model::Task;
use crate::routing::Choice;

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("no agent profile `{name}`: built in are {builtin}, and vane.toml defines {defined}")]
    Unknown {
        name: String,
        builtin: String,
        defined: String,
    },
    #[error("agent profile `{name}` runs `{program}`, which is not installed (not found on PATH)")]
    NotInstalled { name: String, program: String },
}

/// The profile a task's next attempt runs with, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextAgent<'a> {
    pub profile: &'a str,
    pub why: Why,
}

/// Why a task's next attempt runs with its profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// Its own `agent`, a route, or `default_agent`.
    Chosen(Choice),
    /// `escalate_to`: `charged` attempts fell short, `escalate_after` or more.
    Escalated { charged: u32, after: u32 },
}

impl NextAgent<'_> {
    /// Who chose the profile, for people and for `vane task show --json`: `the task's own agent`,
    /// `route 1: type bug, complexity ≤ 3`, `default_agent`, `escalate_to: 2 earlier attempts
    /// fell short (escalate_after = 2)`.
    pub fn chosen_by(&self) -> String {
        match &self.why {
            Why::Chosen(choice) => choice.to_string(),
            Why::Escalated { .. } => format!("escalate_to: {}", self.fell_short()),
        }
    }

    /// The number (from 1) of the route that chose the profile, if one did.
    pub fn route(&self) -> Option<usize> {
        match &self.why {
            Why::Chosen(Choice::Route { index, .. }) => Some(index + 1),
            _ => None,
        }
    }

    /// What an attempt records of why it runs this profile (`Attempt::agent_reason`): the route
    /// or the escalation; nothing for the task's own profile or the default.
    pub fn agent_reason(&self) -> Option<String> {
        match &self.why {
            Why::Chosen(Choice::Route { index, rule }) => Some(format!(
                "routed to `{}` by route {} ({rule})",
                self.profile,
                index + 1
            )),
            Why::Chosen(_) => None,
            Why::Escalated { .. } => Some(format!(
                "escalated to `{}`: {}",
                self.profile,
                self.fell_short()
            )),
        }
    }

    fn fell_short(&self) -> String {
        match self.why {
            Why::Escalated { charged, after } => format!(
                "{charged} earlier attempt{} fell short (escalate_after = {after})",
                if charged == 1 { "" } else { "s" }
            ),
            Why::Chosen(_) => String::new(),
        }
    }
}

/// The profile the next attempt at `task` runs with, after `charged` attempts that counted:
/// `escalate_to` once they reach `escalate_after`, else the task's own, a route's, or the default.
pub fn next_agent<'a>(config: &'a Config, task: &'a Task, charged: u32) -> NextAgent<'a> {
    match (config.escalate_after, &config.escalate_to) {
        (Some(after), Some(stronger)) if charged >= after => NextAgent {
            profile: stronger,
            why: Why::Escalated { charged, after },
        },
        _ => {
            let (profile, choice) = config.route(task);
            NextAgent {
                profile,
                why: Why::Chosen(choice),
            }
        }
    }
}

/// A profile by name: built in, changed or added by the configuration.
pub fn resolve(config: &Config, name: &str) -> Result<Profile, ProfileError> {
    let profile = lookup(config, name)?;
    if !crate::agent::program_available(&profile.program) {
        return Err(ProfileError::NotInstalled {
            name: profile.name.clone(),
            program: profile.program.clone(),
        });
    }
    Ok(profile)
}

/// A profile by name, whether or not its program is installed: what a task may name (`vane task
/// add --agent`, `agent:` in a roadmap) on a machine that need not run it.
pub fn lookup(config: &Config, name: &str) -> Result<Profile, ProfileError> {
    config.profile(name).ok_or_else(|| ProfileError::Unknown {
        name: name.to_string(),
        builtin: Profile::BUILTIN.join(", "),
        defined: if config.agents.is_empty() {
            "none".to_string()
        } else {
            config.agents.keys().cloned().collect::<Vec<_>>().join(", ")
        },
    })
}

/// Whether a task may name profile `name`, as `Roadmap::parse` asks it: the reason when not.
pub fn known(config: &Config) -> impl Fn(&str) -> Result<(), String> + '_ {
    |name| lookup(config, name).map(drop).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Complexity, TaskType};

    fn task(kind: TaskType, complexity: Option<i64>, agent: Option<&str>) -> Task {
        Task {
            complexity: complexity.map(|c| Complexity::new(c).unwrap()),
            agent: agent.map(str::to_string),
            kind,
            ..Task::example("t")
        }
    }

    fn config(text: &str) -> Config {
        Config::check(text).config.expect("a fine vane.toml")
    }

    #[test]
    fn a_route_chooses_and_the_attempt_says_so() {
        let config = config("[[route]]\ntype = \"bug\"\ncomplexity = \"<=3\"\nagent = \"codex\"\n");
        let bug = task(TaskType::Bug, Some(2), None);
        let next = next_agent(&config, &bug, 0);
        assert_eq!(next.profile, "codex");
        assert_eq!(next.route(), Some(1));
        assert_eq!(next.chosen_by(), "route 1: type bug, complexity ≤ 3");
        assert_eq!(
            next.agent_reason().as_deref(),
            Some("routed to `codex` by route 1 (type bug, complexity ≤ 3)")
        );
    }

    #[test]
    fn the_tasks_own_profile_and_the_default_record_no_reason() {
        let config = config("[[route]]\ntype = \"bug\"\nagent = \"codex\"\n");
        let own = task(TaskType::Bug, None, Some("claude"));
        let next = next_agent(&config, &own, 0);
        assert_eq!(
            (next.profile, next.chosen_by()),
            ("claude", "the task's own agent".into())
        );
        assert_eq!((next.route(), next.agent_reason()), (None, None));
        let story = task(TaskType::Story, None, None);
        let next = next_agent(&config, &story, 0);
        assert_eq!(
            (next.profile, next.chosen_by()),
            ("shell", "default_agent".into())
        );
        assert_eq!(next.agent_reason(), None);
    }

    #[test]
    fn escalation_applies_over_routes_and_the_tasks_own_profile() {
        let config = config(
            "escalate_after = 2\nescalate_to = \"claude\"\n\
             [[route]]\ntype = \"bug\"\nagent = \"codex\"\n",
        );
        let bug = task(TaskType::Bug, None, None);
        assert_eq!(next_agent(&config, &bug, 1).profile, "codex");
        let next = next_agent(&config, &bug, 2);
        assert_eq!(next.profile, "claude");
        assert_eq!(next.route(), None);
        assert_eq!(
            next.agent_reason().as_deref(),
            Some("escalated to `claude`: 2 earlier attempts fell short (escalate_after = 2)")
        );
        assert_eq!(
            next.chosen_by(),
            "escalate_to: 2 earlier attempts fell short (escalate_after = 2)"
        );
        let own = task(TaskType::Bug, None, Some("aider"));
        assert_eq!(next_agent(&config, &own, 3).profile, "claude");
        assert_eq!(next_agent(&config, &own, 1).profile, "aider");
    }
}
