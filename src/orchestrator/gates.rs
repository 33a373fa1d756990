//! Running the quality gates of `vane.toml` on a candidate: commands scored by exit code or by a
//! JSON score line, and critic agents that review the diff. Each gate's result is cached by the
//! candidate's tree and the gate's configuration, so the same tree is never gated twice; what a
//! gate does wrong (times out, crashes, prints junk) scores 0 with an issue that says so, never a
//! vane error.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::agent::{self, Invocation, TemplateVars};
use crate::config::{Config, GateConfig, ScoreMode};
use crate::git::Git;
use crate::git::MergeOutcome;
use crate::learnings;
use crate::model::{ContextOrigin, ContextSource, Task, TaskId};
use crate::quality::score::{self, Decision, GateScore, Verdict};
use crate::store::{Attempt, GateRecord, NewContextEntry, Store};
use crate::workspace::{self, Workspace};

use super::{profiles, OrchestratorError, Result};

/// What a candidate is: where its files are, and what it is made of.
pub struct Candidate<'a> {
    pub task: Option<&'a Task>,
    pub attempt: Option<&'a Attempt>,
    /// The working tree holding it, where command gates run.
    pub worktree: &'a Path,
    /// The commit, when the candidate is one (a merge result); None for a person's working tree.
    pub commit: Option<&'a str>,
    /// What the candidate is compared with for a critic's diff.
    pub base: &'a str,
    /// Where the gates' logs go.
    pub log_dir: PathBuf,
}

/// Every gate's result and the verdict.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GateReport {
    pub gates: Vec<GateResult>,
    pub decision: Decision,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct GateResult {
    #[serde(flatten)]
    pub record: GateRecord,
    pub weight: f64,
    pub required: bool,
    pub cached: bool,
}

impl GateReport {
    /// The feedback a task that fell short takes into its next attempt: the score against the
    /// threshold, and each gate that did not pass with its issues and suggestions.
    pub fn feedback(&self) -> String {
        let d = &self.decision;
        let mut out = format!(
            "the quality gates scored {:.2} overall (the threshold is {:.2})",
            d.overall, d.threshold
        );
        if !d.failed_required.is_empty() {
            let names: Vec<String> = d.failed_required.iter().map(|n| format!("`{n}`")).collect();
            out.push_str(&format!("; required gate {} failed", names.join(", ")));
        }
        out.push(':');
        for gate in self.gates.iter().filter(|g| !g.record.passed) {
            let r = &gate.record;
            out.push_str(&format!(
                "\n- gate `{}` ({}) scored {:.2}",
                r.gate, r.dimension, r.score
            ));
            for issue in &r.issues {
                out.push_str(&format!("\n  issue: {issue}"));
            }
            for suggestion in &r.suggestions {
                out.push_str(&format!("\n  suggestion: {suggestion}"));
            }
        }
        out
    }

    /// The report of a candidate with no gates to pass: it passes.
    pub fn ungated(threshold: f64) -> GateReport {
        GateReport {
            gates: Vec::new(),
            decision: Decision {
                overall: 1.0,
                threshold,
                passed: true,
                failed_required: Vec::new(),
            },
        }
    }

    pub fn records(&self) -> Vec<GateRecord> {
        self.gates.iter().map(|g| g.record.clone()).collect()
    }
}

