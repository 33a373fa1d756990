use crate::cli::CommandEnv;
use crate::error::CliError;
use crate::workspace::{InitOptions, Workspace};

/// Set vane up in the current repository
///
/// Creates vane's state (a database, run logs) in the repository's git directory, where git never
/// shows it, and writes a commented `vane.toml` at the root of the working tree unless there is one.
/// Works from any directory of the repository, linked worktrees included. Running it again changes
/// nothing.
///
/// A database that is missing where vane's refs show it was used, or that is empty, holds no vane
/// schema or cannot be read, is never replaced without being asked: `--force-new-database` moves
/// it aside to `vane.db.broken-<time>` and the checkpoint refs to `refs/vane/broken/<time>/`, and
/// starts an empty task graph. A sound database is never replaced.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  vane init\n  vane -C ~/src/app init\n  vane init --force-new-database   start over from a broken database, keeping it aside"
)]
pub struct Args {
    /// Replace a database vane cannot use with an empty one, moving the old file and the
    /// checkpoint refs aside
    #[arg(long)]
    force_new_database: bool,
}

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    let report = Workspace::init_with(
        &env.cwd,
        &InitOptions {
            force_new_database: args.force_new_database,
        },
    )?;
    if let Some(moved) = &report.moved_aside {
        if !env.ui.json() {
            if let Some(database) = &moved.database {
                env.ui.status(&format!(
                    "Moved the database vane could not use to {}",
                    database.display()
                ));
            }
            if !moved.checkpoint_refs.is_empty() {
                env.ui.status(&format!(
                    "Moved {} checkpoint ref{} to {}",
                    moved.checkpoint_refs.len(),
                    if moved.checkpoint_refs.len() == 1 {
                        ""
                    } else {
                        "s"
                    },
                    moved.checkpoint_refs[0]
                        .rsplit_once("/checkpoints/")
                        .map_or("refs/vane/broken/", |(prefix, _)| prefix)
                ));
            }
        }
    }
    if env.ui.json() {
        let mut value = serde_json::to_value(&report).map_err(std::io::Error::other)?;
        value["already_set_up"] = report.already_set_up().into();
        env.ui.json_value(&value)?;
        return Ok(());
    }
    if report.already_set_up() {
        env.ui.status(&format!(
            "vane is already set up in {} (state in {}); nothing changed",
            report.workdir.display(),
            report.state_dir.display()
        ));
        return Ok(());
    }
    env.ui
        .status(&format!("Initialized vane in {}", report.workdir.display()));
    env.ui
        .status(&format!("  state:  {}", report.state_dir.display()));
    match &report.config_written {
        Some(path) => env.ui.status(&format!(
            "  config: {} (written; commit it to share it)",
            path.display()
        )),
        None => env.ui.status("  config: vane.toml (kept as it was)"),
    }
    // A hook that cannot be installed does not undo the setup: say so, and how to retry.
    match crate::orchestrator::hooks::install_here(&report.workdir) {
        Ok(hooks) => env.ui.status(&format!(
            "  hooks:  {} in {}{}",
            crate::orchestrator::hooks::GIT_HOOKS.join(", "),
            hooks.dir.display(),
            if hooks.hooks.iter().any(|h| h.kept.is_some()) {
                " (the hooks that were there run first)"
            } else {
                ""
            }
        )),
        Err(e) => env.ui.warn(&format!(
            "git hooks not installed: {e}; `vane hooks install` tries again"
        )),
    }
    env.ui.status(
        "Next: add tasks with `vane task add` or `vane import roadmap.yaml`, then see `vane status`.",
    );
    Ok(())
}
