//! Running a planner: an agent that breaks an epic (or, for a roadmap extension, the next phase)
//! into a task graph. It runs read-only in a worktree at the base tip, as critics do, and answers
//! with a JSON plan, in the CLI's own structured-output mode where it has one. vane validates
//! every answer itself; a refused answer is sent back once with every problem listed (in the same
//! session where the CLI can resume one), and then the plan fails and nothing is written.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use serde_json::json;

use crate::agent::{self, OutputParser, Profile, TemplateVars};
use crate::config::Config;
use crate::git::Git;
use crate::model::{TaskId, TaskStatus};
use crate::orchestrator::{base_branch, profiles, OrchestratorError, Result};
use crate::plan::prompt::{self, Brief, EpicBrief, Layout, Progress};
use crate::plan::{self, Plan};
use crate::prompt::LandedDependency;
use crate::roadmap::RoadmapTask;
use crate::store::{NewCost, PlanApplied, PlanEpic, PlanToApply, Store, TaskFilter};
use crate::workspace::{self, Workspace};

/// How many tracked paths the planner's prompt lists.
const LAYOUT_FILES: usize = 300;

/// How much of the README the planner's prompt carries: lines, then bytes.
const README_LINES: usize = 60;
const README_BYTES: usize = 8 * 1024;

/// How many times a planner is asked: its first answer, and one more after a refusal.
const ANSWERS: u32 = 2;

/// What to plan, and with what.
#[derive(Debug, Clone)]
pub struct PlanOptions<'a> {
    /// The agent profile that plans.
    pub profile: &'a str,
    pub max_tasks: usize,
    /// Whether the epic's pending tasks may be planned again (`--replace`): their ids may be
    /// reused, and those the plan leaves out are set aside.
    pub replace: bool,
    /// For a roadmap extension: how the batch went.
    pub progress: Option<&'a Progress>,
}

/// One run of the planner.
#[derive(Debug, Clone, Serialize)]
pub struct PlannerRun {
    /// 1 for the first answer, 2 for the one after a refusal.
    pub answer: u32,
    pub session: Option<String>,
    /// What it cost: as the planner reported, else its tokens at the price of its model.
    pub cost_usd: Option<f64>,
    pub cost_source: Option<crate::prices::CostSource>,
    pub model: Option<String>,
    pub input_tokens: Option<u64>,
    pub cached_input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    /// Whether it went on in the session of the first answer.
    pub resumed: bool,
    /// Whether the CLI was held to the schema by its own structured-output mode.
    pub structured: bool,
    pub seconds: f64,
    /// Where its prompt, output and schema are.
    pub dir: PathBuf,
    /// What was wrong with its answer; empty for the accepted one.
    pub problems: Vec<String>,
}

/// A plan the planner proposed and vane accepted; nothing is written yet.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub plan: Plan,
    pub profile: String,
    pub runs: Vec<PlannerRun>,
}

impl Proposal {
    /// What the planner cost, where it said.
    pub fn cost_usd(&self) -> Option<f64> {
        self.runs
            .iter()
            .filter_map(|r| r.cost_usd)
            .reduce(|a, b| a + b)
    }

    /// The planner's runs as the cost ledger keeps them (`costs`): `kind` is `plan` or
    /// `extension`, `batch` the batch an extension ran in.
    pub fn spending(&self, kind: &'static str, batch: Option<i64>) -> Vec<NewCost> {
        self.runs
            .iter()
            .map(|run| NewCost {
                kind,
                batch,
                profile: Some(self.profile.clone()),
                model: run.model.clone(),
                input_tokens: run.input_tokens,
                cached_input_tokens: run.cached_input_tokens,
                output_tokens: run.output_tokens,
                cost_usd: run.cost_usd,
                cost_source: run.cost_source,
                correlation: run.session.clone(),
            })
            .collect()
    }

    /// The plan's tasks as the graph stores them: children of `epic`.
    pub fn tasks(&self, epic: &TaskId) -> Vec<RoadmapTask> {
        self.plan
            .tasks
            .iter()
            .map(|t| RoadmapTask {
                id: t.id.clone(),
                title: t.title.clone(),
                description: t.description.clone(),
                kind: t.kind,
                complexity: Some(t.complexity),
                parent: Some(epic.clone()),
                deps: t.deps.clone(),
                run: None,
                agent: t.agent.clone(),
                paths: t.paths.clone(),
            })
            .collect()
    }

