//! Choosing the agent profile for a task: the task's own, else the configured default; built-in
//! profiles changed by `vane.toml`, or profiles defined there.

use std::time::Duration;

use crate::agent::{OutputParser, Profile};
use crate::config::{AgentConfig, Config};
use crate::model::Task;

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

/// The profile a task runs with.
pub fn for_task(config: &Config, task: &Task) -> Result<Profile, ProfileError> {
    let name = task.agent.as_deref().unwrap_or(&config.default_agent);
    resolve(config, name)
}

/// A profile by name: built in, changed or added by the configuration.
pub fn resolve(config: &Config, name: &str) -> Result<Profile, ProfileError> {
    let configured = config.agents.get(name);
    let mut profile = match (Profile::builtin(name), configured) {
        (Some(profile), _) => profile,
        (
            None,
            Some(AgentConfig {
                command: Some(command),
                ..
            }),
        ) if !command.is_empty() => Profile {
            name: name.to_string(),
            program: command[0].clone(),
            args: command[1..].to_vec(),
            env: Default::default(),
            timeout: Duration::from_secs(30 * 60),
            parser: OutputParser::Text,
        },
        _ => {
            return Err(ProfileError::Unknown {
                name: name.to_string(),
                builtin: Profile::BUILTIN.join(", "),
                defined: if config.agents.is_empty() {
                    "none".to_string()
                } else {
                    config.agents.keys().cloned().collect::<Vec<_>>().join(", ")
                },
            })
        }
    };
    if let Some(configured) = configured {
        if let Some(command) = configured.command.as_ref().filter(|c| !c.is_empty()) {
            profile.program = command[0].clone();
            profile.args = command[1..].to_vec();
        }
        profile.env.extend(configured.env.clone());
        if let Some(seconds) = configured.timeout {
            profile.timeout = Duration::from_secs(seconds);
        }
        // `Config::parse` has checked the name against the same list.
        if let Some(parser) = configured.parser.as_deref().and_then(|p| p.parse().ok()) {
            profile.parser = parser;
        }
    }
    if !crate::agent::program_available(&profile.program) {
        return Err(ProfileError::NotInstalled {
            name: profile.name.clone(),
            program: profile.program.clone(),
        });
    }
    Ok(profile)
}
