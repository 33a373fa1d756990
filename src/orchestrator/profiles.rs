//! Choosing the agent profile for a task: the task's own, else the configured default; built-in
//! profiles changed by `vane.toml`, or profiles defined there.

use crate::agent::Profile;
use crate::config::Config;
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
