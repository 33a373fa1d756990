//! The committed completions and man pages are what the clap definitions generate.
//!
//! Run with `VANE_UPDATE_GENERATED=1` to rewrite them after changing the command line.

use std::path::Path;

use vane::cli::generated::{completion_script, man_pages, SHELLS};

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
         regenerate them with `VANE_UPDATE_GENERATED=1 cargo test committed_completions`"
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
    assert!(
        run.stdout.contains("vane__subcmd__task__subcmd__add"),
        "the script knows the subcommands"
    );
}
