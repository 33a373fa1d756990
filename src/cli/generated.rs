//! Files generated from the clap definitions and the configuration reference: shell completions,
//! man pages (one per command, and `vane-config(5)` for vane.toml), and `docs/config.md`.
//!
//! The copies committed in `completions/`, `man/` and `docs/` are checked against these by a test,
//! which rewrites them when run with `VANE_UPDATE_GENERATED=1`.

use std::io;

use clap::ArgAction;
use clap_complete::env::EnvCompleter;
use clap_complete::Shell;
use roff::{bold, italic, roman, Inline, Roff};

/// Every shell vane writes completions for, with its file name in `completions/`.
pub const SHELLS: &[(Shell, &str)] = &[
    (Shell::Bash, "vane.bash"),
    (Shell::Zsh, "_vane"),
    (Shell::Fish, "vane.fish"),
    (Shell::Elvish, "vane.elv"),
    (Shell::PowerShell, "_vane.ps1"),
];

/// The script that makes `shell` complete vane's command line. It asks vane itself at each
/// completion (`COMPLETE=<shell> vane -- <words>`, see `cli::complete`), so that it offers the
/// repository's task ids and profiles, and follows the installed vane's commands.
pub fn completion_script(shell: Shell) -> String {
    let completer: &dyn EnvCompleter = match shell {
        Shell::Bash => &clap_complete::env::Bash,
        Shell::Zsh => &clap_complete::env::Zsh,
        Shell::Fish => &clap_complete::env::Fish,
        Shell::Elvish => &clap_complete::env::Elvish,
        _ => &clap_complete::env::Powershell,
    };
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = completer.write_registration("COMPLETE", "vane", "vane", "vane", &mut out);
    let mut script = String::from_utf8_lossy(&out).into_owned();
    if shell == Shell::Zsh {
        // Loaded from `fpath` as the function `_vane`, the file is also the first completion.
        script.push_str(
            "if [ \"$funcstack[1]\" = \"_vane\" ]; then\n    _clap_dynamic_completer_vane \"$@\"\nfi\n",
        );
    }
    script
}

/// The environment variables vane reads, then those it sets for what it starts, for the
/// ENVIRONMENT section of vane(1). A test holds it to every `VANE_` name in the sources.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "VANE_LOG",
        "What the logs on stderr show, as a tracing filter (vane=debug, vane::store=trace); it \
         overrides -v.",
    ),
    (
        "NO_COLOR",
        "When set and not empty, vane prints no color, unless --color always.",
    ),
    (
        "COMPLETE",
        "Set by the scripts of vane completions to the shell's name: vane prints the completions \
         of the words after -- instead of running them.",
    ),
    (
        "XDG_DATA_HOME",
        "The workers' worktrees go under $XDG_DATA_HOME/vane/worktrees/ (else \
         ~/.local/share/vane/worktrees/), unless worktree_root in vane.toml says otherwise.",
    ),
    (
        "VANE_TASK_ID",
        "Set for agents, gates and the planner: the id of the task (of the epic, for the planner).",
    ),
    ("VANE_TASK_TITLE", "Set for agents: the title of the task."),
    (
        "VANE_PROMPT_FILE",
        "Set for agents: the file that holds the prompt.",
    ),
    (
        "VANE_WORKTREE",
        "Set for agents, gates and setup: the worktree they run in.",
    ),
    (
        "VANE_BASE_SHA",
        "Set for agents: the commit of the base branch the attempt starts from.",
    ),
    (
        "VANE_ATTEMPT",
        "Set for agents and gates: the number of the attempt at the task, from 1.",
    ),
    (
        "VANE_CONTEXT_FILE",
        "Set for agents: a file where the agent may leave learnings for later tasks, one JSON \
         object a line.",
    ),
    (
        "VANE_HOOK_INBOX",
        "Set for agents: the file the hooks vane gives an agent append what they saw to, which \
         vane records once the agent ends.",
    ),
    (
        "VANE_WORKER_CACHE",
        "For `vane worker`: the folder of its cache clones, one per remote (default: \
         ~/.cache/vane/workers).",
    ),
    (
        "VANE_INTERNAL_GIT",
        "Set for vane's own git commands: vane's hook shims do nothing for them.",
    ),
    (
        "VANE_FAILPOINT",
        "For vane's own tests: the named point where vane stops as if killed, to test that the \
         next run recovers.",
    ),
    (
        "VANE_UPDATE_GENERATED",
        "For vane's own tests: rewrite completions/, man/ and docs/config.md instead of checking \
         them.",
    ),
];

