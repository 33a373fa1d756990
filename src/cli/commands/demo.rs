use std::path::PathBuf;

use crate::cli::CommandEnv;
use crate::error::CliError;

/// Try vane on a sample repository, with no AI agent needed
///
/// Creates a small git repository, sets vane up in it and imports a sample roadmap whose tasks the
/// built-in `shell` agent can do (each task's `run` command). Then shows the status. The repository
/// is kept, so you can go on with it: `cd` there and try `vane status`, `vane task show usage`,
/// `vane events`.
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
    let demo = crate::demo::set_up(&dir)?;
    let summary = demo.workspace.store.status_summary(10)?;
    if env.ui.json() {
        env.ui.json_value(&serde_json::json!({
            "repository": demo.repository,
            "state_dir": demo.init.state_dir,
            "imported": demo.import.changes.len(),
            "status": summary,
        }))?;
        return Ok(());
    }
    env.ui.status(&format!(
        "Created a sample repository at {}\nSet vane up there and imported a roadmap of {} tasks.\n",
        demo.repository.display(),
        demo.import.changes.len()
    ));
    super::status::print_summary(env, &summary, 10)?;
    env.ui.status(&format!(
        "\nGo on with it: cd {} && vane task show usage",
        demo.repository.display()
    ));
    Ok(())
}
