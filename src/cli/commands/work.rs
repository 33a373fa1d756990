use crate::cli::progress::WorkDisplay;
use crate::cli::CommandEnv;
use crate::config::Config;
use crate::error::CliError;
use crate::model::TaskId;
use crate::orchestrator::profiles::{self, Why};
use crate::orchestrator::{self, Progress, WorkOptions};
use crate::ui::printable;

/// Run a batch: agents work on ready tasks in parallel worktrees, and what passes the gates lands
///
/// Each worker takes the highest-priority ready task, prepares its own worktree on branch
/// `vane/<task>` from the tip of the base branch, and runs the task's agent there. What the agent
/// leaves is committed on the task branch. Finished branches land one at a time: merged with the
/// current base tip in memory, checked by the gates of vane.toml on exactly that tree, and moved onto
/// base by compare-and-swap. Every landing is a checkpoint (`vane checkpoints`, `vane rollback`). A
/// task that fails, changes nothing, conflicts or falls short of a gate is tried again with the
/// feedback, up to `max_attempts`, then blocked. After a crash, the next `vane work` resumes.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  vane work
  vane work --workers 8
  vane work --task T3 --task T7          only these and what they need
  vane work --dry-run                    show what would start, wave by wave; run nothing
  vane work --budget 10                  start no attempt once $10 is spent
  vane work --executor cluster           run the attempts as jobs of [executor.cluster]
  vane work --land-to origin             push base to origin after landings

Exit status: 0 when every selected task landed, 1 otherwise.")]
pub struct Args {
    /// How many agents work at once (default: `workers` of vane.toml, 4 when unset)
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    workers: Option<u16>,

    /// Only this task and what it needs (repeatable)
    #[arg(long = "task", value_name = "ID")]
    tasks: Vec<TaskId>,

    /// Start at most N tasks
    #[arg(long, value_name = "N")]
    max_tasks: Option<usize>,

    /// Print what would start, wave by wave, with each task's agent profile: wave 1 on the free
    /// workers now, each next wave once the one before it landed, and the tasks held back because
    /// their paths overlap a task's that runs or starts first; run nothing
    #[arg(long)]
    dry_run: bool,

    /// Do not extend the roadmap in this batch, whatever `[extend]` in vane.toml says
    #[arg(long)]
    no_extend: bool,

    /// Show the live dashboard (`vane dash`) while the batch runs: `q` leaves it with the batch
    /// going on, Ctrl-C stops the batch
    #[arg(long, conflicts_with = "dry_run")]
    dash: bool,

    /// What the batch may spend, in USD (over `batch_usd` in [budget]): once spent, no attempt
    /// starts; running ones finish and land
    #[arg(long, value_name = "USD", value_parser = parse_budget)]
    budget: Option<f64>,

    /// Run the attempts on this executor (an [executor.NAME] of vane.toml, or `local`): each as
    /// a job running `vane worker`, its result gated and landed here. Routes that name an
    /// executor keep theirs
    #[arg(long, value_name = "NAME")]
    executor: Option<String>,

    /// Push the base branch to this remote after landings (over `land_to` of vane.toml), never
    /// overwriting a push made by someone else
    #[arg(long, value_name = "REMOTE")]
    land_to: Option<String>,
}

