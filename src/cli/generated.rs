//! Files generated from the clap definitions: shell completions and man pages.
//!
//! The copies committed in `completions/` and `man/` are checked against these by a test, which
//! rewrites them when run with `VANE_UPDATE_GENERATED=1`.

use clap_complete::Shell;

/// Every shell vane writes completions for, with its file name in `completions/`.
pub const SHELLS: &[(Shell, &str)] = &[
    (Shell::Bash, "vane.bash"),
    (Shell::Zsh, "_vane"),
    (Shell::Fish, "vane.fish"),
    (Shell::Elvish, "vane.elv"),
    (Shell::PowerShell, "_vane.ps1"),
];

pub fn completion_script(shell: Shell) -> String {
    let mut command = super::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "vane", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// One man page for vane and one for each subcommand (`vane-task-add.1`, ...), by file name.
pub fn man_pages() -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut command = super::command();
    command.build();
    let mut pages = Vec::new();
    collect_pages(&command, "vane", &mut pages)?;
    Ok(pages)
}

fn collect_pages(
    command: &clap::Command,
    name: &str,
    pages: &mut Vec<(String, Vec<u8>)>,
) -> std::io::Result<()> {
    let page_command = command.clone().name(name.to_string());
    let mut out = Vec::new();
    clap_mangen::Man::new(page_command)
        .date("")
        .render(&mut out)?;
    pages.push((format!("{name}.1"), out));
    for sub in command.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        collect_pages(sub, &format!("{name}-{}", sub.get_name()), pages)?;
    }
    Ok(())
}