/// Runs every gate on the candidate (those marked `parallel` at the same time, the others in
/// order), taking cached verdicts for a tree scored before, and decides.
pub fn run_gates(
    git: &Git,
    store: &Store,
    config: &Config,
    candidate: &Candidate<'_>,
) -> Result<GateReport> {
    let tree = match candidate.commit {
        Some(commit) => Some(git.tree_of(commit)?),
        None => None,
    };
    std::fs::create_dir_all(&candidate.log_dir)
        .map_err(|e| OrchestratorError::io(&candidate.log_dir, e))?;
    let mut slots: Vec<Option<GateResult>> = vec![None; config.gates.len()];
    let mut to_run = Vec::new();
    for (index, gate) in config.gates.iter().enumerate() {
        let key = gate_key(gate, candidate.task);
        let cached = match &tree {
            Some(tree) => store.cached_gate_result(tree, &key)?,
            None => None,
        };
        match cached {
            Some(stored) => {
                let mut record = stored.record;
                record.cached_from = Some(stored.id);
                record.gate = gate.name.clone();
                record.dimension = gate.dimension.clone();
                slots[index] = Some(GateResult {
                    record,
                    weight: gate.weight,
                    required: gate.is_required(),
                    cached: true,
                });
            }
            None => to_run.push((index, key)),
        }
    }
    let diff = if to_run.iter().any(|(i, _)| config.gates[*i].agent.is_some()) {
        Some(critic_diff(git, candidate)?)
    } else {
        None
    };
    let run_one = |index: usize, key: &str| -> GateResult {
        let gate = &config.gates[index];
        let started = Instant::now();
        let (verdict, log) = match (&gate.command, &gate.agent) {
            (Some(command), _) => {
                run_command(gate, command, candidate, config.log_limit(), config.confine)
            }
            (None, Some(profile)) => run_critic(git, config, gate, profile, candidate, &diff),
            (None, None) => (
                failed(format!("gate `{}` has nothing to run", gate.name)),
                None,
            ),
        };
        // An exit-code gate passes by exiting 0; a scored gate or a critic by reaching the threshold.
        let passed = if gate.scored_by_exit() {
            verdict.score >= 1.0
        } else {
            score::meets(verdict.score, config.threshold)
        };
        let (learnings, rejected_learnings) = match (&gate.command, &gate.agent) {
            (None, Some(profile)) => critic_learnings(gate, profile, candidate, &verdict.learnings),
            _ => (Vec::new(), Vec::new()),
        };
        GateResult {
            record: GateRecord {
                gate: gate.name.clone(),
                dimension: gate.dimension.clone(),
                score: verdict.score,
                passed,
                issues: verdict.issues,
                suggestions: verdict.suggestions,
                duration_ms: started.elapsed().as_millis() as i64,
                log_path: log.map(|p| p.display().to_string()),
                tree: tree.clone(),
                gate_key: key.to_string(),
                cached_from: None,
                learnings,
                rejected_learnings,
            },
            weight: gate.weight,
            required: gate.is_required(),
            cached: false,
        }
    };
    let (together, in_order): (Vec<_>, Vec<_>) = to_run
        .into_iter()
        .partition(|(i, _)| config.gates[*i].parallel);
    std::thread::scope(|scope| {
        let handles: Vec<_> = together
            .iter()
            .map(|(index, key)| (*index, scope.spawn(|| run_one(*index, key))))
            .collect();
        for (index, key) in &in_order {
            slots[*index] = Some(run_one(*index, key));
        }
        for (index, handle) in handles {
            let result = handle.join().unwrap_or_else(|_| GateResult {
                record: GateRecord {
                    gate: config.gates[index].name.clone(),
                    dimension: config.gates[index].dimension.clone(),
                    score: 0.0,
                    passed: false,
                    issues: vec!["vane's thread running this gate panicked".to_string()],
                    suggestions: Vec::new(),
                    duration_ms: 0,
                    log_path: None,
                    tree: None,
                    gate_key: String::new(),
                    cached_from: None,
                    learnings: Vec::new(),
                    rejected_learnings: Vec::new(),
                },
                weight: config.gates[index].weight,
                required: config.gates[index].is_required(),
                cached: false,
            });
            slots[index] = Some(result);
        }
    });
    let gates: Vec<GateResult> = slots.into_iter().flatten().collect();
    let scores: Vec<GateScore> = gates
        .iter()
        .map(|g| GateScore {
            name: g.record.gate.clone(),
            dimension: g.record.dimension.clone(),
            weight: g.weight,
            required: g.required,
            score: g.record.score,
            passed: g.record.passed,
        })
        .collect();
    let decision = score::decide(&scores, config.threshold);
    Ok(GateReport { gates, decision })
}