/// One man page for vane and one for each subcommand (`vane-task-add.1`, ...), then
/// `vane-config.5`, by file name.
pub fn man_pages() -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut command = super::command();
    command.build();
    let mut pages = Vec::new();
    collect_pages(&command, "vane", &mut pages)?;
    pages.push(("vane-config.5".to_string(), config_page().into_bytes()));
    Ok(pages)
}

fn collect_pages(
    command: &clap::Command,
    name: &str,
    pages: &mut Vec<(String, Vec<u8>)>,
) -> io::Result<()> {
    let page_command = command.clone().name(name.to_string());
    let mut out = Vec::new();
    clap_mangen::Man::new(page_command)
        .date("")
        .render(&mut out)?;
    let mut page = String::from_utf8_lossy(&out).into_owned();
    page = replace_section(&page, "SYNOPSIS", &synopsis(command));
    if name == "vane" {
        page = insert_before(&page, "VERSION", &main_page_sections());
    }
    pages.push((format!("{name}.1"), page.into_bytes()));
    for sub in command.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        collect_pages(sub, &format!("{name}-{}", sub.get_name()), pages)?;
    }
    Ok(())
}

/// The SYNOPSIS section as git's pages write it: every option with its value's name
/// (`[-j|--workers <N>]`), `...` after those that repeat, then the arguments and the subcommand.
/// clap_mangen's leaves the values out.
fn synopsis(command: &clap::Command) -> String {
    let name = command.get_bin_name().unwrap_or_else(|| command.get_name());
    let mut line = vec![bold(name)];
    let mut options: Vec<&clap::Arg> = command
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !a.is_positional())
        .collect();
    options.sort_by_key(|a| option_order(a));
    for option in options {
        let (open, close) = markers(option.is_required_set());
        line.push(roman(format!(" {open}")));
        match (option.get_short(), option.get_long()) {
            (Some(short), Some(long)) => {
                line.push(bold(format!("-{short}")));
                line.push(roman("|"));
                line.push(bold(format!("--{long}")));
            }
            (Some(short), None) => line.push(bold(format!("-{short}"))),
            (None, Some(long)) => line.push(bold(format!("--{long}"))),
            (None, None) => continue,
        }
        let takes = option.get_num_args().is_some_and(|n| n.takes_values());
        if takes {
            for value in option.get_value_names().unwrap_or_default() {
                line.push(roman(" "));
                line.push(italic(format!("<{value}>")));
            }
        }
        line.push(roman(close));
        if matches!(option.get_action(), ArgAction::Count | ArgAction::Append) {
            line.push(roman("..."));
        }
    }
    for positional in command.get_positionals().filter(|a| !a.is_hide_set()) {
        let (open, close) = markers(positional.is_required_set());
        let value = positional
            .get_value_names()
            .map(|names| names.join(" "))
            .unwrap_or_else(|| positional.get_id().to_string().to_uppercase());
        line.push(roman(format!(" {open}")));
        line.push(italic(value));
        line.push(roman(close));
        if positional
            .get_num_args()
            .is_some_and(|n| n.max_values() > 1)
        {
            line.push(roman("..."));
        }
    }
    if command.has_subcommands() {
        let (open, close) = markers(command.is_subcommand_required_set());
        line.push(roman(format!(" {open}")));
        line.push(italic("command"));
        line.push(roman(close));
    }
    let mut roff = Roff::new();
    roff.control("SH", ["SYNOPSIS"]);
    roff.text(line);
    roff.to_roff()
}

/// The order clap's help lists options in: display order, then the short flag (lowercase
/// first), else the long one.
fn option_order(arg: &clap::Arg) -> (usize, String) {
    let key = match (arg.get_short(), arg.get_long()) {
        (Some(short), _) => format!(
            "{}{}",
            short.to_ascii_lowercase(),
            if short.is_ascii_lowercase() { '0' } else { '1' }
        ),
        (None, Some(long)) => long.to_string(),
        (None, None) => arg.get_id().to_string(),
    };
    (arg.get_display_order(), key)
}

fn markers(required: bool) -> (&'static str, &'static str) {
    if required {
        ("<", ">")
    } else {
        ("[", "]")
    }
}