    /// Writes the plan in one transaction with its event (`planned`, or `roadmap_extended`):
    /// the planner, its sessions and cost, and its rationale.
    pub fn apply(
        &self,
        store: &mut Store,
        epic: PlanEpic,
        replace: bool,
        event: &'static str,
        actor: &str,
        batch: Option<i64>,
    ) -> Result<PlanApplied> {
        let tasks = self.tasks(epic.id());
        let rationales: serde_json::Map<String, serde_json::Value> = self
            .plan
            .tasks
            .iter()
            .filter_map(|t| Some((t.id.to_string(), json!(t.rationale.as_ref()?))))
            .collect();
        let details = json!({
            "planner": self.profile,
            "sessions": self.runs.iter().filter_map(|r| r.session.as_ref()).collect::<Vec<_>>(),
            "answers": self.runs.len(),
            "cost_usd": self.cost_usd(),
            "rationale": self.plan.rationale,
            "task_rationales": rationales,
        });
        Ok(store.apply_plan(&PlanToApply {
            epic,
            tasks: &tasks,
            replace,
            event,
            details,
            actor,
            costs: &self.spending(if batch.is_some() { "extension" } else { "plan" }, batch),
        })?)
    }
}

/// Asks the planner for a plan of `epic` and validates it; writes nothing to the graph.
pub fn propose(
    workspace: &Workspace,
    config: &Config,
    epic: &EpicBrief<'_>,
    options: &PlanOptions<'_>,
) -> Result<Proposal> {
    let profile = profiles::resolve(config, options.profile)?;
    let git = Git::open(&workspace.location.workdir)?;
    let base = base_branch(workspace, config)?;
    let tip = git
        .branch_tip(&base)?
        .ok_or_else(|| OrchestratorError::NoBaseBranch(base.clone()))?;
    let runs_dir = next_run_dir(&workspace::state_dir(&workspace.location), epic.id)?;
    let worktree = workspace::worktree_root(workspace, config).join(format!(
        "plan-{}-{}",
        epic.id,
        std::process::id()
    ));
    git.ensure_worktree(&worktree, &tip)?;
    let planned = (|| {
        let store = &workspace.store;
        let layout = layout(&git, &tip, &worktree)?;
        let brief_parts = BriefParts::gather(store, &git, epic.id)?;
        let schema_text = plan::schema_text();
        let first = prompt::planner_prompt(&Brief {
            epic: epic.clone(),
            dependencies: &brief_parts.dependencies,
            context: &brief_parts.context,
            layout: &layout,
            graph: &brief_parts.graph,
            max_tasks: options.max_tasks,
            schema: &schema_text,
            progress: options.progress,
        });
        let check = Checker::new(store, config, epic.id, options)?;
        let planner = Planner {
            profile: &profile,
            config,
            worktree: &worktree,
            epic: epic.id,
            schema: &schema_text,
        };
        let mut runs: Vec<PlannerRun> = Vec::new();
        for answer in 1..=ANSWERS {
            let dir = runs_dir.join(answer.to_string());
            let earlier = runs.last();
            let session = earlier.and_then(|r| r.session.as_deref());
            let problems_text = earlier
                .map(|r| plan::problems_text(&r.problems))
                .unwrap_or_default();
            let (run, read) = planner.ask(&dir, answer, &first, session, &problems_text)?;
            match read.map(|value| check.validate(&value)) {
                Some(Ok(plan)) => {
                    runs.push(run);
                    return Ok(Proposal {
                        plan,
                        profile: profile.name.clone(),
                        runs,
                    });
                }
                Some(Err(problems)) => runs.push(PlannerRun { problems, ..run }),
                None => runs.push(run),
            }
        }
        Err(OrchestratorError::PlanRefused {
            profile: profile.name.clone(),
            runs,
        })
    })();
    // Made for this plan alone: nothing in it is anyone's work.
    let removed = git.remove_worktree(&worktree);
    let proposal = planned?;
    removed?;
    Ok(proposal)
}

/// Checks a plan no planner run wrote (one an MCP client submits) exactly as a planner's answer is
/// checked, against the graph as it is now: the plan, or every problem with it.
pub(crate) fn check_plan(
    store: &Store,
    config: &Config,
    epic: &str,
    options: &PlanOptions<'_>,
    answer: &serde_json::Value,
) -> Result<std::result::Result<Plan, Vec<String>>> {
    Ok(Checker::new(store, config, epic, options)?.validate(answer))
}

/// The pieces of the prompt that come from the graph.
struct BriefParts {
    dependencies: Vec<LandedDependency>,
    context: Vec<crate::model::ContextEntry>,
    graph: Vec<crate::model::Task>,
}