/// What `vane gate` checked, and the verdict.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OnDemand {
    pub task: Option<TaskId>,
    /// The merge of the task's branch with the base tip that was gated; None for a working tree.
    pub commit: Option<String>,
    pub worktree: PathBuf,
    #[serde(flatten)]
    pub report: GateReport,
}

/// `vane gate`: the gates on a task's branch merged with the base tip (in a worktree made for the
/// purpose and removed after; results recorded on the task's latest attempt), or with no task on
/// the working tree as it is, uncommitted changes included (not recorded: it is no candidate).
pub fn gate_on_demand(
    workspace: &mut Workspace,
    config: &Config,
    task: Option<&TaskId>,
) -> Result<OnDemand> {
    let git = Git::open(&workspace.location.workdir)?;
    let state_dir = workspace::state_dir(&workspace.location);
    let Some(id) = task else {
        let head = git.head(&workspace.location.workdir)?;
        let report = run_gates(
            &git,
            &workspace.store,
            config,
            &Candidate {
                task: None,
                attempt: None,
                worktree: &workspace.location.workdir,
                commit: None,
                base: &head,
                log_dir: state_dir.join("runs").join("working-tree"),
            },
        )?;
        return Ok(OnDemand {
            task: None,
            commit: None,
            worktree: workspace.location.workdir.clone(),
            report,
        });
    };
    let task = workspace.store.task(id)?;
    let head = git
        .branch_tip(&id.branch())?
        .ok_or_else(|| OrchestratorError::NoTaskBranch(id.clone()))?;
    let base = super::base_branch(workspace, config)?;
    let tip = git
        .branch_tip(&base)?
        .ok_or_else(|| OrchestratorError::NoBaseBranch(base.clone()))?;
    let message = format!("Gate {}: {}\n\nVane-Task: {}", task.id, task.title, task.id);
    let merge = match git.merge_in_memory(&tip, &head, &message)? {
        MergeOutcome::Merged { commit, .. } => commit,
        MergeOutcome::Conflict { paths } => {
            return Err(OrchestratorError::Conflicts {
                task: id.clone(),
                paths: paths.join(", "),
            })
        }
    };
    gate_commit(workspace, &git, config, id, &merge, &tip)
}

/// Gates `commit`, a candidate for task `id` built on `base`, in a worktree made for the purpose
/// and removed after; the results are recorded on the task's latest attempt.
pub fn gate_commit(
    workspace: &mut Workspace,
    git: &Git,
    config: &Config,
    id: &TaskId,
    commit: &str,
    base: &str,
) -> Result<OnDemand> {
    let task = workspace.store.task(id)?;
    let state_dir = workspace::state_dir(&workspace.location);
    let attempt = workspace.store.attempts(id)?.pop();
    let worktree = crate::workspace::worktree_root(workspace, config).join(format!(
        "gate-{}-{}",
        id.as_str(),
        std::process::id()
    ));
    git.ensure_worktree(&worktree, commit)?;
    let log_dir = match &attempt {
        Some(a) => state_dir
            .join("runs")
            .join(id.as_str())
            .join(a.number.to_string()),
        None => state_dir.join("runs").join(id.as_str()).join("gate"),
    };
    let report = run_gates(
        git,
        &workspace.store,
        config,
        &Candidate {
            task: Some(&task),
            attempt: attempt.as_ref(),
            worktree: &worktree,
            commit: Some(commit),
            base,
            log_dir,
        },
    );
    // The worktree was made for this run alone; nothing in it is anyone's work.
    let removed = git.remove_worktree(&worktree);
    let report = report?;
    removed?;
    workspace.store.record_gate_results(
        Some(id),
        attempt.as_ref().map(|a| a.id),
        &report.records(),
        report.decision.overall,
    )?;
    Ok(OnDemand {
        task: Some(id.clone()),
        commit: Some(commit.to_string()),
        worktree,
        report,
    })
}