/// vane(1)'s ENVIRONMENT, FILES and SEE ALSO sections.
fn main_page_sections() -> String {
    let mut roff = Roff::new();
    roff.control("SH", ["ENVIRONMENT"]);
    for (name, about) in ENVIRONMENT {
        roff.control("TP", []);
        roff.text([bold(*name)]);
        roff.text([roman(*about)]);
    }
    roff.control("SH", ["FILES"]);
    for (file, about) in [
        (
            "vane.toml",
            "At the root of the working tree: the repository's configuration, meant to be \
             committed; see vane-config(5).",
        ),
        (
            "<git common dir>/vane/",
            "vane's state, never committed and invisible to git status: vane.db (the task \
             graph, attempts, checkpoints, events), runs/ (prompts, what agents and gates \
             printed), the work lock.",
        ),
        (
            "refs/vane/checkpoints/<n>",
            "One ref per checkpoint, so that git gc keeps every commit a rollback may need.",
        ),
    ] {
        roff.control("TP", []);
        roff.text([bold(file)]);
        roff.text([roman(about)]);
    }
    roff.control("SH", ["SEE ALSO"]);
    roff.text([roman(
        "vane-config(5), vane-init(1), vane-work(1), vane-status(1), vane-rollback(1), git(1)",
    )]);
    roff.to_roff()
}

/// `page` with its section `.SH <name>` (up to the next `.SH`) replaced by `section`.
fn replace_section(page: &str, name: &str, section: &str) -> String {
    let heading = format!(".SH {name}\n");
    let Some(start) = page.find(&heading) else {
        return page.to_string();
    };
    let after = start + heading.len();
    let end = page[after..]
        .find("\n.SH ")
        .map_or(page.len(), |at| after + at + 1);
    format!("{}{section}{}", &page[..start], &page[end..])
}

/// `page` with `sections` inserted before its section `.SH <name>`, or at its end.
fn insert_before(page: &str, name: &str, sections: &str) -> String {
    let at = page.find(&format!(".SH {name}\n")).unwrap_or(page.len());
    format!("{}{sections}{}", &page[..at], &page[at..])
}

/// One paragraph of the commented default `vane.toml`: what it says, and the keys it shows.
struct ConfigBlock {
    prose: Vec<String>,
    example: Vec<String>,
}

impl ConfigBlock {
    /// The keys and tables it shows: `workers`, `[agents.claude]`, `[[gate]]`.
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        let tables: Vec<&String> = self.example.iter().filter(|l| l.starts_with('[')).collect();
        let found: Vec<String> = if tables.is_empty() {
            self.example
                .iter()
                .filter_map(|l| l.split_once(" = ").map(|(key, _)| key.to_string()))
                .collect()
        } else {
            tables.into_iter().cloned().collect()
        };
        for name in found {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }
}

/// The commented default `vane.toml` (`config::DEFAULT_FILE`), which is the reference of every
/// key: its first paragraph, then one block per paragraph. A line is an example when it is a key
/// (`key = value`) or a table (`[table]`), and prose otherwise.
fn config_blocks() -> (Vec<String>, Vec<ConfigBlock>) {
    let is_example = |line: &str| {
        line.starts_with('[')
            || line.split_once(" = ").is_some_and(|(key, _)| {
                !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            })
    };
    let mut paragraphs = crate::config::DEFAULT_FILE
        .split("\n\n")
        .map(|paragraph| {
            paragraph
                .lines()
                .map(|line| {
                    line.strip_prefix('#')
                        .unwrap_or(line)
                        .trim_start_matches(' ')
                })
                .map(str::to_string)
                .collect::<Vec<String>>()
        })
        .filter(|lines| !lines.is_empty());
    let header = paragraphs.next().unwrap_or_default();
    let blocks = paragraphs
        .map(|lines| {
            let (example, prose) = lines.into_iter().partition(|l| is_example(l));
            ConfigBlock { prose, example }
        })
        .collect();
    (header, blocks)
}

const CONFIG_DESCRIPTION: &str = "vane init writes that file, commented, when there is none; the \
    keys below are its keys. vane config check finds every problem in the file, each with its \
    line; vane config show lists every key with the value vane uses and where it came from.";

/// `vane-config(5)`: every key of vane.toml, from the commented default file.
pub fn config_page() -> String {
    let (header, blocks) = config_blocks();
    let mut roff = Roff::new();
    roff.control("TH", ["vane-config", "5", "", "vane", "vane manual"]);
    roff.control("SH", ["NAME"]);
    roff.text([roman(
        "vane-config - vane.toml, how vane works on a repository",
    )]);
    roff.control("SH", ["SYNOPSIS"]);
    roff.text([
        bold("vane.toml"),
        roman(" at the root of the repository's working tree"),
    ]);
    roff.control("SH", ["DESCRIPTION"]);
    roff.text([roman(header.join(" "))]);
    roff.control("PP", []);
    roff.text([roman(CONFIG_DESCRIPTION)]);
    roff.control("SH", ["KEYS"]);
    for block in &blocks {
        let mut names: Vec<Inline> = Vec::new();
        for (i, name) in block.names().into_iter().enumerate() {
            if i > 0 {
                names.push(roman(", "));
            }
            names.push(bold(name));
        }
        roff.control("TP", []);
        roff.text(names);
        roff.text([roman(block.prose.join(" "))]);
        roff.control("RS", []);
        roff.control("PP", []);
        roff.control("nf", []);
        for line in &block.example {
            roff.text([roman(line.as_str())]);
        }
        roff.control("fi", []);
        roff.control("RE", []);
    }
    roff.control("SH", ["SEE ALSO"]);
    roff.text([roman(
        "vane(1), vane-init(1), vane-config-check(1), vane-config-show(1)",
    )]);
    roff.render()
}

