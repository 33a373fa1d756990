use std::io::{BufRead, IsTerminal, Write};

use crate::cli::CommandEnv;
use crate::config::Config;
use crate::error::CliError;
use crate::model::{check_text, check_title, TaskId, TaskStatus, TaskType};
use crate::orchestrator::planner::{self, PlanOptions, Proposal};
use crate::plan::prompt::EpicBrief;
use crate::store::{PlanEpic, TaskChange, TaskFilter};

/// How many tasks a plan may hold when `--max-tasks` is not given.
const DEFAULT_MAX_TASKS: u16 = 12;

/// Break an epic, or a goal, into a task graph with a planner agent
///
/// The planner (an agent profile: `--agent`, else `planner` in vane.toml, else `claude`) runs
/// read-only in a worktree at the base tip. It is given the epic, what its dependencies landed,
/// the context entries, the repository's layout, the tasks already in the graph, and the JSON
/// Schema of its answer (`vane plan --schema`); Claude Code and Codex are held to the schema by
/// their own structured-output mode. vane checks every answer itself: ids, dependencies, cycles,
/// complexity, paths, profiles, the number of tasks. A refused answer goes back to the planner
/// once with every problem listed (in the same session, where the CLI can resume one); when the
/// second answer is refused too, nothing is written. A valid plan is written in one transaction,
/// with a `planned` event holding the planner's session, cost and rationale.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  vane plan auth                              plan the epic `auth`, which has no tasks yet
  vane plan \"Add sign-in with email\" --id auth  make the epic from a goal, then plan it
  vane plan auth --dry-run                    show the plan, write nothing
  vane plan auth --agent codex --max-tasks 6
  vane plan auth --replace --yes              plan the epic again (only pending tasks change)
  vane plan --schema > plan.schema.json       the JSON Schema a planner answers in")]
pub struct Args {
    /// An epic's id, or a goal in words (a new epic is made from it)
    #[arg(required_unless_present = "schema")]
    target: Option<String>,

    /// The id of the epic made from a goal (default: made from the goal's words)
    #[arg(long, value_name = "ID")]
    id: Option<String>,

    /// The agent profile that plans (default: `planner` in vane.toml, else `claude`)
    #[arg(long, value_name = "PROFILE")]
    agent: Option<String>,

    /// Print the plan and change nothing
    #[arg(long)]
    dry_run: bool,

    /// The most tasks the plan may hold
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_TASKS,
          value_parser = clap::value_parser!(u16).range(1..=500))]
    max_tasks: u16,

    /// Plan an epic that has tasks again: its pending tasks are replaced, the rest kept
    #[arg(long, conflicts_with = "add")]
    replace: bool,

    /// Add the plan's tasks to an epic that has tasks already
    #[arg(long)]
    add: bool,

    /// Write the plan without asking first (asked only on a terminal)
    #[arg(long, short = 'y')]
    yes: bool,

    /// Print the JSON Schema of a planner's answer and exit
    #[arg(long, conflicts_with_all = ["target", "dry_run", "replace", "add"])]
    schema: bool,
}

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    if args.schema {
        env.ui.data(&crate::plan::schema_text())?;
        return Ok(());
    }
    let target = args.target.clone().unwrap_or_default();
    let mut workspace = env.workspace()?;
    let config = Config::load(&workspace.location.workdir)?;
    let epic = resolve_epic(&workspace.store, &target, args.id.as_deref(), &args)?;
    let profile = args
        .agent
        .clone()
        .unwrap_or_else(|| config.planner().to_string());
    let brief = match &epic {
        PlanEpic::Existing(id) => {
            let task = workspace.store.task(id)?;
            (id.to_string(), task.title, task.description)
        }
        PlanEpic::New {
            id,
            title,
            description,
        } => (id.to_string(), title.clone(), description.clone()),
    };
    env.ui.status(&format!(
        "Planning `{}` with `{profile}` (at most {} tasks)...",
        brief.0, args.max_tasks
    ));
    let proposal = planner::propose(
        &workspace,
        &config,
        &EpicBrief {
            id: &brief.0,
            title: &brief.1,
            description: &brief.2,
        },
        &PlanOptions {
            profile: &profile,
            max_tasks: usize::from(args.max_tasks),
            replace: args.replace,
            progress: None,
        },
    )?;
    if args.dry_run {
        return show(env, &epic, &proposal, None);
    }
    if !args.yes && !env.ui.json() && std::io::stdin().is_terminal() {
        print_plan(env, epic.id(), &proposal)?;
        if !confirmed(&format!(
            "Write these {} tasks into `{}`? [y/N] ",
            proposal.plan.tasks.len(),
            epic.id()
        ))? {
            env.ui.status("Nothing was written.");
            return Ok(());
        }
    }
    let applied = proposal.apply(
        &mut workspace.store,
        epic.clone(),
        args.replace,
        "planned",
        &super::task::person(),
        None,
    )?;
    show(env, &epic, &proposal, Some(&applied))
}