/// Which configuration of a gate scored a tree: its command or agent, how it is scored, its
/// timeout and dimension (not its weight or whether it is required, which do not change a
/// score). A critic's verdict also depends on the task it was told about.
pub fn gate_key(gate: &GateConfig, task: Option<&Task>) -> String {
    let text = serde_json::json!({
        "name": gate.name,
        "dimension": gate.dimension,
        "command": gate.command,
        "agent": gate.agent,
        "score": gate.score.unwrap_or_default(),
        "timeout": gate.timeout,
        "task": gate.agent.as_ref().and(task.map(|t| t.id.as_str())),
    })
    .to_string();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

fn failed(issue: String) -> Verdict {
    Verdict {
        score: 0.0,
        issues: vec![issue],
        suggestions: Vec::new(),
        learnings: Vec::new(),
    }
}

/// The learnings a critic's verdict gave (`items`), checked (see `learnings::read_learnings`), as
/// entries on the task it reviewed and its epic (see `learnings::scope`), with the problems of
/// those left out; none for a candidate that is no task's attempt (`vane gate` on the working
/// tree), which no later prompt could say where they came from.
fn critic_learnings(
    gate: &GateConfig,
    profile: &str,
    candidate: &Candidate<'_>,
    items: &[serde_json::Value],
) -> (Vec<NewContextEntry>, Vec<String>) {
    let (Some(task), Some(attempt)) = (candidate.task, candidate.attempt) else {
        return (Vec::new(), Vec::new());
    };
    let (entries, problems) = learnings::read_learnings(items);
    let origin = ContextOrigin {
        source: ContextSource::Critic,
        task: task.id.clone(),
        attempt: attempt.number,
        profile: Some(profile.to_string()),
        gate: Some(gate.name.clone()),
    };
    let entries = entries
        .into_iter()
        .map(|entry| NewContextEntry {
            related_tasks: learnings::scope(&entry.related_tasks, &task.id, task.parent.as_ref()),
            origin: Some(origin.clone()),
            ..entry
        })
        .collect();
    let problems = problems
        .into_iter()
        .map(|p| format!("critic `{}`: {p}", gate.name))
        .collect();
    (entries, problems)
}

fn gate_env(candidate: &Candidate<'_>) -> Vec<(String, String)> {
    let mut env = vec![(
        "VANE_WORKTREE".to_string(),
        candidate.worktree.display().to_string(),
    )];
    if let Some(task) = candidate.task {
        env.push(("VANE_TASK_ID".to_string(), task.id.to_string()));
    }
    if let Some(attempt) = candidate.attempt {
        env.push(("VANE_ATTEMPT".to_string(), attempt.number.to_string()));
    }
    env
}

/// A gate's private TMPDIR when it runs confined, beside its log. It is removed whole after the
/// run, so the gate's name is kept to one plain path component.
fn gate_temp_dir(gate: &GateConfig, candidate: &Candidate<'_>) -> PathBuf {
    let name: String = gate
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    candidate.log_dir.join(format!("gate-{name}.tmp"))
}

/// Where gate `name` writes its log in a run directory.
pub fn gate_log(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("gate-{name}.log"))
}

/// The gate logs in a run directory, by gate name, in name order.
pub fn gate_logs_in(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut logs: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_str()?.to_string();
            let gate = name.strip_prefix("gate-")?.strip_suffix(".log")?;
            Some((gate.to_string(), entry.path()))
        })
        .collect();
    logs.sort();
    logs
}

