use std::path::PathBuf;

use crate::cli::CommandEnv;
use crate::demo::Step;
use crate::error::CliError;

/// Try vane on a sample repository, with no AI agent needed
///
/// Creates a small git repository, sets vane up in it, imports a sample roadmap of eight tasks that
/// the built-in `shell` agent does (each task's `run` command), and runs a batch with two workers and
/// the sample's tests as the gate: one task fails the gate on its first attempt and lands on its
/// second. Then it rolls the branch back to the batch start and undoes that.
///
/// Without a directory, the sample goes into a new folder under the system's temporary directory,
/// which is removed at the end unless `--keep` is given; then try `vane -C <sample> status`,
/// `checkpoints`, `task show version` or `events` there (the demo prints how). A directory you
/// name is yours, and stays.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  vane demo
  vane demo --keep              keep the sample to look around in it
  vane demo ~/vane-demo         make it there, and keep it")]
pub struct Args {
    /// Where to create the sample repository (must not exist, or be empty); a new folder under
    /// the system's temporary directory, removed at the end, when left out
    #[arg(value_name = "DIR")]
    dir: Option<PathBuf>,

    /// Keep the sample repository in the temporary directory when the demo is done
    #[arg(long)]
    keep: bool,
}

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    // The temporary folder, when the demo makes one: removed at the end unless `--keep`.
    let (dir, temporary) = match args.dir {
        Some(dir) => (env.cwd.join(dir), None),
        None => {
            let folder = crate::demo::temporary_folder();
            (crate::demo::repository_in(&folder), Some(folder))
        }
    };
    let mut demo = crate::demo::set_up(&dir)?;
    let ui = env.ui;
    let tasks = demo.workspace.store.status_summary(0)?;
    ui.status(&format!(
        "== Created a sample repository at {}\n   set vane up there and imported a roadmap of {} tasks in {} epics\n\n== vane work",
        demo.repository.display(),
        tasks.total,
        tasks.epics.len()
    ));
    let step = |step: Step<'_>| {
        match step {
        Step::Work(progress) => ui.status(&super::work::describe(ui, &progress)),
        Step::Approved(landed) => ui.status(&format!(
            "\n== vane approve {}\n   it changed the gate's own script, so it waited for a person; approved, gated again and landed as {}",
            landed.task,
            landed.sha.short()
        )),
        Step::SecondBatch => ui.status("\n== vane work (what waited on it)"),
        Step::RolledBack(r) => ui.status(&format!(
            "\n== vane rollback {}\n   {} moved back to the batch start ({} -> {}); {} tasks changed state",
            r.checkpoint,
            r.base,
            r.from.short(),
            r.to.short(),
            r.tasks_changed.len()
        )),
        Step::Undone(r) => ui.status(&format!(
            "\n== vane rollback {} (the undo)\n   {} is back at {}; {} tasks changed state again\n",
            r.checkpoint,
            r.base,
            r.to.short(),
            r.tasks_changed.len()
        )),
    }
    };
    let run = match crate::demo::run(&mut demo, &step) {
        Ok(run) => run,
        Err(e) => {
            // Kept to look into, whatever `--keep` says.
            ui.status(&format!(
                "The sample repository stays at {} to look into.",
                demo.repository.display()
            ));
            return Err(e.into());
        }
    };
    let summary = demo.workspace.store.status_summary(10)?;
    let repository = demo.repository.clone();
    let state_dir = demo.init.state_dir.clone();
    let imported = demo.import.changes.len();
    // The database is closed before its folder goes.
    drop(demo);
    let removed = match &temporary {
        Some(folder) if !args.keep => {
            crate::demo::clean_up(folder)?;
            true
        }
        _ => false,
    };
    if env.ui.json() {
        env.ui.json_value(&serde_json::json!({
            "repository": repository,
            "state_dir": state_dir,
            "kept": !removed,
            "imported": imported,
            "batch": run.batch,
            "approved": run.approved,
            "second_batch": run.second_batch,
            "rollback": run.rollback,
            "undo": run.undo,
            "status": summary,
        }))?;
        return Ok(());
    }
    super::status::print_summary(env, &summary, 10)?;
    let vane = crate::demo::invocation(
        &std::env::current_exe()?,
        std::env::var_os("PATH").as_deref(),
    );
    if removed {
        ui.status(&format!(
            "\nRemoved the sample repository. To look around in it afterwards: {vane} demo --keep"
        ));
    } else {
        let at = crate::ui::shell_word(&repository.display().to_string());
        ui.status(&format!(
            "\nGo on with it: {vane} -C {at} checkpoints, then {vane} -C {at} task show version"
        ));
    }
    Ok(())
}
