use crate::cli::CommandEnv;
use crate::config::Config;
use crate::error::CliError;
use crate::model::{format_bytes, short_commit};
use crate::orchestrator::gc::SavedKind;
use crate::orchestrator::{self, GcOptions};

/// Remove the workers' worktrees and the branches of tasks that landed, keeping all other work
///
/// Takes the work lock, so it refuses while `vane work` runs (workers need their worktrees).
/// Removes vane's worktrees under the worktree root; before one goes, whatever it holds that is on
/// no ref is kept: uncommitted changes on a task branch are committed there, and a detached HEAD's
/// commits (uncommitted changes committed on top) get a ref, `refs/vane/attempts/<task>/<n>` or
/// `refs/vane/kept/<worktree>/<n>`. Deletes the branch `vane/<task>` of every done task whose tip
/// is on the base branch, and the refs of its earlier attempts that are on base too, each by
/// compare-and-swap; every other branch stays. Drops git's record of worktrees whose directory is
/// gone, one by one. A worktree counts as used when git last wrote its HEAD or index (a checkout,
/// a commit); `--keep-days` keeps those used more recently. A worktree whose `.git` file an agent
/// removed or broke gets it back first, so its work is kept as any other's; one whose `.git` is a
/// repository of its own is kept. A directory under the root whose `.git` names a worktree record
/// that is gone (a repository deleted, or made again at the same path) is removed.
///
/// `--keep-checkpoints N` prunes the checkpoints beyond the newest N: each one's ref
/// (`refs/vane/checkpoints/<n>`, which keeps its commit from `git gc`) is deleted and it is no
/// longer listed, so `vane rollback` can no longer return there. Kept whatever their age: the
/// checkpoint each done task's landing recorded (rolling back to it undoes the landings after it),
/// the first batch start (where vane's history on base begins), and one an unfinished landing or
/// rollback names. The event log keeps what was pruned.
///
/// Run directories (`.git/vane/runs/<task>/<attempt>/`: prompts, what agents printed, gate logs)
/// stay unless `--keep-days` is given: then those not written to within N days go, of tasks that
/// are done or gone and of earlier attempts, along with vane's own gate logs of base tips and the
/// setup logs of worktrees that are gone. The latest attempt of a task that is not done always
/// stays. So do the batch logs (`.git/vane/logs/batch-<N>.jsonl`): with `--keep-days`, those of
/// batches before the latest go once not written to within N days.
///
/// `--all-repos` looks at the default worktree folders of every repository instead
/// (`$XDG_DATA_HOME/vane/worktrees/`, else `~/.local/share/vane/worktrees/`), from anywhere: it
/// removes the worktrees whose `.git` names a worktree record that is gone, and the folders that
/// leaves empty. Nothing of a repository that still has the worktree is touched, and symbolic
/// links are never followed.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  vane gc --dry-run             show what would go, change nothing
  vane gc
  vane gc --keep-days 7         keep worktrees used in the last week, and run directories
                                written to in it
  vane gc --keep-checkpoints 20 list (and pin) only the newest 20 checkpoints, and those
                                done tasks' landings need
  vane gc --all-repos --dry-run the worktrees left by repositories that are gone")]
pub struct Args {
    /// Print what would be removed, deleted and kept, and change nothing
    #[arg(long)]
    dry_run: bool,

    /// Keep worktrees used within the last N days (0 removes them all); remove run directories not
    /// written to within them
    #[arg(long, value_name = "N")]
    keep_days: Option<u32>,

    /// Prune checkpoints beyond the newest N: their refs are deleted and they are no longer
    /// listed, unless a done task's landing, the first batch start or an unfinished rollback needs
    /// them
    #[arg(long, value_name = "N")]
    keep_checkpoints: Option<usize>,