/// A command gate: by exit code, or by the JSON line it prints last.
fn run_command(
    gate: &GateConfig,
    command: &str,
    candidate: &Candidate<'_>,
    log_limit: Option<u64>,
    confine: bool,
) -> (Verdict, Option<PathBuf>) {
    let log = gate_log(&candidate.log_dir, &gate.name);
    let mode = gate.score.unwrap_or_default();
    // A JSON gate's score line must not be buried under what it prints on stderr.
    let stderr = match mode {
        ScoreMode::Exit => log.clone(),
        ScoreMode::Json => candidate.log_dir.join(format!("gate-{}.stderr", gate.name)),
    };
    let timeout = Config::gate_timeout(gate);
    let outcome = agent::run(&Invocation {
        argv: vec!["sh".to_string(), "-c".to_string(), command.to_string()],
        env: gate_env(candidate),
        cwd: candidate.worktree.to_path_buf(),
        stdout: log.clone(),
        stderr: stderr.clone(),
        timeout,
        pid_file: None,
        log_limit,
        // The candidate's code runs here: it may write its own worktree and nothing of anyone else.
        confine: confine.then(|| {
            agent::Confinement::to_worktree(candidate.worktree, &gate_temp_dir(gate, candidate))
        }),
    });
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(e) => {
            return (
                failed(format!("gate `{}` could not start: {e}", gate.name)),
                None,
            )
        }
    };
    let tail = || {
        let text = tail_text(&log, 20);
        if text.trim().is_empty() {
            "; it printed nothing".to_string()
        } else {
            format!("; the end of its output:\n{text}")
        }
    };
    if outcome.timed_out {
        return (
            failed(format!(
                "gate `{}` ({command}) timed out after {} s{}",
                gate.name,
                timeout.as_secs(),
                tail()
            )),
            Some(log),
        );
    }
    let verdict = match (mode, outcome.exit_code) {
        (_, None) => failed(format!(
            "gate `{}` ({command}) was killed by a signal{}",
            gate.name,
            tail()
        )),
        (ScoreMode::Exit, Some(0)) => Verdict {
            score: 1.0,
            issues: Vec::new(),
            suggestions: Vec::new(),
            learnings: Vec::new(),
        },
        (ScoreMode::Exit, Some(code)) => failed(format!(
            "gate `{}` ({command}) exited with {code}{}",
            gate.name,
            tail()
        )),
        (ScoreMode::Json, Some(_)) => {
            let stdout = std::fs::read(&log).unwrap_or_default();
            match score::parse_score_line(&String::from_utf8_lossy(&stdout)) {
                Ok(verdict) => verdict,
                Err(reason) => failed(format!("gate `{}` {reason}", gate.name)),
            }
        }
    };
    (verdict, Some(log))
}

/// A critic: an agent profile, read-only where it can be, given the task and the diff, answering
/// with a verdict somewhere in what it prints.
fn run_critic(
    git: &Git,
    config: &Config,
    gate: &GateConfig,
    profile_name: &str,
    candidate: &Candidate<'_>,
    diff: &Option<String>,
) -> (Verdict, Option<PathBuf>) {
    let profile = match profiles::resolve(config, profile_name) {
        // Inside vane's confinement (to its worktree) a critic's own sandbox may not start.
        Ok(profile) if profile.confine && crate::agent::confine::status().is_ok() => {
            profile.read_only().inside_confinement()
        }
        Ok(profile) => profile.read_only(),
        Err(e) => return (failed(format!("gate `{}`: {e}", gate.name)), None),
    };
    let prompt = critic_prompt(candidate.task, gate, diff.as_deref().unwrap_or_default());
    let prompt_file = candidate
        .log_dir
        .join(format!("gate-{}.prompt.md", gate.name));
    if let Err(e) = std::fs::write(&prompt_file, &prompt) {
        return (
            failed(format!(
                "gate `{}`: cannot write {}: {e}",
                gate.name,
                prompt_file.display()
            )),
            None,
        );
    }
    let log = gate_log(&candidate.log_dir, &gate.name);
    let stderr = candidate.log_dir.join(format!("gate-{}.stderr", gate.name));
    let vars = TemplateVars {
        prompt: &prompt,
        prompt_file: &prompt_file,
        task_id: candidate.task.map_or("", |t| t.id.as_str()),
        worktree: candidate.worktree,
        run: None,
    };
    let mut invocation = match profile.invocation(&vars, log.clone(), stderr.clone()) {
        Ok(invocation) => invocation,
        Err(e) => return (failed(format!("gate `{}`: {e}", gate.name)), None),
    };
    if gate.timeout.is_some() {
        invocation.timeout = Config::gate_timeout(gate);
    }
    invocation.log_limit = config.log_limit();
    invocation.env.extend(gate_env(candidate));
    if profile.confine {
        invocation.confine = Some(
            agent::Confinement::to_worktree(candidate.worktree, &gate_temp_dir(gate, candidate))
                .with_declared(&profile.writable),
        );
    }
    let outcome = match agent::run(&invocation) {
        Ok(outcome) => outcome,
        Err(e) => {
            return (
                failed(format!("gate `{}` could not start: {e}", gate.name)),
                None,
            )
        }
    };
    let mut verdict = if outcome.timed_out {
        failed(format!(
            "critic `{}` ({}) timed out after {} s",
            gate.name,
            profile.name,
            invocation.timeout.as_secs()
        ))
    } else {
        let report = agent::parse_run(profile.parser, &log, &stderr);
        let read =
            |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
        report
            .message
            .as_deref()
            .and_then(score::find_verdict)
            .or_else(|| score::find_verdict(&read(&log)))
            .or_else(|| score::find_verdict(&read(&stderr)))
            .unwrap_or_else(|| {
                let last = tail_text(&log, 5);
                failed(format!(
                    "critic `{}` ({}) answered no verdict (a JSON object with a \"score\" from 0 to 1); last output: {}",
                    gate.name,
                    profile.name,
                    if last.trim().is_empty() { "nothing".to_string() } else { last }
                ))
            })
    };
    // A reviewer must not change what it reviews; on a candidate commit, undo what it did.
    if let Some(commit) = candidate.commit {
        if !git.is_clean(candidate.worktree).unwrap_or(true) {
            let _ = git.checkout_detached(candidate.worktree, commit);
            verdict.issues.push(format!(
                "critic `{}` changed files in the worktree it reviewed; vane discarded them",
                gate.name
            ));
        }
    }
    (verdict, Some(log))
}

