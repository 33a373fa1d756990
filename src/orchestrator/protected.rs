//! Protected paths: the files that define the checks. A candidate that changes one is gated as any
//! other but does not land by itself: it waits in `needs_review` for a person's `vane approve`
//! (promise 8: an agent cannot weaken the checks that decide its own landing).
//!
//! Protected are `vane.toml`, every file of the repository that a gate's command names (a script
//! it starts, `./tests.sh`, `scripts/lint-score`, or one it hands to a program, `sh check.sh`), and
//! the globs of `protected` in vane.toml.

use super::Result;
use crate::config::Config;
use crate::git::Git;

/// The globs and paths protected for `config`, with the gate files as found in `commit`.
pub fn protected_patterns(git: &Git, config: &Config, commit: &str) -> Result<Vec<String>> {
    let mut patterns = vec![crate::config::FILE_NAME.to_string()];
    let mut named = Vec::new();
    for gate in &config.gates {
        if let Some(command) = &gate.command {
            named.extend(started_files(command));
        }
    }
    named.sort();
    named.dedup();
    patterns.extend(git.tracked_among(commit, &named)?);
    patterns.extend(config.protected.iter().cloned());
    Ok(patterns)
}

/// Interpreters whose first argument that is not an option is the script they run.
const INTERPRETERS: &[&str] = &[
    "sh", "bash", "dash", "zsh", "ksh", "python", "python3", "node", "ruby", "perl", "php", "deno",
    "bun", "tclsh", "lua", "Rscript",
];

/// The files (from the repository root, if they are in it) that a gate's command starts: its
/// program when that is a path (`./tests.sh`, `scripts/lint-score`), and the script handed to an
/// interpreter (`sh check.sh`, `python3 -u tools/score.py`). Data a gate only reads (`cat s.json`)
/// is the candidate's to change.
fn started_files(command: &str) -> Vec<String> {
    let mut files = Vec::new();
    let Some(program) = super::preflight::first_program(command) else {
        return files;
    };
    let clean = |word: &str| word.strip_prefix("./").unwrap_or(word).to_string();
    if program.contains('/') {
        files.push(clean(&program));
    }
    let name = program.rsplit('/').next().unwrap_or(&program);
    if INTERPRETERS.contains(&name) {
        let mut words = command
            .split_whitespace()
            .skip_while(|w| !w.ends_with(name));
        words.next();
        if let Some(script) = words
            .map(|w| w.trim_matches(|c| c == '"' || c == '\''))
            .find(|w| !w.starts_with('-'))
        {
            if !script.contains('$') && !script.is_empty() {
                files.push(clean(script));
            }
        }
    }
    files
}

/// The protected paths that the change from `from` to `to` touches.
pub fn touched(git: &Git, config: &Config, from: &str, to: &str) -> Result<Vec<String>> {
    let patterns = protected_patterns(git, config, from)?;
    Ok(git
        .changed_paths(from, to)?
        .into_iter()
        .filter(|path| patterns.iter().any(|p| glob_matches(p, path)))
        .collect())
}

/// Whether `path` (from the repository root, `/`-separated) matches `pattern`: `*` matches within
/// one path component, `**` across components, `?` one character; a pattern naming a directory
/// (`scripts/`, or `scripts` when `scripts/x` is the path) covers everything in it.
pub fn glob_matches(pattern: &str, path: &str) -> bool {
    let pattern = pattern.trim_start_matches("./");
    if let Some(dir) = pattern.strip_suffix('/') {
        return path.starts_with(&format!("{dir}/"));
    }
    if !pattern.contains(['*', '?']) && path.starts_with(&format!("{pattern}/")) {
        return true;
    }
    matches(pattern.as_bytes(), path.as_bytes())
}

fn matches(pattern: &[u8], text: &[u8]) -> bool {
    match pattern {
        [] => text.is_empty(),
        [b'*', b'*', rest @ ..] => {
            let rest = rest.strip_prefix(b"/").unwrap_or(rest);
            (0..=text.len()).any(|i| matches(rest, &text[i..]))
        }
        [b'*', rest @ ..] => (0..=text.len())
            .take_while(|&i| i == 0 || text[i - 1] != b'/')
            .any(|i| matches(rest, &text[i..])),
        [b'?', rest @ ..] => text.first().is_some_and(|&c| c != b'/') && matches(rest, &text[1..]),
        [c, rest @ ..] => text.first() == Some(c) && matches(rest, &text[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::{glob_matches, started_files};

    #[test]
    fn the_files_a_gate_command_starts() {
        let cases: &[(&str, &[&str])] = &[
            ("./tests.sh", &["tests.sh"]),
            ("scripts/lint-score --strict", &["scripts/lint-score"]),
            ("sh check.sh", &["check.sh"]),
            ("python3 -u tools/score.py src", &["tools/score.py"]),
            ("FOO=1 bash ./ci/run.sh", &["ci/run.sh"]),
            ("cat s.json", &[]),
            ("cargo test", &[]),
            ("test ! -e bad.txt", &[]),
        ];
        for (command, want) in cases {
            assert_eq!(started_files(command), *want, "{command}");
        }
    }

    #[test]
    fn globs_match_as_gitignore_readers_expect() {
        let cases = [
            ("vane.toml", "vane.toml", true),
            ("vane.toml", "sub/vane.toml", false),
            ("scripts/", "scripts/lint", true),
            ("scripts", "scripts/lint", true),
            ("scripts/*.sh", "scripts/a.sh", true),
            ("scripts/*.sh", "scripts/deep/a.sh", false),
            ("scripts/**/*.sh", "scripts/deep/a.sh", true),
            ("**/*.sh", "a.sh", true),
            ("**/*.sh", "x/y/a.sh", true),
            ("tests.sh", "tests.sh", true),
            ("./tests.sh", "tests.sh", true),
            ("t?sts.sh", "tests.sh", true),
            ("t?sts.sh", "t/sts.sh", false),
            ("*.toml", "Cargo.toml", true),
            ("*.toml", "a/Cargo.toml", false),
        ];
        for (pattern, path, want) in cases {
            assert_eq!(glob_matches(pattern, path), want, "{pattern} ~ {path}");
        }
    }
}
