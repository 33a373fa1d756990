use std::path::PathBuf;

use crate::cli::CommandEnv;
use crate::demo::Step;
use crate::error::CliError;

/// Try vane on a sample repository, with no AI agent needed
///
/// Creates a small git repository, sets vane up in it, imports a sample roadmap of eight tasks that
/// the built-in `shell` agent does (each task's `run` command), and runs a batch with two workers and
/// the sample's tests as the gate: one task fails the gate on its first attempt and lands on its
/// second. Then it rolls the branch back to the batch start and undoes that. The repository is kept:
/// `cd` there and try `vane status`, `vane checkpoints`, `vane task show version`, `vane events`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  vane demo\n  vane demo ~/vane-demo")]
pub struct Args {
    /// Where to create the sample repository (must not exist, or be empty); a new directory under
    /// the system's temporary directory when left out
    dir: Option<PathBuf>,
}

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    let dir = match args.dir {
        Some(dir) => env.cwd.join(dir),
        None => std::env::temp_dir().join(format!(
            "vane-demo-{}-{}",
            std::process::id(),
            crate::model::now_millis()
        )),
    };
    let mut demo = crate::demo::set_up(&dir)?;
    let ui = env.ui;
    ui.status(&format!(
        "== Created a sample repository at {}\n   set vane up there and imported a roadmap of {} tasks\n\n== vane work",
        demo.repository.display(),
        demo.import.changes.len()
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
    let run = crate::demo::run(&mut demo, &step)?;
    let summary = demo.workspace.store.status_summary(10)?;
    if env.ui.json() {
        env.ui.json_value(&serde_json::json!({
            "repository": demo.repository,
            "state_dir": demo.init.state_dir,
            "imported": demo.import.changes.len(),
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
    ui.status(&format!(
        "\nGo on with it: cd {} && vane checkpoints && vane task show version",
        demo.repository.display()
    ));
    Ok(())
}
