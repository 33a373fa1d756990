//! Agent profiles: how to start each agent non-interactively on one task.
//!
//! A profile is an argv template, not a shell line: each template argument becomes exactly one argv
//! element, so a prompt with spaces, quotes or newlines reaches the agent intact and no shell ever
//! reinterprets it (the `shell` profile is the exception by design: it hands the task's `run` command
//! to `sh -c`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::process::Invocation;
use super::AgentError;
use crate::model::ParseError;

/// How long an AI agent may work on one attempt before its process group is taken down.
pub const AGENT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// How long a task's own `run` command may take under the `shell` profile.
pub const SHELL_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// The tools Claude Code may use without asking. In `-p` mode nobody can answer a permission prompt,
/// so anything not allowed here is refused (and listed in `permission_denials`); `acceptEdits` alone
/// does not cover Bash, which an agent needs to run the tests and commit.
const CLAUDE_ALLOWED_TOOLS: &str = "Bash,Edit,Write,Read,Glob,Grep";

/// The tools a reviewing (read-only) Claude Code may use.
const CLAUDE_READ_TOOLS: &str = "Read,Glob,Grep";

/// What each built-in agent writes outside its worktree, as found by running it (see
/// `Profile::writable`). Claude Code keeps its state, sessions and credentials under `~/.claude/`
/// and its logs in `~/.cache/claude-cli-nodejs`. Its settings file `~/.claude.json` stays
/// read-only: Claude Code replaces it through a temporary file and a lock directory made beside it
/// in the home directory, which a rule cannot allow without opening the whole home (your
/// checkouts included); allowed the file alone, it falls back to rewriting it in place, which a
/// Claude Code reading it at that moment (yours, or another agent's) takes for a corrupted file
/// and resets. Refused, it runs as well and leaves the file as it was. Codex, Aider and Gemini CLI
/// keep theirs in one directory each.
fn builtin_writable(name: &str) -> &'static [&'static str] {
    match name {
        "claude" => &["~/.claude/", "~/.cache/claude-cli-nodejs"],
        "codex" => &["~/.codex/"],
        "aider" => &["~/.aider/"],
        "gemini" => &["~/.gemini/"],
        _ => &[],
    }
}

/// How to read an agent's standard output once it has finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OutputParser {
    /// Any program: the last non-empty line is its message.
    #[serde(rename = "text")]
    Text,
    /// `claude -p --output-format json`: one result object.
    #[serde(rename = "claude")]
    ClaudeJson,
    /// `codex exec --json`: one event per line.
    #[serde(rename = "codex")]
    CodexJsonl,
    /// `gemini --output-format json`: one (pretty-printed) object.
    #[serde(rename = "gemini")]
    GeminiJson,
}

impl OutputParser {
    pub const ALL: &'static [OutputParser] = &[
        OutputParser::Text,
        OutputParser::ClaudeJson,
        OutputParser::CodexJsonl,
        OutputParser::GeminiJson,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutputParser::Text => "text",
            OutputParser::ClaudeJson => "claude",
            OutputParser::CodexJsonl => "codex",
            OutputParser::GeminiJson => "gemini",
        }
    }
}

impl fmt::Display for OutputParser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OutputParser {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OutputParser::ALL
            .iter()
            .copied()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| ParseError {
                what: "output parser",
                value: s.to_string(),
                why: "expected one of text, claude, codex, gemini".to_string(),
            })
    }
}

/// The values a profile's placeholders stand for, for one attempt at one task.
#[derive(Debug, Clone, Copy)]
pub struct TemplateVars<'a> {
    /// The whole prompt text, for agents that take it as an argument.
    pub prompt: &'a str,
    /// The same prompt written to a file, for agents that read it from one (and for prompts too long
    /// for a command line).
    pub prompt_file: &'a Path,
    pub task_id: &'a str,
    /// The task's worktree, where the agent runs.
    pub worktree: &'a Path,
    /// The task's own command; only the `shell` profile needs one.
    pub run: Option<&'a str>,
}