/// A budget in USD: a number of 0 or more, with or without a `$`.
fn parse_budget(text: &str) -> Result<f64, String> {
    match text.trim().trim_start_matches('$').parse::<f64>() {
        Ok(usd) if usd.is_finite() && usd >= 0.0 => Ok(usd),
        _ => Err(format!(
            "`{text}` is not an amount of USD; write one like 5 or 2.50"
        )),
    }
}

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    let mut workspace = env.workspace()?;
    let config = Config::load(&workspace.location.workdir)?;
    for id in &args.tasks {
        workspace.store.task(id)?;
    }
    let options = WorkOptions {
        workers: args.workers.map(usize::from),
        tasks: args.tasks,
        max_tasks: args.max_tasks,
        dry_run: args.dry_run,
        no_extend: args.no_extend,
        budget_usd: args.budget,
        executor: args.executor,
        land_to: args.land_to,
    };
    crate::agent::stop_agents_on_interrupt();
    let ui = env.ui;
    let summary = if args.dash {
        super::dash::work(env, &mut workspace, &config, &options)?
    } else {
        let display = WorkDisplay::new(ui);
        let report = |event: Progress| display.show(&event, &describe(ui, &event));
        let summary = orchestrator::work(&mut workspace, &config, &options, &report);
        display.finish();
        summary?
    };
    if args.dry_run {
        return print_forecast(env, &workspace.store, &config, &options, &summary);
    }
    if env.ui.json() {
        env.ui.json_value(&summary)?;
    } else if summary.batch.is_none() {
        env.ui
            .status("Nothing to do: no task is ready, waiting for a retry, or waiting to land.");
    } else {
        let mut text = format!(
            "Batch {} on {}: {} landed, {} blocked, {} waiting ({:.1} s",
            summary.batch.unwrap_or_default(),
            summary.base,
            summary.landed.len(),
            summary.blocked.len(),
            summary.left.len() + summary.needs_improvement.len(),
            summary.seconds
        );
        match summary.budget_usd {
            Some(budget) => text.push_str(&format!(", ${:.2} of ${budget:.2}", summary.cost_usd)),
            None if summary.cost_usd > 0.0 => text.push_str(&format!(", ${:.2}", summary.cost_usd)),
            None => {}
        }
        text.push(')');
        if summary.budget_reached {
            text.push_str(
                "\n  the budget was spent: no attempt started after that; `vane work` again (with \
                 a larger `--budget`) goes on",
            );
        }
        for (id, reason) in &summary.blocked {
            text.push_str(&format!(
                "\n  blocked {id}: {}",
                printable(first_line(reason))
            ));
        }
        if let Some(tip) = &summary.pushed {
            let land_to = options.land_to.as_deref().or(config.land_to.as_deref());
            text.push_str(&format!(
                "\n  pushed {} to {} at {}",
                summary.base,
                printable(land_to.unwrap_or_default()),
                crate::model::short_commit(tip)
            ));
        }
        if let Some(reason) = &summary.push_refused {
            text.push_str(&format!("\n  not pushed: {}", printable(reason)));
        }
        env.ui.status(&text);
    }
    if !summary.all_landed() {
        return Err(CliError::refused(format!(
            "{} of the selected tasks did not land",
            summary.blocked.len() + summary.left.len() + summary.needs_improvement.len()
        ))
        .with_hint("`vane status` shows where they stand; `vane task show <id>` why"));
    }
    Ok(())
}