/// `docs/config.md`: the same reference as `vane-config(5)`, for reading on the web.
pub fn config_markdown() -> String {
    let (header, blocks) = config_blocks();
    let mut out = String::from(
        "# vane.toml\n\n<!-- Generated from the commented default file (`DEFAULT_FILE` in \
         src/config.rs) by `VANE_UPDATE_GENERATED=1 cargo test --test it committed_completions`; \
         edit that, not this. -->\n\n",
    );
    out.push_str(&header.join(" "));
    out.push_str("\n\n");
    out.push_str(
        &CONFIG_DESCRIPTION
            .replace("vane init", "`vane init`")
            .replace("vane config check", "`vane config check`")
            .replace("vane config show", "`vane config show`"),
    );
    out.push_str(" The same reference is `man 5 vane-config`.\n");
    for block in &blocks {
        let names: Vec<String> = block
            .names()
            .iter()
            .map(|name| format!("`{name}`"))
            .collect();
        out.push_str(&format!("\n## {}\n\n", names.join(", ")));
        out.push_str(&block.prose.join("\n"));
        out.push_str("\n\n```toml\n");
        for line in &block.example {
            out.push_str(line);
            out.push('\n');
        }
        out.push_str("```\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_paragraph_of_the_default_file_shows_a_key_and_says_what_it_does() {
        let (header, blocks) = config_blocks();
        assert!(header[0].starts_with("vane.toml:"), "{header:?}");
        assert!(blocks.len() > 10);
        for block in &blocks {
            assert!(!block.names().is_empty(), "{:?}", block.prose);
            assert!(!block.prose.is_empty(), "{:?}", block.example);
        }
        let names: Vec<String> = blocks.iter().flat_map(|b| b.names()).collect();
        for key in [
            "workers",
            "pause_timeout",
            "[[gate]]",
            "[[route]]",
            "[extend]",
        ] {
            assert!(names.iter().any(|n| n == key), "{key} in {names:?}");
        }
    }

    #[test]
    fn a_synopsis_names_the_value_of_each_option() {
        let page = man_pages()
            .expect("rendered")
            .into_iter()
            .find(|(name, _)| name == "vane-work.1")
            .map(|(_, page)| String::from_utf8(page).expect("text"))
            .expect("vane-work.1");
        let synopsis = &page[page.find(".SH SYNOPSIS").expect("a synopsis")..];
        let synopsis = &synopsis[..synopsis[1..].find(".SH").expect("a next section")];
        assert!(
            synopsis.contains("\\fB\\-\\-workers\\fR \\fI<N>\\fR]"),
            "{synopsis}"
        );
        assert!(
            synopsis.contains("\\fB\\-C\\fR \\fI<PATH>\\fR]"),
            "{synopsis}"
        );
        assert!(synopsis.contains("\\fI<ID>\\fR]..."), "{synopsis}");
    }

    #[test]
    fn sections_are_replaced_and_inserted_in_place() {
        let page = ".TH x\n.SH NAME\nx\n.SH SYNOPSIS\nold\nlines\n.SH DESCRIPTION\nd\n";
        assert_eq!(
            replace_section(page, "SYNOPSIS", ".SH SYNOPSIS\nnew\n"),
            ".TH x\n.SH NAME\nx\n.SH SYNOPSIS\nnew\n.SH DESCRIPTION\nd\n"
        );
        assert_eq!(
            replace_section(".SH SYNOPSIS\nlast\n", "SYNOPSIS", ".SH SYNOPSIS\nnew\n"),
            ".SH SYNOPSIS\nnew\n"
        );
        assert_eq!(
            insert_before(page, "DESCRIPTION", ".SH MORE\nm\n"),
            ".TH x\n.SH NAME\nx\n.SH SYNOPSIS\nold\nlines\n.SH MORE\nm\n.SH DESCRIPTION\nd\n"
        );
        assert_eq!(insert_before("a\n", "NONE", "b\n"), "a\nb\n");
    }
}