/// How to start one kind of agent.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: String,
    /// argv[0]: a name looked up on PATH, or a path.
    pub program: String,
    /// Templates with `{prompt}`, `{prompt_file}`, `{task_id}`, `{worktree}`, `{run}`; `{{` and `}}`
    /// are literal braces.
    pub args: Vec<String>,
    /// Added to the environment vane itself was started with.
    pub env: BTreeMap<String, String>,
    pub timeout: Duration,
    pub parser: OutputParser,
    /// Where the agent may write besides its worktree, its branch and its temporary directory, when
    /// it runs confined: `~/` is the home directory; a path ending with `/` is a directory made
    /// when missing, others are used when they exist.
    pub writable: Vec<String>,
    /// Whether it runs confined (`confine` in vane.toml; the kernel must be able to).
    pub confine: bool,
    /// The model it runs, as vane.toml's `model` says: prices its tokens when the agent reports
    /// no cost and names no model itself (Codex). None: only what the agent reports.
    pub model: Option<String>,
}

impl Profile {
    /// The profiles vane knows without configuration.
    pub const BUILTIN: &'static [&'static str] = &["shell", "claude", "codex", "aider", "gemini"];

    /// A built-in profile, with today's non-interactive invocation of each agent.
    pub fn builtin(name: &str) -> Option<Profile> {
        let (program, args, timeout, parser): (&str, &[&str], Duration, OutputParser) = match name {
            "shell" => ("sh", &["-c", "{run}"], SHELL_TIMEOUT, OutputParser::Text),
            // `--allowedTools` takes a variable number of values, so it goes last and `--` ends the
            // options: the prompt can then never be swallowed by it, nor read as a flag when it
            // starts with `-`.
            "claude" => (
                "claude",
                &[
                    "-p",
                    "--output-format",
                    "json",
                    "--permission-mode",
                    "acceptEdits",
                    "--allowedTools",
                    CLAUDE_ALLOWED_TOOLS,
                    "--",
                    "{prompt}",
                ],
                AGENT_TIMEOUT,
                OutputParser::ClaudeJson,
            ),
            // `workspace-write` lets Codex edit the worktree (not `.git`, so vane commits for it).
            // `--` keeps a prompt that starts with `-` or reads like a subcommand (`resume`) a prompt.
            "codex" => (
                "codex",
                &[
                    "exec",
                    "--json",
                    "--sandbox",
                    "workspace-write",
                    "--skip-git-repo-check",
                    "--",
                    "{prompt}",
                ],
                AGENT_TIMEOUT,
                OutputParser::CodexJsonl,
            ),
            // Aider may commit its own edits; vane commits whatever it leaves on top. `--yes-always`
            // answers every question aider asks, so the questions nobody running vane meant to answer
            // yes to (upgrade aider now? share analytics?) are switched off.
            "aider" => (
                "aider",
                &[
                    "--yes-always",
                    "--no-pretty",
                    "--no-stream",
                    "--no-check-update",
                    "--no-analytics",
                    "--message-file",
                    "{prompt_file}",
                ],
                AGENT_TIMEOUT,
                OutputParser::Text,
            ),
            // `--prompt=` keeps the prompt one value even when it starts with `-`. `auto_edit`
            // approves file edits; `--yolo` would approve every tool, shell included.
            "gemini" => (
                "gemini",
                &[
                    "--prompt={prompt}",
                    "--output-format",
                    "json",
                    "--approval-mode",
                    "auto_edit",
                ],
                AGENT_TIMEOUT,
                OutputParser::GeminiJson,
            ),
            _ => return None,
        };
        let mut env = BTreeMap::new();
        if name == "gemini" {
            // Gemini CLI refuses to run headless in a folder the user has not trusted (exit 55), and
            // every new worktree is one. The variable, unlike `--skip-trust`, is harmless to versions
            // that predate folder trust.
            env.insert("GEMINI_CLI_TRUST_WORKSPACE".to_string(), "true".to_string());
        }
        Some(Profile {
            name: name.to_string(),
            program: program.to_string(),
            args: args.iter().map(|a| a.to_string()).collect(),
            env,
            timeout,
            parser,
            writable: builtin_writable(name)
                .iter()
                .map(|p| p.to_string())
                .collect(),
            confine: true,
            model: None,
        })
    }

    /// This profile as it runs inside vane's kernel confinement (`confine`, where the kernel can):
    /// Codex's own sandbox is bubblewrap, which cannot set up its namespaces inside a Landlock
    /// domain, so every command Codex runs would fail; vane's confinement takes its place
    /// (`--sandbox danger-full-access` inside it writes only where vane allows). Other profiles
    /// are unchanged.
    pub fn inside_confinement(&self) -> Profile {
        let mut profile = self.clone();
        if self.program.rsplit('/').next() == Some("codex") {
            if let Some(i) = profile.args.iter().position(|a| a == "--sandbox") {
                if let Some(next) = profile.args.get_mut(i + 1) {
                    *next = "danger-full-access".to_string();
                }
            }
        }
        profile
    }

    /// This profile for reviewing rather than editing, where the agent has a way to say so: Claude
    /// Code in `plan` mode with only its reading tools, Codex in a `read-only` sandbox, Gemini CLI
    /// approving nothing, Aider with `--dry-run`. Other profiles run as they are; the caller checks
    /// that the worktree is unchanged afterwards.
    pub fn read_only(&self) -> Profile {
        let mut profile = self.clone();
        let swap = |args: &mut Vec<String>, flag: &str, value: &str| {
            if let Some(i) = args.iter().position(|a| a == flag) {
                if let Some(next) = args.get_mut(i + 1) {
                    *next = value.to_string();
                }
            }
        };
        match self.program_name() {
            "claude" => {
                swap(&mut profile.args, "--permission-mode", "plan");
                swap(&mut profile.args, "--allowedTools", CLAUDE_READ_TOOLS);
            }
            "codex" => swap(&mut profile.args, "--sandbox", "read-only"),
            "gemini" => swap(&mut profile.args, "--approval-mode", "default"),
            "aider" if !profile.args.iter().any(|a| a == "--dry-run") => {
                profile.args.insert(0, "--dry-run".to_string());
            }
            _ => {}
        }
        profile
    }

    /// This profile answering in the shape of a JSON Schema, where the agent CLI has a way to be
    /// told one: Claude Code with `--json-schema` (its answer is then the result's
    /// `structured_output`), Codex with `--output-schema FILE` (its last message is then the
    /// answer). None for other agents: their answer is read from what they print.
    pub fn answering_in(&self, schema: &str, schema_file: &Path) -> Option<Profile> {
        let (flag, value) = match self.program_name() {
            "claude" => ("--json-schema", schema.to_string()),
            "codex" => ("--output-schema", schema_file.display().to_string()),
            _ => return None,
        };
        let mut profile = self.clone();
        // Before `--`, which ends the options; the value is literal text, not a template.
        let at = profile.options_end();
        profile
            .args
            .splice(at..at, [flag.to_string(), escape_braces(&value)]);
        Some(profile)
    }

    /// This profile with a cap on what one run may spend, where the agent CLI takes one: Claude
    /// Code's `--max-budget-usd`. None for other agents: the budget is then held between attempts.
    pub fn capped(&self, usd: f64) -> Option<Profile> {
        if self.program_name() != "claude" {
            return None;
        }
        let mut profile = self.clone();
        let at = profile.options_end();
        profile.args.splice(
            at..at,
            [
                "--max-budget-usd".to_string(),
                format!("{:.4}", usd.max(0.0)),
            ],
        );
        Some(profile)
    }

    /// This profile going on with an earlier session of its agent, where the agent CLI can:
    /// Claude Code with `--resume <session>`, Codex as `codex exec resume <session>` (which takes
    /// its sandbox as `-c sandbox_mode=...`). None for other agents.
    pub fn resuming(&self, session: &str) -> Option<Profile> {
        let mut profile = self.clone();
        let session = escape_braces(session);
        match self.program_name() {
            "claude" => {
                let at = profile.options_end();
                profile
                    .args
                    .splice(at..at, ["--resume".to_string(), session]);
            }
            "codex" => {
                let exec = profile.args.iter().position(|a| a == "exec")?;
                profile.args.insert(exec + 1, "resume".to_string());
                if let Some(i) = profile.args.iter().position(|a| a == "--sandbox") {
                    let mode = profile.args.get(i + 1).cloned().unwrap_or_default();
                    profile.args.splice(
                        i..(i + 2).min(profile.args.len()),
                        ["-c".to_string(), format!("sandbox_mode=\"{mode}\"")],
                    );
                }
                // `codex exec resume [OPTIONS] [SESSION_ID] [PROMPT]`: after `--`, the session first.
                match profile.args.iter().position(|a| a == "--") {
                    Some(end) => profile.args.insert(end + 1, session),
                    None => {
                        let at = profile.args.len().saturating_sub(1);
                        profile.args.insert(at, session);
                    }
                }
            }
            _ => return None,
        }
        Some(profile)
    }

    /// The program's file name (`claude` for `/opt/bin/claude`).
    fn program_name(&self) -> &str {
        self.program.rsplit('/').next().unwrap_or_default()
    }

    /// Where the options end: the index of `--`, else the last argument (the prompt).
    fn options_end(&self) -> usize {
        self.args
            .iter()
            .position(|a| a == "--")
            .unwrap_or(self.args.len().saturating_sub(1))
    }

    /// A built-in profile, or an error that lists them.
    pub fn named(name: &str) -> Result<Profile, AgentError> {
        Profile::builtin(name).ok_or_else(|| AgentError::UnknownProfile(name.to_string()))
    }

    /// The command line for one attempt: the program and each argument with its placeholders
    /// replaced. Each template argument is one argv element (there is no shell splitting), and a
    /// placeholder may be part of a larger argument (`--prompt={prompt}`).
    pub fn argv(&self, vars: &TemplateVars) -> Result<Vec<String>, AgentError> {
        if self.program.is_empty() {
            return Err(AgentError::EmptyProgram {
                profile: self.name.clone(),
            });
        }
        std::iter::once(&self.program)
            .chain(&self.args)
            .map(|template| self.expand(template, vars))
            .collect()
    }

    /// Everything `process::run` needs for one attempt: the expanded command line, this profile's
    /// environment and timeout, run in the worktree.
    pub fn invocation(
        &self,
        vars: &TemplateVars,
        stdout: PathBuf,
        stderr: PathBuf,
    ) -> Result<Invocation, AgentError> {
        Ok(Invocation {
            argv: self.argv(vars)?,
            env: self
                .env
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            cwd: vars.worktree.to_path_buf(),
            stdout,
            stderr,
            timeout: self.timeout,
            pid_file: None,
            log_limit: Some(super::process::DEFAULT_LOG_LIMIT),
            // The caller knows the run's temporary directory and what else it may write.
            confine: None,
        })
    }

    fn expand(&self, template: &str, vars: &TemplateVars) -> Result<String, AgentError> {
        let unmatched = |brace: char| AgentError::UnmatchedBrace {
            profile: self.name.clone(),
            brace,
            arg: template.to_string(),
        };
        let mut out = String::with_capacity(template.len());
        let mut chars = template.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    out.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    out.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => name.push(c),
                            None => return Err(unmatched('{')),
                        }
                    }
                    out.push_str(self.value(&name, template, vars)?);
                }
                '}' => return Err(unmatched('}')),
                c => out.push(c),
            }
        }
        Ok(out)
    }

    fn value<'v>(
        &self,
        name: &str,
        template: &str,
        vars: &TemplateVars<'v>,
    ) -> Result<&'v str, AgentError> {
        let path = |placeholder: &'static str, path: &'v Path| {
            path.to_str().ok_or_else(|| AgentError::NonUtf8Path {
                profile: self.name.clone(),
                placeholder,
                path: path.to_path_buf(),
            })
        };
        match name {
            "prompt" => Ok(vars.prompt),
            "prompt_file" => path("prompt_file", vars.prompt_file),
            "task_id" => Ok(vars.task_id),
            "worktree" => path("worktree", vars.worktree),
            "run" => vars.run.ok_or_else(|| AgentError::NoRunCommand {
                profile: self.name.clone(),
                task: vars.task_id.to_string(),
            }),
            _ => Err(AgentError::UnknownPlaceholder {
                profile: self.name.clone(),
                placeholder: name.to_string(),
                arg: template.to_string(),
            }),
        }
    }
}