/// The epic the command plans: one that exists (refused when it has tasks, unless `--replace` or
/// `--add`), or a new one made from a goal.
fn resolve_epic(
    store: &crate::store::Store,
    target: &str,
    id: Option<&str>,
    args: &Args,
) -> Result<PlanEpic, CliError> {
    let existing = TaskId::new(target).ok().filter(|t| store.task(t).is_ok());
    if let (Some(existing), None) = (existing, id) {
        let task = store.task(&existing)?;
        if task.kind != TaskType::Epic {
            return Err(CliError::refused(format!(
                "`{existing}` is a {}, not an epic: `vane plan` breaks an epic into tasks",
                task.kind
            ))
            .with_hint(format!(
                "to plan a goal, give it in words: vane plan \"{}\"",
                task.title
            )));
        }
        let children = store.tasks(&TaskFilter {
            parent: Some(existing.clone()),
            ..Default::default()
        })?;
        if !children.is_empty() && !args.replace && !args.add {
            let pending = children
                .iter()
                .filter(|t| t.status == TaskStatus::Pending)
                .count();
            return Err(CliError::refused(format!(
                "the epic `{existing}` has {} task{} already ({pending} pending)",
                children.len(),
                if children.len() == 1 { "" } else { "s" }
            ))
            .with_hint(
                "--replace plans it again (only pending tasks are replaced); --add adds to them",
            ));
        }
        return Ok(PlanEpic::Existing(existing));
    }
    let goal = target.trim();
    check_title(goal).map_err(|why| CliError::refused(format!("the goal {why}")))?;
    // One word that could be an id is more likely a mistyped epic than a goal.
    if id.is_none() && TaskId::new(goal).is_ok() {
        let epics: Vec<String> = store
            .tasks(&TaskFilter::default())?
            .into_iter()
            .filter(|t| t.kind == TaskType::Epic)
            .map(|t| t.id.to_string())
            .collect();
        let names: Vec<&str> = epics.iter().map(String::as_str).collect();
        let mut error = CliError::refused(format!("no epic `{goal}`"));
        if let Some(near) = crate::suggest::did_you_mean(goal, &names) {
            error = error.with_hint(format!("did you mean `{near}`?"));
        }
        return Err(error.with_hint(format!(
            "to make a new epic from the goal `{goal}`, give it an id: vane plan {goal} --id <ID>"
        )));
    }
    if args.replace || args.add {
        return Err(CliError::refused(format!(
            "no epic `{goal}` to plan again; without --replace or --add, `vane plan` makes an epic from the goal"
        )));
    }
    let id = match id {
        Some(id) => {
            let id = TaskId::new(id).map_err(|e| CliError::refused(e.to_string()))?;
            if store.task(&id).is_ok() {
                return Err(CliError::refused(format!("a task `{id}` exists already"))
                    .with_hint(format!("to plan it, run: vane plan {id}")));
            }
            id
        }
        None => id_from_goal(goal, |id| store.task(id).is_ok()),
    };
    check_text(goal).map_err(|why| CliError::refused(format!("the goal {why}")))?;
    Ok(PlanEpic::New {
        id,
        title: goal.to_string(),
        description: String::new(),
    })
}

/// An id made of the goal's first words (`Add sign-in with email` → `add-sign-in-with`), with a
/// number after it when taken.
fn id_from_goal(goal: &str, taken: impl Fn(&TaskId) -> bool) -> TaskId {
    let mut stem = String::new();
    for word in goal
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if stem.len() + word.len() > 24 && !stem.is_empty() {
            break;
        }
        if !stem.is_empty() {
            stem.push('-');
        }
        stem.push_str(&word.to_ascii_lowercase());
    }
    if stem.is_empty() {
        stem.push_str("epic");
    }
    stem.truncate(40);
    let mut n = 1;
    loop {
        let candidate = match n {
            1 => stem.clone(),
            n => format!("{stem}-{n}"),
        };
        match TaskId::new(candidate) {
            Ok(id) if !taken(&id) => return id,
            Ok(_) => n += 1,
            // Letters, digits and `-` only, starting with a letter or digit: never here.
            Err(_) => stem = "epic".to_string(),
        }
    }
}