/// What a critic is asked: the task, the diff, and the one answer vane reads.
pub fn critic_prompt(task: Option<&Task>, gate: &GateConfig, diff: &str) -> String {
    // Under the 128 KiB a single argument may have: Claude Code and Gemini CLI take the prompt as one.
    const DIFF_LIMIT: usize = 96 * 1024;
    let mut out = String::from(
        "# Review\n\nYou are reviewing a change before it lands. Do not edit any file.\n\n",
    );
    if let Some(task) = task {
        out.push_str(&format!("## The task\n\n{}: {}\n", task.id, task.title));
        if !task.description.trim().is_empty() {
            out.push_str(&format!("\n{}\n", task.description));
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "## What to judge\n\nThe `{}` of the change (the gate `{}`).\n\n## The diff\n\n```diff\n",
        gate.dimension, gate.name
    ));
    if diff.len() > DIFF_LIMIT {
        let mut cut = DIFF_LIMIT;
        while !diff.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&diff[..cut]);
        out.push_str(&format!(
            "\n... ({} more bytes not shown)\n",
            diff.len() - cut
        ));
    } else {
        out.push_str(diff);
    }
    out.push_str(
        "```\n\n## Your answer\n\nEnd your answer with one JSON object on its own line:\n\n\
         {\"score\": <a number from 0 to 1>, \"issues\": [\"...\"], \"suggestions\": [\"...\"]}\n\n\
         1 means the change is excellent in this respect, 0 that it is unacceptable.\n\n\
         If the review showed you something later changes in this repository should know (a \
         convention, a pitfall), add it to the object as \
         `\"learnings\": [{\"topic\": \"...\", \"content\": \"...\", \"confidence\": <0 to 1>}]`; \
         the agents of later tasks are told it.\n",
    );
    out
}

/// The diff a critic reviews: base to the candidate commit, or to the working tree as it is.
fn critic_diff(git: &Git, candidate: &Candidate<'_>) -> Result<String> {
    Ok(match candidate.commit {
        Some(commit) => git.diff(candidate.base, commit)?,
        None => git.diff_working_tree(candidate.worktree, candidate.base)?,
    })
}

/// The last `lines` lines of a file.
pub(super) fn tail_text(path: &Path, lines: usize) -> String {
    let text = std::fs::read(path).unwrap_or_default();
    let start = text.len().saturating_sub(64 * 1024);
    let text = String::from_utf8_lossy(&text[start..]);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