/// Text as a template argument that stands for itself: `{` and `}` doubled.
fn escape_braces(text: &str) -> String {
    text.replace('{', "{{").replace('}', "}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars<'a>(prompt: &'a str, run: Option<&'a str>) -> TemplateVars<'a> {
        TemplateVars {
            prompt,
            prompt_file: Path::new("/runs/T1/1/prompt.md"),
            task_id: "T1",
            worktree: Path::new("/wt/T1"),
            run,
        }
    }

    fn profile(args: &[&str]) -> Profile {
        Profile {
            name: "custom".to_string(),
            program: "agent".to_string(),
            args: args.iter().map(|a| a.to_string()).collect(),
            env: BTreeMap::new(),
            timeout: Duration::from_secs(1),
            parser: OutputParser::Text,
            writable: Vec::new(),
            confine: true,
            model: None,
        }
    }

    #[test]
    fn every_placeholder_is_replaced_inside_larger_arguments_too() {
        let p = profile(&[
            "{prompt}",
            "--file={prompt_file}",
            "--id",
            "{task_id}",
            "{worktree}/src",
            "{run}",
        ]);
        let argv = p.argv(&vars("fix it", Some("make test"))).unwrap();
        assert_eq!(
            argv,
            [
                "agent",
                "fix it",
                "--file=/runs/T1/1/prompt.md",
                "--id",
                "T1",
                "/wt/T1/src",
                "make test"
            ]
        );
    }

    #[test]
    fn values_with_spaces_quotes_and_newlines_stay_one_argument() {
        let prompt = "say \"hi\"; it's $HOME `date` {prompt}\n\tand more";
        let argv = profile(&["-p", "{prompt}"])
            .argv(&vars(prompt, None))
            .unwrap();
        assert_eq!(argv, ["agent", "-p", prompt]);
    }

    #[test]
    fn doubled_braces_are_literal() {
        let argv = profile(&[r#"{{"id": "{task_id}"}}"#, "}}{{", "{{prompt}}"])
            .argv(&vars("x", None))
            .unwrap();
        assert_eq!(argv, ["agent", r#"{"id": "T1"}"#, "}{", "{prompt}"]);
    }

    #[test]
    fn an_unknown_placeholder_is_named_in_the_error() {
        let err = profile(&["--model", "{model}"])
            .argv(&vars("x", None))
            .unwrap_err();
        assert!(
            matches!(&err, AgentError::UnknownPlaceholder { placeholder, .. } if placeholder == "model")
        );
        let text = err.to_string();
        assert!(text.contains("`{model}`"), "{text}");
        assert!(text.contains("custom"), "{text}");
        assert!(text.contains("{prompt_file}"), "{text}");
    }

    #[test]
    fn unmatched_braces_are_refused() {
        for arg in ["{prompt", "a}b", "{", "}"] {
            let err = profile(&[arg]).argv(&vars("x", None)).unwrap_err();
            assert!(
                matches!(err, AgentError::UnmatchedBrace { .. }),
                "{arg}: {err}"
            );
        }
    }

    #[test]
    fn the_shell_profile_needs_a_run_command() {
        let shell = Profile::builtin("shell").unwrap();
        assert_eq!(
            shell.argv(&vars("ignored", Some("cargo test"))).unwrap(),
            ["sh", "-c", "cargo test"]
        );
        let err = shell.argv(&vars("ignored", None)).unwrap_err();
        assert!(matches!(err, AgentError::NoRunCommand { .. }));
        assert_eq!(
            err.to_string(),
            "task T1 has no `run` command, and the `shell` profile runs it"
        );
        assert_eq!(shell.timeout, SHELL_TIMEOUT);
    }

    #[test]
    fn read_only_profiles_swap_edit_permissions_for_reading_ones() {
        let claude = Profile::named("claude").unwrap().read_only();
        let args = claude.args.join(" ");
        assert!(args.contains("--permission-mode plan"), "{args}");
        assert!(args.contains("--allowedTools Read,Glob,Grep"), "{args}");
        assert!(
            !args.contains("acceptEdits") && !args.contains("Edit,"),
            "{args}"
        );
        let codex = Profile::named("codex").unwrap().read_only().args.join(" ");
        assert!(codex.contains("--sandbox read-only"), "{codex}");
        let confined = Profile::builtin("codex")
            .unwrap()
            .inside_confinement()
            .args
            .join(" ");
        assert!(
            confined.contains("--sandbox danger-full-access"),
            "{confined}"
        );
        let claude = Profile::builtin("claude").unwrap();
        assert_eq!(claude.inside_confinement().args, claude.args);
        let gemini = Profile::named("gemini").unwrap().read_only().args.join(" ");
        assert!(gemini.contains("--approval-mode default"), "{gemini}");
        assert_eq!(
            Profile::named("aider").unwrap().read_only().args[0],
            "--dry-run"
        );
        let shell = Profile::named("shell").unwrap();
        assert_eq!(shell.read_only(), shell);
    }

    #[test]
    fn builtin_profiles_expand_and_put_the_prompt_where_each_agent_reads_it() {
        for name in Profile::BUILTIN {
            let p = Profile::builtin(name).unwrap();
            assert_eq!(p.name, *name);
            let argv = p.argv(&vars("-starts with a dash", Some("true"))).unwrap();
            assert!(!argv.iter().any(|a| a.contains('{')), "{name}: {argv:?}");
        }
        let argv = |name: &str| {
            Profile::builtin(name)
                .unwrap()
                .argv(&vars("PROMPT", None))
                .unwrap()
        };
        let claude = argv("claude");
        assert_eq!(claude[..2], ["claude", "-p"]);
        assert_eq!(claude[claude.len() - 2..], ["--", "PROMPT"]);
        assert!(claude.contains(&"acceptEdits".to_string()));
        assert!(claude.contains(&CLAUDE_ALLOWED_TOOLS.to_string()));
        let codex = argv("codex");
        assert_eq!(codex[..3], ["codex", "exec", "--json"]);
        assert_eq!(codex[codex.len() - 2..], ["--", "PROMPT"]);
        let aider = argv("aider");
        assert_eq!(
            aider[aider.len() - 2..],
            ["--message-file", "/runs/T1/1/prompt.md"]
        );
        assert!(!aider.iter().any(|a| a == "PROMPT"));
        assert!(argv("gemini").contains(&"--prompt=PROMPT".to_string()));
        assert_eq!(
            Profile::builtin("gemini").unwrap().env["GEMINI_CLI_TRUST_WORKSPACE"],
            "true"
        );

        assert_eq!(
            Profile::builtin("claude").unwrap().parser,
            OutputParser::ClaudeJson
        );
        assert_eq!(Profile::builtin("claude").unwrap().timeout, AGENT_TIMEOUT);
        assert!(Profile::builtin("cursor").is_none());
        let err = Profile::named("cursor").unwrap_err().to_string();
        assert!(err.contains("shell, claude, codex, aider, gemini"), "{err}");
    }

    #[test]
    fn the_invocation_runs_in_the_worktree_with_the_profile_env() {
        let mut p = profile(&["{task_id}"]);
        p.env.insert("AGENT_MODE".to_string(), "batch".to_string());
        let inv = p
            .invocation(
                &vars("x", None),
                PathBuf::from("/runs/out"),
                PathBuf::from("/runs/err"),
            )
            .unwrap();
        assert_eq!(inv.argv, ["agent", "T1"]);
        assert_eq!(inv.cwd, Path::new("/wt/T1"));
        assert_eq!(inv.env, [("AGENT_MODE".to_string(), "batch".to_string())]);
        assert_eq!(inv.timeout, Duration::from_secs(1));
    }

    #[test]
    fn built_in_profiles_declare_where_their_agent_keeps_its_state() {
        let writable = |name: &str| Profile::builtin(name).unwrap().writable;
        assert!(
            writable("shell").is_empty(),
            "a shell task writes its worktree only"
        );
        assert_eq!(
            writable("claude"),
            ["~/.claude/", "~/.cache/claude-cli-nodejs"]
        );
        assert_eq!(writable("codex"), ["~/.codex/"]);
        for name in Profile::BUILTIN {
            let p = Profile::builtin(name).unwrap();
            assert!(p.confine, "{name}");
            // Never the home directory itself, nor a file beside the person's checkouts.
            assert!(!p.writable.iter().any(|w| w == "~" || w == "~/"), "{name}");
            assert!(!p.writable.iter().any(|w| w.ends_with(".json")), "{name}");
        }
    }

    #[test]
    fn parser_names_round_trip() {
        for p in OutputParser::ALL {
            assert_eq!(p.as_str().parse::<OutputParser>(), Ok(*p));
            let json = serde_json::to_string(p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.as_str()));
            assert_eq!(serde_json::from_str::<OutputParser>(&json).unwrap(), *p);
        }
        assert!("json".parse::<OutputParser>().is_err());
    }

    #[test]
    fn claude_answers_in_a_schema_and_resumes_its_session_before_the_prompt() {
        let claude = Profile::named("claude").unwrap().read_only();
        let schema = r#"{"type":"object"}"#;
        let structured = claude
            .answering_in(schema, Path::new("/runs/schema.json"))
            .unwrap();
        let resumed = structured.resuming("abc-123").unwrap();
        let argv = resumed.argv(&vars("plan it", None)).unwrap();
        let end = argv.iter().position(|a| a == "--").unwrap();
        let at = |flag: &str| argv.iter().position(|a| a == flag).unwrap();
        assert_eq!(argv[at("--json-schema") + 1], schema, "{argv:?}");
        assert_eq!(argv[at("--resume") + 1], "abc-123");
        assert!(at("--json-schema") < end && at("--resume") < end);
        assert_eq!(&argv[end + 1..], ["plan it"]);
        assert_eq!(argv[at("--permission-mode") + 1], "plan");
    }

    #[test]
    fn codex_answers_in_a_schema_file_and_resumes_as_exec_resume() {
        let codex = Profile::named("codex").unwrap().read_only();
        let structured = codex
            .answering_in("{}", Path::new("/runs/{x}/schema.json"))
            .unwrap();
        let argv = structured.argv(&vars("plan it", None)).unwrap();
        let at = |argv: &[String], flag: &str| argv.iter().position(|a| a == flag).unwrap();
        assert_eq!(
            argv[at(&argv, "--output-schema") + 1],
            "/runs/{x}/schema.json"
        );
        let resumed = structured.resuming("0199-ab").unwrap();
        let argv = resumed.argv(&vars("plan it", None)).unwrap();
        assert_eq!(&argv[1..3], ["exec", "resume"], "{argv:?}");
        assert!(!argv.iter().any(|a| a == "--sandbox"), "{argv:?}");
        assert_eq!(argv[at(&argv, "-c") + 1], "sandbox_mode=\"read-only\"");
        let end = at(&argv, "--");
        assert_eq!(&argv[end + 1..], ["0199-ab", "plan it"]);
    }

    #[test]
    fn other_agents_have_no_schema_mode_and_no_session_to_resume() {
        for name in ["shell", "aider", "gemini"] {
            let profile = Profile::named(name).unwrap();
            assert!(
                profile.answering_in("{}", Path::new("/s")).is_none(),
                "{name}"
            );
            assert!(profile.resuming("s").is_none(), "{name}");
        }
    }
}