/// A dry run's output: every wave with each task's profile and who chose it when a route or an
/// escalation did; in JSON, `waves` (and `agents`, the profiles of `schedule`) beside the summary.
fn print_forecast(
    env: &CommandEnv<'_>,
    store: &crate::store::Store,
    config: &Config,
    options: &WorkOptions,
    summary: &orchestrator::WorkSummary,
) -> Result<(), CliError> {
    let workers = options.worker_count(config);
    let mut tasks = std::collections::HashMap::new();
    for id in summary
        .schedule
        .iter()
        .chain(summary.waves.iter().flat_map(|w| &w.tasks))
        .chain(
            summary
                .waves
                .iter()
                .flat_map(|w| w.held.iter().map(|h| &h.task)),
        )
    {
        if !tasks.contains_key(id) {
            let charged = store.charged_attempts(id)?;
            tasks.insert(id.clone(), (store.task(id)?, charged));
        }
    }
    let next = |id: &TaskId| {
        tasks
            .get(id)
            .map(|(task, charged)| (task, profiles::next_agent(config, task, *charged)))
    };
    let agent_json = |id: &TaskId| {
        next(id).map(|(task, next)| {
            serde_json::json!({
                "task": task.id,
                "title": task.title,
                "profile": next.profile,
                "chosen_by": next.chosen_by(),
                "route": next.route(),
            })
        })
    };
    if env.ui.json() {
        let mut value = serde_json::to_value(summary).map_err(std::io::Error::other)?;
        if let Some(object) = value.as_object_mut() {
            let agents: Vec<serde_json::Value> =
                summary.schedule.iter().filter_map(agent_json).collect();
            object.insert("agents".to_string(), agents.into());
            let waves: Vec<serde_json::Value> = summary
                .waves
                .iter()
                .enumerate()
                .map(|(i, wave)| {
                    let tasks: Vec<serde_json::Value> =
                        wave.tasks.iter().filter_map(agent_json).collect();
                    serde_json::json!({
                        "wave": i + 1,
                        "tasks": tasks,
                        "held": wave.held,
                    })
                })
                .collect();
            object.insert("waves".to_string(), waves.into());
            object.insert("workers".to_string(), workers.into());
        }
        env.ui.json_value(&value)?;
        return Ok(());
    }
    if summary.waves.is_empty() {
        env.ui.status("Nothing is ready to start.");
        return Ok(());
    }
    let mut out = String::new();
    for (i, wave) in summary.waves.iter().enumerate() {
        if i == 0 {
            out.push_str(&format!(
                "Wave 1, starting now on {workers} worker{}:\n",
                if workers == 1 { "" } else { "s" }
            ));
        } else {
            out.push_str(&format!("Wave {}, once wave {i} has landed:\n", i + 1));
        }
        for id in &wave.tasks {
            let Some((task, next)) = next(id) else {
                continue;
            };
            // A route or an escalation is named; the task's own profile and the default are not.
            let why = match (&next.why, next.route()) {
                (_, Some(route)) => format!(" (route {route})"),
                (Why::Escalated { .. }, None) => " (escalated)".to_string(),
                (Why::Chosen(_), None) => String::new(),
            };
            out.push_str(&format!(
                "  {}  {}{why}  {}\n",
                task.id,
                printable(next.profile),
                printable(&task.title)
            ));
        }
        // Held back: its paths overlap those of a task that runs, waits to land, or starts first.
        for held in &wave.held {
            let Some((task, _)) = next(&held.task) else {
                continue;
            };
            out.push_str(&format!(
                "  {}  held behind {} ({})  {}\n",
                held.task,
                held.behind,
                printable(&held.paths.join(", ")),
                printable(&task.title)
            ));
        }
    }
    env.ui.data(&out)?;
    Ok(())
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// A reason on one line: its first line, and its last when there are more (a gate's output ends
/// with what went wrong).
fn gist(text: &str) -> String {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next().unwrap_or("");
    match lines.next_back() {
        Some(last) => format!("{} {}", first.trim_end_matches(':'), last.trim()),
        None => first.to_string(),
    }
}

/// One line for the person watching. What comes from outside vane (titles, reasons quoting what
/// agents and gates printed) is made printable before vane's colors are added.
pub(crate) fn describe(ui: &crate::ui::Ui, event: &Progress) -> String {
    let dim = console::Style::new().dim();
    match event {
        Progress::Recovered {
            abandoned,
            landings_completed,
            stopped,
            worktrees_removed,
        } => {
            let mut line = format!(
                "Recovered from an interrupted run: {abandoned} attempts abandoned (their tasks will run again, nothing charged), {landings_completed} landings completed"
            );
            if *stopped > 0 {
                line.push_str(&format!(", {stopped} leftover processes stopped"));
            }
            if *worktrees_removed > 0 {
                line.push_str(&format!(
                    ", {worktrees_removed} broken worktrees removed (made again when needed)"
                ));
            }
            line
        }
        Progress::BatchStarted {
            batch,
            base,
            tip,
            workers,
            ready,
        } => format!(
            "Batch {batch} on {base} at {}: {ready} ready, {workers} worker{}",
            tip.short(),
            if *workers == 1 { "" } else { "s" }
        ),
        Progress::Started {
            worker,
            task,
            title,
            profile,
            attempt,
        } => {
            let again = if *attempt > 1 {
                format!(", attempt {attempt}")
            } else {
                String::new()
            };
            format!(
                "{} {task} started: {} ({profile}{again})",
                ui.paint_err(dim, &format!("[w{worker}]")),
                printable(title)
            )
        }
        Progress::AgentDone {
            worker,
            task,
            outcome,
            seconds,
        } => format!(
            "{} {task} agent finished: {} ({seconds:.1} s)",
            ui.paint_err(dim, &format!("[w{worker}]")),
            outcome.as_str().replace('_', " ")
        ),
        Progress::Gating { task, ahead: 0 } => format!("       {task} gating the merge with base"),
        Progress::Gating { task, ahead } => format!(
            "       {task} gating the merge with base and the {ahead} candidate{} ahead of it",
            if *ahead == 1 { "" } else { "s" }
        ),
        Progress::HeldBack {
            task,
            behind,
            paths,
        } => format!(
            "       {task} waits for {behind} to land: both touch {}",
            paths.join(", ")
        ),
        Progress::Landed {
            task,
            sha,
            checkpoint,
        } => format!(
            "{} {task} landed as {} (checkpoint {checkpoint})",
            ui.paint_err(console::Style::new().green(), "  ok"),
            sha.short()
        ),
        Progress::Rejected {
            task,
            reason,
            retry,
        } => format!(
            "{} {task}: {}{}",
            ui.paint_err(console::Style::new().yellow(), "   !"),
            printable(&gist(reason)),
            if *retry { " (will retry)" } else { "" }
        ),
        Progress::Blocked { task, reason } => format!(
            "{} {task} blocked: {}",
            ui.paint_err(console::Style::new().red(), "   x"),
            printable(&gist(reason))
        ),
        Progress::Unconfined { why } => format!(
            "{} {why}",
            ui.paint_err(console::Style::new().yellow(), "warning:")
        ),
        Progress::NoGates => format!(
            "{} vane.toml has no [[gate]]: whatever the agents leave lands unchecked",
            ui.paint_err(console::Style::new().yellow(), "warning:")
        ),
        Progress::AwaitingApproval { task, paths } => format!(
            "{} {task} passed its gates but changes {}, which decide what lands: it waits for you \
             (`vane task show {task}` shows the change; `vane approve {task}` lands it, \
             `vane reject {task} --reason ...` sends it back)",
            ui.paint_err(console::Style::new().yellow(), "   ?"),
            paths.join(", ")
        ),
        Progress::ResultRefused {
            refname,
            reason,
            kept_as,
        } => format!(
            "{} {refname}: refused, not landed: {}{}",
            ui.paint_err(console::Style::new().yellow(), "   !"),
            printable(&gist(reason)),
            kept_as
                .as_ref()
                .map(|k| format!(" (kept as {k})"))
                .unwrap_or_default()
        ),
        Progress::Fault { task, reason } => format!(
            "{} {task}: vane could not run the attempt, which is not charged to the task: {}",
            ui.paint_err(console::Style::new().red(), "   x"),
            printable(&gist(reason))
        ),
        Progress::CheckoutBehind {
            checkout,
            old,
            new,
            reason,
            resumable: true,
        } => format!(
            "{} the base branch moved, but {} could not be brought along ({reason}); every file in it is whole, and the next `vane work` finishes bringing it from {} to {}",
            ui.paint_err(console::Style::new().yellow(), "warning:"),
            checkout.display(),
            old.short(),
            new.short()
        ),
        Progress::CheckoutBehind {
            checkout,
            old,
            new,
            reason,
            resumable: false,
        } => format!(
            "{} the base branch moved, but {} changed at that moment and was left as it is ({reason}); \
             to bring it along, keep your changes aside and run `git read-tree -m -u {old} {new}` there",
            ui.paint_err(console::Style::new().yellow(), "warning:"),
            checkout.display()
        ),
        Progress::Paused { .. } => crate::cli::progress::describe_pause(ui, event),
        Progress::Extension(extended) => describe_extension(ui, extended),
        Progress::BudgetReached {
            spent_usd,
            budget_usd,
        } => format!(
            "{} the batch spent ${spent_usd:.2} of its ${budget_usd:.2} budget: no new attempt \
             starts; those running finish and land",
            ui.paint_err(console::Style::new().yellow(), "budget:"),
        ),
        Progress::Pushed {
            remote,
            branch,
            tip,
            landed,
        } => format!(
            "{} pushed {branch} to {} at {}{}",
            ui.paint_err(console::Style::new().green(), "  ok"),
            printable(remote),
            tip.short(),
            match landed {
                0 => " (landings an earlier batch left here)".to_string(),
                1 => " (1 landing)".to_string(),
                n => format!(" ({n} landings)"),
            }
        ),
        Progress::PushRefused {
            remote,
            branch,
            found,
            reason,
        } => format!(
            "{} {branch} not pushed to {}{}: {}",
            ui.paint_err(console::Style::new().yellow(), "warning:"),
            printable(remote),
            found
                .as_ref()
                .map(|f| format!(" (there at {})", f.short()))
                .unwrap_or_default(),
            printable(reason)
        ),
        Progress::PullRequest {
            task,
            remote,
            output,
            ok: true,
        } => format!(
            "{} {task} pushed to {} for a pull request{}",
            ui.paint_err(console::Style::new().green(), "  ok"),
            printable(remote),
            match output.is_empty() {
                true => String::new(),
                false => format!(": {}", printable(output)),
            }
        ),
        Progress::PullRequest {
            task,
            remote,
            output,
            ok: false,
        } => format!(
            "{} {task} pushed to {}, but its pull request was not opened: {} (the batch goes on; \
             open it by hand)",
            ui.paint_err(console::Style::new().yellow(), "warning:"),
            printable(remote),
            printable(output)
        ),
    }
}

fn describe_extension(ui: &crate::ui::Ui, extended: &orchestrator::Extended) -> String {
    use orchestrator::Extended;
    match extended {
        Extended::Planning {
            profile,
            pending,
            done,
            total,
        } => format!(
            "The roadmap runs low ({done} of {total} done, {pending} pending): asking `{profile}` for the next phase"
        ),
        Extended::Added {
            epic,
            tasks,
            rationale,
            ..
        } => {
            let ids: Vec<&str> = tasks.iter().map(TaskId::as_str).collect();
            let why = rationale
                .as_deref()
                .map(|r| format!(": {}", printable(r.lines().next().unwrap_or_default())))
                .unwrap_or_default();
            format!(
                "Roadmap extended with {} task{} in `{epic}` ({}){why}",
                tasks.len(),
                if tasks.len() == 1 { "" } else { "s" },
                ids.join(", ")
            )
        }
        Extended::Failed { why } => format!(
            "{} the roadmap could not be extended, and the batch goes on: {}",
            ui.paint_err(console::Style::new().yellow(), "warning:"),
            printable(why)
        ),
    }
}
