//! The committed completions and man pages are what the clap definitions generate.
//!
//! Run with `VANE_UPDATE_GENERATED=1` to rewrite them after changing the command line.

use std::path::Path;

use vane::cli::generated::{completion_script, config_markdown, man_pages, ENVIRONMENT, SHELLS};

fn check_or_update(path: &Path, expected: &[u8], drifted: &mut Vec<String>) {
    if std::env::var_os("VANE_UPDATE_GENERATED").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, expected).unwrap();
    } else if std::fs::read(path).ok().as_deref() != Some(expected) {
        drifted.push(path.display().to_string());
    }
}

#[test]
fn committed_completions_and_man_pages_match_the_command_line() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut drifted = Vec::new();
    for (shell, file) in SHELLS {
        check_or_update(
            &root.join("completions").join(file),
            completion_script(*shell).as_bytes(),
            &mut drifted,
        );
    }
    check_or_update(
        &root.join("docs/config.md"),
        config_markdown().as_bytes(),
        &mut drifted,
    );
    let pages = man_pages().unwrap();
    assert!(pages.iter().any(|(name, _)| name == "vane-task-add.1"));
    for (name, page) in &pages {
        check_or_update(&root.join("man").join(name), page, &mut drifted);
    }
    // A page for a subcommand that no longer exists is drift too.
    for entry in std::fs::read_dir(root.join("man")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if !pages.iter().any(|(page, _)| *page == name) {
            drifted.push(format!("man/{name} (no such command)"));
        }
    }
    assert!(
        drifted.is_empty(),
        "generated files differ from the command line: {drifted:?}\n\
         regenerate them with `VANE_UPDATE_GENERATED=1 cargo test --test it committed_completions`"
    );
}

#[test]
fn vane_completions_prints_the_committed_script() {
    let env = crate::common::TestEnv::new();
    let run = env.vane(&["completions", "bash"]).success();
    let committed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("completions/vane.bash"),
    )
    .unwrap();
    assert_eq!(run.stdout, committed);
    // It asks vane itself at each completion, which knows the commands and the repository.
    assert!(
        run.stdout.contains("COMPLETE=\"bash\"") && run.stdout.contains("_clap_complete_vane"),
        "{}",
        run.stdout
    );
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let script = env.vane(&["completions", shell]).success().stdout;
        assert!(script.contains("COMPLETE"), "{shell}: {script}");
    }
}

fn page(name: &str) -> String {
    let pages = man_pages().unwrap();
    let (_, page) = pages
        .into_iter()
        .find(|(page, _)| page == name)
        .unwrap_or_else(|| panic!("no page {name}"));
    String::from_utf8(page).unwrap()
}

#[test]
fn the_main_man_page_names_every_environment_variable_vane_uses() {
    // Every `VANE_*` name in the sources, but one that a unit test makes up.
    let mut names = std::collections::BTreeSet::new();
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for (at, _) in text.match_indices("VANE_") {
                let name: String = text[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                    .collect();
                if name.len() > "VANE_".len() && !name.ends_with('_') && name != "VANE_TASK" {
                    names.insert(name);
                }
            }
        }
    }
    let documented: Vec<&str> = ENVIRONMENT.iter().map(|(name, _)| *name).collect();
    for name in &names {
        assert!(
            documented.contains(&name.as_str()),
            "{name} is not in ENVIRONMENT"
        );
    }
    let main = page("vane.1");
    let environment = &main[main
        .find(".SH ENVIRONMENT")
        .expect("an ENVIRONMENT section")..];
    for name in &documented {
        assert!(environment.contains(name), "{name} in vane(1)");
    }
    assert!(
        main.contains(r"vane\-config(5)"),
        "vane(1) points to vane-config(5)"
    );
}

#[test]
fn vane_config_5_documents_every_key_of_the_default_file() {
    let config = page("vane-config.5");
    assert!(
        config.starts_with(".ie") && config.contains(".TH vane-config 5"),
        "{config}"
    );
    for line in vane::config::DEFAULT_FILE.lines() {
        let Some(key) = line
            .strip_prefix("# ")
            .and_then(|l| l.split_once(" = "))
            .map(|(key, _)| key)
            .filter(|key| key.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        else {
            continue;
        };
        assert!(
            config.contains(&format!("{key} =")),
            "{key} in vane-config(5)"
        );
    }
    assert!(config.contains(r"\fBpause_timeout\fR"), "{config}");
    let markdown = config_markdown();
    assert!(markdown.contains("## `pause_timeout`"), "{markdown}");
}