/// Asks a question on the terminal; yes only for `y` or `yes`.
fn confirmed(question: &str) -> Result<bool, CliError> {
    eprint!("{question}");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

fn print_plan(env: &CommandEnv<'_>, epic: &TaskId, proposal: &Proposal) -> Result<(), CliError> {
    let mut out = String::new();
    if let Some(rationale) = &proposal.plan.rationale {
        out.push_str(&format!("{}\n\n", rationale.trim()));
    }
    for task in &proposal.plan.tasks {
        let deps: Vec<String> = task
            .deps
            .iter()
            .map(|(id, kind)| match kind {
                crate::model::DepKind::Blocks => id.to_string(),
                kind => format!("{id} ({kind})"),
            })
            .collect();
        out.push_str(&format!(
            "  {} [{} {}] {}\n",
            task.id,
            task.kind,
            task.complexity.get(),
            task.title
        ));
        if !deps.is_empty() {
            out.push_str(&format!("      after: {}\n", deps.join(", ")));
        }
        if !task.paths.is_empty() {
            out.push_str(&format!("      paths: {}\n", task.paths.join(", ")));
        }
        if let Some(agent) = &task.agent {
            out.push_str(&format!("      agent: {agent}\n"));
        }
    }
    env.ui.status(&format!(
        "The plan of `{epic}` ({} tasks):",
        proposal.plan.tasks.len()
    ));
    env.ui.data(out.trim_end())?;
    Ok(())
}

fn show(
    env: &CommandEnv<'_>,
    epic: &PlanEpic,
    proposal: &Proposal,
    applied: Option<&crate::store::PlanApplied>,
) -> Result<(), CliError> {
    if env.ui.json() {
        let tasks: Vec<serde_json::Value> = proposal
            .plan
            .tasks
            .iter()
            .map(|t| {
                serde_json::json!({
                    "id": t.id,
                    "title": t.title,
                    "description": t.description,
                    "type": t.kind,
                    "complexity": t.complexity.get(),
                    "deps": t.deps.iter().map(|(id, kind)| serde_json::json!({"id": id, "kind": kind})).collect::<Vec<_>>(),
                    "paths": t.paths,
                    "agent": t.agent,
                    "rationale": t.rationale,
                })
            })
            .collect();
        env.ui.json_value(&serde_json::json!({
            "epic": epic.id(),
            "new_epic": matches!(epic, PlanEpic::New { .. }),
            "dry_run": applied.is_none(),
            "planner": proposal.profile,
            "cost_usd": proposal.cost_usd(),
            "rationale": proposal.plan.rationale,
            "tasks": tasks,
            "runs": proposal.runs,
            "changes": applied.map(|a| &a.changes),
            "replaced": applied.map(|a| &a.replaced),
            "event": applied.map(|a| a.event),
        }))?;
        return Ok(());
    }
    print_plan(env, epic.id(), proposal)?;
    let answers = proposal.runs.len();
    let cost = proposal
        .cost_usd()
        .map(|c| format!(", ${c:.4}"))
        .unwrap_or_default();
    let tries = if answers == 1 {
        "its first answer".to_string()
    } else {
        format!("answer {answers}, after the first was refused")
    };
    match applied {
        None => env.ui.status(&format!(
            "Dry run: nothing was written (planner `{}`, {tries}{cost}).",
            proposal.profile
        )),
        Some(applied) => {
            let added = applied
                .changes
                .iter()
                .filter(|c| matches!(c, TaskChange::Added { .. }))
                .count();
            let updated = applied
                .changes
                .iter()
                .filter(|c| matches!(c, TaskChange::Updated { .. }))
                .count();
            let updated = match updated {
                0 => String::new(),
                n => format!(", {n} planned again"),
            };
            let mut summary = format!(
                "Planned `{}`: {added} task{} added{updated} (planner `{}`, {tries}{cost}).",
                epic.id(),
                if added == 1 { "" } else { "s" },
                proposal.profile
            );
            if !applied.replaced.is_empty() {
                summary.push_str(&format!(
                    " Replaced and blocked: {}.",
                    applied
                        .replaced
                        .iter()
                        .map(TaskId::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            env.ui.status(&summary);
            env.ui.status("Run `vane work` to start on it.");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_epic_id_is_made_of_the_goals_first_words_and_a_number_when_taken() {
        let none = |_: &TaskId| false;
        assert_eq!(
            id_from_goal("Add sign-in with email and password", none).as_str(),
            "add-sign-in-with-email"
        );
        assert_eq!(id_from_goal("¿¡!", none).as_str(), "epic");
        let taken = |id: &TaskId| id.as_str() == "billing";
        assert_eq!(id_from_goal("Billing", taken).as_str(), "billing-2");
    }
}