impl BriefParts {
    fn gather(store: &Store, git: &Git, epic: &str) -> Result<BriefParts> {
        let dependencies = match TaskId::new(epic) {
            Ok(id) if store.task(&id).is_ok() => super::landed_dependencies(store, git, &id)?,
            _ => Vec::new(),
        };
        Ok(BriefParts {
            dependencies,
            context: store.context_entries(None, None, None)?,
            graph: store.tasks(&TaskFilter::default())?,
        })
    }
}

/// The repository at the base tip: some of its tracked paths and the head of its README.
fn layout(git: &Git, tip: &str, worktree: &Path) -> Result<Layout> {
    let all = git.tracked_paths(tip)?;
    let readme = [
        "README.md",
        "README",
        "README.rst",
        "README.txt",
        "readme.md",
    ]
    .iter()
    .find(|name| all.iter().any(|p| p == *name))
    .and_then(|name| {
        let text = std::fs::read(worktree.join(name)).ok()?;
        let text = String::from_utf8_lossy(&text[..text.len().min(README_BYTES)]).into_owned();
        let head: Vec<&str> = text.lines().take(README_LINES).collect();
        Some((name.to_string(), head.join("\n")))
    });
    Ok(Layout {
        total: all.len(),
        files: all.into_iter().take(LAYOUT_FILES).collect(),
        readme,
    })
}

/// `<state>/runs/plan/<epic>/<n>`, the first `n` not used yet.
fn next_run_dir(state_dir: &Path, epic: &str) -> Result<PathBuf> {
    let root = state_dir.join("runs").join("plan").join(epic);
    std::fs::create_dir_all(&root).map_err(|e| OrchestratorError::io(&root, e))?;
    let used = std::fs::read_dir(&root)
        .map_err(|e| OrchestratorError::io(&root, e))?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .max()
        .unwrap_or(0);
    Ok(root.join((used + 1).to_string()))
}

/// What the answers are validated against: the graph as it is now.
struct Checker<'a> {
    existing: Vec<crate::graph::Node>,
    edges: Vec<(TaskId, TaskId)>,
    /// The epic, when it is in the graph already.
    epic: Option<TaskId>,
    replaceable: std::collections::HashSet<TaskId>,
    max_tasks: usize,
    config: &'a Config,
}

impl<'a> Checker<'a> {
    fn new(
        store: &Store,
        config: &'a Config,
        epic: &str,
        options: &PlanOptions<'_>,
    ) -> Result<Checker<'a>> {
        let mut tasks = store.tasks(&TaskFilter::default())?;
        tasks.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        let replaceable = tasks
            .iter()
            .filter(|t| {
                options.replace
                    && t.status == TaskStatus::Pending
                    && t.parent.as_ref().is_some_and(|p| p.as_str() == epic)
            })
            .map(|t| t.id.clone())
            .collect();
        let epic = tasks
            .iter()
            .find(|t| t.id.as_str() == epic)
            .map(|t| t.id.clone());
        let existing = tasks
            .into_iter()
            .enumerate()
            .map(|(age, t)| crate::graph::Node {
                id: t.id,
                kind: t.kind,
                status: t.status,
                complexity: t.complexity,
                parent: t.parent,
                age: age as i64,
            })
            .collect();
        Ok(Checker {
            existing,
            edges: store.blocks_edges()?,
            epic,
            replaceable,
            max_tasks: options.max_tasks,
            config,
        })
    }

    fn validate(&self, answer: &serde_json::Value) -> std::result::Result<Plan, Vec<String>> {
        plan::validate(
            answer,
            &plan::Context {
                existing: &self.existing,
                edges: &self.edges,
                epic: self.epic.as_ref(),
                replaceable: &self.replaceable,
                max_tasks: self.max_tasks,
                known_profile: &profiles::known(self.config),
            },
        )
        .map_err(|problems| problems.iter().map(ToString::to_string).collect())
    }
}

/// One planner, asked up to twice.
struct Planner<'a> {
    profile: &'a Profile,
    config: &'a Config,
    worktree: &'a Path,
    epic: &'a str,
    schema: &'a str,
}