    /// Remove the worktree folders of every repository that no longer exists, instead of
    /// collecting this repository
    #[arg(long, conflicts_with_all = ["keep_days", "keep_checkpoints"])]
    all_repos: bool,
}

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    if args.all_repos {
        return all_repos(env, args.dry_run);
    }
    let mut workspace = env.workspace()?;
    let config = Config::load(&workspace.location.workdir)?;
    let report = orchestrator::gc(
        &mut workspace,
        &config,
        &GcOptions {
            dry_run: args.dry_run,
            keep_days: args.keep_days.unwrap_or(0),
            runs_keep_days: args.keep_days,
            keep_checkpoints: args.keep_checkpoints,
        },
    )?;
    if env.ui.json() {
        env.ui.json_value(&report)?;
        return Ok(());
    }
    // "Removed" after the fact, "Would remove" in a dry run.
    let verb = |done: &str, planned: &str| {
        if report.dry_run {
            format!("Would {planned}")
        } else {
            done.to_string()
        }
    };
    let mut lines = Vec::new();
    for saved in &report.saved {
        lines.push(match saved.kind {
            SavedKind::Uncommitted => format!(
                "{} the uncommitted changes in {} to {}{}",
                verb("Committed", "commit"),
                saved.worktree.display(),
                saved.into,
                commit_suffix(saved.commit.as_deref()),
            ),
            SavedKind::Detached => format!(
                "{} the commits of the detached HEAD in {} as {}{}",
                verb("Kept", "keep"),
                saved.worktree.display(),
                saved.into,
                commit_suffix(saved.commit.as_deref()),
            ),
        });
    }
    for worktree in &report.worktrees_removed {
        lines.push(format!(
            "{} worktree {} ({})",
            verb("Removed", "remove"),
            worktree.path.display(),
            format_bytes(worktree.bytes)
        ));
    }
    for path in &report.repaired {
        lines.push(format!(
            "{} the `.git` file of {} (removed or broken), naming git's record of the worktree",
            verb("Put back", "put back"),
            path.display()
        ));
    }
    for orphan in &report.orphans_removed {
        lines.push(format!(
            "{} {} ({}): a worktree of a repository that is gone",
            verb("Removed", "remove"),
            orphan.path.display(),
            format_bytes(orphan.bytes)
        ));
    }
    for run in &report.runs_removed {
        lines.push(format!(
            "{} run directory {} ({})",
            verb("Removed", "remove"),
            run.path.display(),
            format_bytes(run.bytes)
        ));
    }
    for log in &report.logs_removed {
        lines.push(format!(
            "{} batch log {} ({})",
            verb("Removed", "remove"),
            log.path.display(),
            format_bytes(log.bytes)
        ));
    }
    for path in &report.registrations_pruned {
        lines.push(format!(
            "{} the registration of {} (its directory is gone)",
            verb("Pruned", "prune"),
            path.display()
        ));
    }
    for branch in &report.branches_deleted {
        lines.push(format!(
            "{} branch {} (was {})",
            verb("Deleted", "delete"),
            branch.name,
            short_commit(&branch.sha)
        ));
    }
    for reference in &report.refs_deleted {
        lines.push(format!(
            "{} {} (was {}, on {})",
            verb("Deleted", "delete"),
            reference.name,
            short_commit(&reference.sha),
            report.base
        ));
    }
    for checkpoint in &report.checkpoints_pruned {
        lines.push(format!(
            "{} checkpoint {} ({} at {}{})",
            verb("Pruned", "prune"),
            checkpoint.id,
            checkpoint.kind,
            checkpoint.sha.short(),
            checkpoint
                .task
                .as_ref()
                .map(|t| format!(", {t}"))
                .unwrap_or_default()
        ));
    }
    for checkpoint in &report.checkpoints_kept {
        lines.push(format!(
            "Keeping checkpoint {}: {}",
            checkpoint.id, checkpoint.reason
        ));
    }
    for worktree in &report.worktrees_kept {
        lines.push(format!(
            "Keeping worktree {}: {}",
            worktree.path.display(),
            worktree.reason
        ));
    }
    for branch in &report.branches_kept {
        lines.push(format!(
            "Keeping branch {}: {}",
            branch.branch, branch.reason
        ));
    }
    let summary = if report.is_empty() {
        "Nothing to collect".to_string()
    } else {
        format!(
            "{} {}: {} worktree{} removed, {} branch{} and {} ref{} deleted, {} registration{} pruned{}",
            if report.dry_run { "Would free" } else { "Freed" },
            format_bytes(report.bytes_freed),
            report.worktrees_removed.len() + report.orphans_removed.len(),
            plural(report.worktrees_removed.len() + report.orphans_removed.len(), "s"),
            report.branches_deleted.len(),
            plural(report.branches_deleted.len(), "es"),
            report.refs_deleted.len(),
            plural(report.refs_deleted.len(), "s"),
            report.registrations_pruned.len(),
            plural(report.registrations_pruned.len(), "s"),
            match (args.keep_days, report.runs_removed.len()) {
                (None, _) => String::new(),
                (Some(_), 1) => ", 1 run directory removed".to_string(),
                (Some(_), n) => format!(", {n} run directories removed"),
            },
        ) + &match (args.keep_checkpoints, report.checkpoints_pruned.len()) {
            (None, _) => String::new(),
            (Some(_), n) => format!(", {n} checkpoint{} pruned", plural(n, "s")),
        }
    };
    lines.push(if report.dry_run {
        format!("{summary}; nothing was changed (--dry-run)")
    } else {
        summary
    });
    env.ui.status(&lines.join("\n"));
    Ok(())
}

/// `vane gc --all-repos`.
fn all_repos(env: &CommandEnv<'_>, dry_run: bool) -> Result<(), CliError> {
    let report = orchestrator::gc::gc_all_repos(dry_run)?;
    if env.ui.json() {
        env.ui.json_value(&report)?;
        return Ok(());
    }
    let mut lines = Vec::new();
    for removed in &report.removed {
        lines.push(format!(
            "{} {} ({}): {}",
            if dry_run { "Would remove" } else { "Removed" },
            removed.path.display(),
            format_bytes(removed.bytes),
            match &removed.repository {
                Some(repository) if !repository.exists() => {
                    format!("its repository {} is gone", repository.display())
                }
                Some(repository) => format!(
                    "its repository {} no longer has it (made again at the same path?)",
                    repository.display()
                ),
                None => "its repository is gone".to_string(),
            }
        ));
    }
    for kept in &report.kept {
        lines.push(format!("Keeping {}: {}", kept.path.display(), kept.reason));
    }
    let summary = if report.removed.is_empty() {
        format!(
            "Nothing to collect under {}: every worktree there belongs to a repository that has it",
            report.root.display()
        )
    } else {
        format!(
            "{} {}: {} worktree{} of repositories that are gone, under {}",
            if dry_run { "Would free" } else { "Freed" },
            format_bytes(report.bytes_freed),
            report.removed.len(),
            plural(report.removed.len(), "s"),
            report.root.display()
        )
    };
    lines.push(if dry_run {
        format!("{summary}; nothing was changed (--dry-run)")
    } else {
        summary
    });
    env.ui.status(&lines.join("\n"));
    Ok(())
}

fn commit_suffix(commit: Option<&str>) -> String {
    commit
        .map(|c| format!(" ({})", short_commit(c)))
        .unwrap_or_default()
}

fn plural(n: usize, suffix: &'static str) -> &'static str {
    if n == 1 {
        ""
    } else {
        suffix
    }
}
