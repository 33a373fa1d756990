use crate::cli::{generated, CommandEnv};
use crate::error::CliError;

/// Print a shell completion script
///
/// The script asks vane at each completion (`COMPLETE=<shell> vane -- <words>`), so it completes
/// the subcommands and flags of the vane that is installed, and the values of the repository you
/// are in: task ids, checkpoints and agent profiles. `COMPLETE=<shell> vane` prints the same
/// script, for a shell's startup file. The scripts are also in the repository's completions/
/// directory; the README says where each shell looks for them.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  vane completions bash > ~/.local/share/bash-completion/completions/vane
  vane completions zsh > ~/.zfunc/_vane
  vane completions fish > ~/.config/fish/completions/vane.fish
  echo 'source <(COMPLETE=bash vane)' >> ~/.bashrc")]
pub struct Args {
    /// The shell to complete for
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    env.ui.data(&generated::completion_script(args.shell))?;
    Ok(())
}