impl Planner<'_> {
    /// Runs the planner once in `dir`: the first time with `first`, after a refusal with the
    /// problems, in `session` where the CLI can go on in one. Returns the run, and the answer it
    /// found, if any (the run's problems then say why there is none).
    fn ask(
        &self,
        dir: &Path,
        answer: u32,
        first: &str,
        session: Option<&str>,
        problems: &str,
    ) -> Result<(PlannerRun, Option<serde_json::Value>)> {
        std::fs::create_dir_all(dir.join("tmp")).map_err(|e| OrchestratorError::io(dir, e))?;
        let schema_file = dir.join("schema.json");
        std::fs::write(&schema_file, self.schema)
            .map_err(|e| OrchestratorError::io(&schema_file, e))?;
        let reviewing = if self.profile.confine && agent::confine::status().is_ok() {
            // Inside vane's confinement (to its worktree) a CLI's own sandbox may not start.
            self.profile.read_only().inside_confinement()
        } else {
            self.profile.read_only()
        };
        let structured = reviewing.answering_in(self.schema, &schema_file);
        let held = structured.clone().unwrap_or(reviewing);
        let resumed = if answer > 1 {
            session.and_then(|s| held.resuming(s))
        } else {
            None
        };
        let prompt = match (answer, &resumed) {
            (1, _) => first.to_string(),
            (_, Some(_)) => prompt::retry_prompt(problems),
            (_, None) => prompt::retry_prompt_afresh(first, problems),
        };
        let profile = resumed.as_ref().unwrap_or(&held);
        let prompt_file = dir.join("prompt.md");
        std::fs::write(&prompt_file, &prompt)
            .map_err(|e| OrchestratorError::io(&prompt_file, e))?;
        let stdout = dir.join("output.log");
        let stderr = dir.join("stderr.log");
        let vars = TemplateVars {
            prompt: &prompt,
            prompt_file: &prompt_file,
            task_id: self.epic,
            worktree: self.worktree,
            run: None,
        };
        let mut invocation = profile.invocation(&vars, stdout.clone(), stderr.clone())?;
        invocation.log_limit = self.config.log_limit();
        invocation
            .env
            .push(("VANE_TASK_ID".into(), self.epic.to_string()));
        // The mark by which a later vane finds and stops what the planner of a killed vane left.
        invocation.env.push((
            agent::strays::WORKTREE_MARK.into(),
            self.worktree.display().to_string(),
        ));
        if profile.confine {
            invocation.confine = Some(
                agent::Confinement::to_worktree(self.worktree, &dir.join("tmp"))
                    .with_declared(&profile.writable),
            );
        }
        let started = Instant::now();
        let outcome = agent::run(&invocation)?;
        if agent::interrupted() {
            return Err(OrchestratorError::Interrupted);
        }
        let report = agent::parse_run(profile.parser, &stdout, &stderr);
        let model = report.model.clone().or_else(|| profile.model.clone());
        let cost = self.config.price_table().cost(
            report.cost_usd,
            crate::prices::Tokens {
                input: report.input_tokens,
                cached_input: report.cached_input_tokens,
                output: report.output_tokens,
            },
            model.as_deref(),
        );
        let mut run = PlannerRun {
            answer,
            session: report.session_id.clone(),
            cost_usd: cost.usd,
            cost_source: cost.source,
            model,
            input_tokens: report.input_tokens,
            cached_input_tokens: report.cached_input_tokens,
            output_tokens: report.output_tokens,
            resumed: resumed.is_some(),
            structured: structured.is_some(),
            seconds: started.elapsed().as_secs_f64(),
            dir: dir.to_path_buf(),
            problems: Vec::new(),
        };
        if outcome.timed_out {
            run.problems.push(format!(
                "the planner `{}` timed out after {} s",
                profile.name,
                invocation.timeout.as_secs()
            ));
            return Ok((run, None));
        }
        let found = read_answer(profile.parser, &stdout)
            .or_else(|| plan::last_json_object(&agent::read_tail_text(&stderr)));
        if found.is_none() {
            let tail = crate::orchestrator::gates::tail_text(&stdout, 5);
            let said = report.message.as_deref().unwrap_or(tail.as_str());
            run.problems.push(format!(
                "no plan in the answer: expected one JSON object with a \"tasks\" list{}; the \
                 planner {}, and its last words were: {}",
                if structured.is_some() {
                    " (in the structured output)"
                } else {
                    ""
                },
                match outcome.exit_code {
                    Some(0) => "exited 0".to_string(),
                    Some(code) => format!("exited with {code}"),
                    None => "was killed by a signal".to_string(),
                },
                if said.trim().is_empty() {
                    "nothing"
                } else {
                    said.trim()
                }
            ));
        }
        Ok((run, found))
    }
}

/// The planner's answer in what it printed: Claude Code's structured output or result text,
/// Codex's last message, else the last JSON object with a `tasks` list.
fn read_answer(parser: OutputParser, stdout: &Path) -> Option<serde_json::Value> {
    let text = agent::read_tail_text(stdout);
    match parser {
        OutputParser::ClaudeJson => plan::from_claude_result(&text),
        OutputParser::CodexJsonl => plan::from_codex_jsonl(&text),
        _ => None,
    }
    .or_else(|| plan::last_json_object(&text))
}
