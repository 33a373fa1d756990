//! Conflict-aware scheduling: which ready tasks to start now and which to hold back because they
//! would touch what a running task touches.
//!
//! Two branches that change the same file conflict at the merge queue, and the conflict costs a
//! second run of the agent to resolve it. Waiting for the first to land costs less, so a task whose
//! footprint (the paths it declared, and the ones its earlier attempts touched) overlaps that of a
//! task running or waiting to land is not started until that one is out of the way.
//!
//! Patterns are paths from the repository's root: plain paths (`docs/auth.md`), folders (`src/auth/`,
//! or `src/auth`: a plain path may name a folder), and globs with `*` and `?` within a component and
//! `**` for any number of components. A pattern covers what it names and everything under it. The
//! test is conservative: a false "overlap" only delays a task, a missed one costs a conflict. So a
//! character class (`[ab]`) counts as any character, and since `docs/auth.md` may be a folder,
//! `**/*.rs` overlaps it (a `.rs` file could sit under it). Everything here is pure.

use serde::Serialize;

use crate::model::TaskId;

/// What a task is expected to touch: its declared paths and the ones its earlier attempts touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Footprint {
    pub task: TaskId,
    pub paths: Vec<String>,
}

/// A ready task not started because its footprint overlaps that of `behind`, a task running,
/// waiting to land, or started before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Held {
    pub task: TaskId,
    pub behind: TaskId,
    /// The overlapping patterns: the held task's first, then those of `behind`.
    pub paths: Vec<String>,
}

/// What `plan_starts` decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Starts {
    /// The tasks to start, in the order given.
    pub start: Vec<TaskId>,
    /// Every ready task not started because of an overlap, in the order given.
    pub held: Vec<Held>,
}

/// Of `ready` (highest priority first), the tasks to start in `slots` free workers, given `busy`
/// (tasks running or waiting to land): a task whose footprint overlaps a busy task's, or that of a
/// task started earlier in this call, is held back (it would conflict; waiting for the earlier one
/// to land costs less than a conflicting run and the run that resolves it). An empty footprint
/// overlaps nothing.
///
/// Once the slots are used up no more tasks start, but the rest are still checked: one that
/// overlaps is listed as held, since it would wait even with a free worker; one that does not is
/// simply not started, and not listed. A task is held behind the first footprint it overlaps, busy
/// ones before those started here.
pub fn plan_starts(ready: &[Footprint], busy: &[Footprint], slots: usize) -> Starts {
    let mut starts = Starts::default();
    // Busy footprints, then those of the tasks started here, in that order.
    let mut taken: Vec<&Footprint> = busy.iter().collect();
    for candidate in ready {
        let blocker = taken.iter().find_map(|other| {
            if other.task == candidate.task {
                return None;
            }
            let paths = overlapping(&candidate.paths, &other.paths);
            (!paths.is_empty()).then(|| (other.task.clone(), paths))
        });
        match blocker {
            Some((behind, paths)) => starts.held.push(Held {
                task: candidate.task.clone(),
                behind,
                paths,
            }),
            None if starts.start.len() < slots => {
                starts.start.push(candidate.task.clone());
                taken.push(candidate);
            }
            None => {}
        }
    }
    starts
}

/// The patterns of `ours` that overlap one of `theirs`, then those of `theirs` that overlap one of
/// `ours`, each once; empty when the two footprints are disjoint.
fn overlapping(ours: &[String], theirs: &[String]) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut note = |pattern: &String| {
        if !found.contains(pattern) {
            found.push(pattern.clone());
        }
    };
    for a in ours {
        if theirs.iter().any(|b| overlaps(a, b)) {
            note(a);
        }
    }
    for b in theirs {
        if ours.iter().any(|a| overlaps(a, b)) {
            note(b);
        }
    }
    found
}

/// Whether some path could match both patterns, or lie under what both name.
///
/// Compared component by component: `**` stands for any number of components, a component with
/// `*` or `?` for any component it could match, and when either pattern runs out, what is left of
/// the other lies under it. Empty and `.` components are ignored, so `src/auth/` and `./src/auth`
/// are `src/auth`, and a pattern with no component at all covers everything.
pub fn overlaps(a: &str, b: &str) -> bool {
    let a = components(a);
    let b = components(b);
    let mut seen = vec![false; (a.len() + 1) * (b.len() + 1)];
    let mut stack = vec![(0, 0)];
    while let Some((i, j)) = stack.pop() {
        let at = i * (b.len() + 1) + j;
        if seen[at] {
            continue;
        }
        seen[at] = true;
        if i == a.len() || j == b.len() {
            // One names a folder of some path the other can still match.
            return true;
        }
        match (&a[i], &b[j]) {
            (Component::AnyDepth, _) | (_, Component::AnyDepth) => {
                // `**` matches no component (skip it), or the next one the other side matches
                // (consume it, and stay).
                if a[i] == Component::AnyDepth {
                    stack.push((i + 1, j));
                    stack.push((i, j + 1));
                }
                if b[j] == Component::AnyDepth {
                    stack.push((i, j + 1));
                    stack.push((i + 1, j));
                }
            }
            (Component::Name(x), Component::Name(y)) => {
                if names_overlap(x, y) {
                    stack.push((i + 1, j + 1));
                }
            }
        }
    }
    false
}

/// One component of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Component {
    /// `**`: any number of components, none included.
    AnyDepth,
    /// One component: literal characters and wildcards.
    Name(Vec<Token>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Char(char),
    /// `?`, or a character class `[...]`, taken as any character to stay on the safe side.
    AnyChar,
    /// `*` (or `**` within a component): any run of characters.
    AnyRun,
}

fn components(pattern: &str) -> Vec<Component> {
    pattern
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .map(|c| {
            if c == "**" {
                Component::AnyDepth
            } else {
                Component::Name(tokens(c))
            }
        })
        .collect()
}

fn tokens(component: &str) -> Vec<Token> {
    let chars: Vec<char> = component.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => {
                if out.last() != Some(&Token::AnyRun) {
                    out.push(Token::AnyRun);
                }
            }
            '?' => out.push(Token::AnyChar),
            '[' => {
                // A class: `]` right after `[` (or `[!`) belongs to it; it ends at the next one.
                let mut end = i + 1;
                if matches!(chars.get(end), Some('!' | '^')) {
                    end += 1;
                }
                if chars.get(end) == Some(&']') {
                    end += 1;
                }
                match chars
                    .get(end..)
                    .and_then(|rest| rest.iter().position(|&c| c == ']'))
                {
                    Some(close) => {
                        out.push(Token::AnyChar);
                        i = end + close;
                    }
                    None => out.push(Token::Char('[')),
                }
            }
            c => out.push(Token::Char(c)),
        }
        i += 1;
    }
    out
}

/// Whether some component name matches both token lists: a search over pairs of positions, each
/// step reading one character both can take, or letting a `*` match nothing.
fn names_overlap(x: &[Token], y: &[Token]) -> bool {
    let mut seen = vec![false; (x.len() + 1) * (y.len() + 1)];
    let mut stack = vec![(0, 0)];
    while let Some((i, j)) = stack.pop() {
        let at = i * (y.len() + 1) + j;
        if seen[at] {
            continue;
        }
        seen[at] = true;
        if i == x.len() && j == y.len() {
            return true;
        }
        let (p, q) = (x.get(i).copied(), y.get(j).copied());
        if p == Some(Token::AnyRun) {
            stack.push((i + 1, j));
        }
        if q == Some(Token::AnyRun) {
            stack.push((i, j + 1));
        }
        match (p, q) {
            (Some(Token::AnyRun), Some(Token::AnyRun)) | (None, _) | (_, None) => {}
            // A `*` takes the character the other side reads, and stays.
            (Some(Token::AnyRun), Some(_)) => stack.push((i, j + 1)),
            (Some(_), Some(Token::AnyRun)) => stack.push((i + 1, j)),
            (Some(Token::Char(c)), Some(Token::Char(d))) if c != d => {}
            (Some(_), Some(_)) => stack.push((i + 1, j + 1)),
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn id(text: &str) -> TaskId {
        TaskId::new(text).unwrap()
    }

    fn footprint(task: &str, paths: &[&str]) -> Footprint {
        Footprint {
            task: id(task),
            paths: paths.iter().map(|p| p.to_string()).collect(),
        }
    }

    fn ids(list: &[&str]) -> Vec<TaskId> {
        list.iter().map(|t| id(t)).collect()
    }

    fn held(task: &str, behind: &str, paths: &[&str]) -> Held {
        Held {
            task: id(task),
            behind: id(behind),
            paths: paths.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn patterns_overlap_when_some_path_matches_both_or_lies_under_both() {
        let cases: &[(&str, &str, bool)] = &[
            // Plain paths and folders.
            ("docs/auth.md", "docs/auth.md", true),
            ("docs/auth.md", "docs/billing.md", false),
            ("docs/auth.md", "docs", true),
            ("docs/auth.md", "docs/", true),
            ("src/auth/login.rs", "src/auth/", true),
            ("src/auth", "src/auth/login.rs", true),
            ("src/auth", "src/authz", false),
            ("src/auth/", "src/billing/", false),
            ("src", "docs", false),
            ("README.md", "README.md", true),
            ("README.md", "readme.md", false),
            ("./src/auth", "src//auth/", true),
            // `*` and `?` within a component.
            ("docs/*.md", "docs/auth.md", true),
            ("docs/*.md", "docs/auth.rs", false),
            ("docs/*.md", "src/auth.md", false),
            ("src/*/mod.rs", "src/auth/mod.rs", true),
            ("src/*/mod.rs", "src/auth/lib.rs", false),
            ("src/*", "src/auth/login.rs", true),
            ("src/*", "docs/x", false),
            ("src/?.rs", "src/a.rs", true),
            ("src/?.rs", "src/ab.rs", false),
            ("src/a*", "src/*b", true),
            ("src/a*c", "src/*b", false),
            ("src/*.rs", "src/*.md", false),
            ("src/*.rs", "src/main*", true),
            ("src/[ab].rs", "src/c.rs", true),
            ("src/[ab].rs", "src/cd.rs", false),
            ("src/[]].rs", "src/x.rs", true),
            ("src/[.rs", "src/[.rs", true),
            ("src/[.rs", "src/a.rs", false),
            // `**`: any number of components.
            ("src/**", "src/auth/login.rs", true),
            ("src/**", "src", true),
            ("src/**", "docs/auth.md", false),
            ("**/*.rs", "src/auth/login.rs", true),
            ("**/*.rs", "main.rs", true),
            ("**/login.rs", "src/auth/login.rs", true),
            ("src/**/login.rs", "src/auth/logout.rs/", true),
            ("src/**/login.rs", "lib/auth/login.rs", false),
            ("src/**/mod.rs", "src/mod.rs", true),
            ("src/**/mod.rs", "src/a/b/c/mod.rs", true),
            ("src/**/mod.rs", "docs/a/mod.rs", false),
            ("src/**/test/*.rs", "src/**/bench/*.rs", true),
            ("a/**/b/c", "a/x/**/c", true),
            ("**", "anything/at/all", true),
            // A plain path may be a folder, so what a glob matches under it overlaps; but a
            // glob's own components still have to match.
            ("**/*.rs", "docs/auth.md", true),
            ("**/login.rs", "src/auth/logout.rs", true),
            ("src/**/mod.rs", "src/a/b/c/lib.rs", true),
            ("src/*.rs", "src/auth", false),
            // No component at all: the whole repository.
            ("", "src/auth", true),
            ("/", "docs", true),
        ];
        for &(a, b, expected) in cases {
            assert_eq!(overlaps(a, b), expected, "{a:?} and {b:?}");
            assert_eq!(overlaps(b, a), expected, "{b:?} and {a:?}");
        }
    }

    #[test]
    fn a_task_overlapping_a_busy_one_is_held_behind_it() {
        let ready = [
            footprint("login", &["src/auth/login.rs"]),
            footprint("billing", &["src/billing/**"]),
        ];
        let busy = [footprint("auth", &["src/auth/**", "docs/auth.md"])];
        assert_eq!(
            plan_starts(&ready, &busy, 4),
            Starts {
                start: ids(&["billing"]),
                held: vec![held("login", "auth", &["src/auth/login.rs", "src/auth/**"])],
            }
        );
    }

    #[test]
    fn a_task_overlapping_one_started_before_it_is_held_behind_that_one() {
        let ready = [
            footprint("a", &["src/auth/**"]),
            footprint("b", &["docs/"]),
            footprint("c", &["src/auth/form.rs", "docs/auth.md"]),
        ];
        assert_eq!(
            plan_starts(&ready, &[], 4),
            Starts {
                start: ids(&["a", "b"]),
                held: vec![held("c", "a", &["src/auth/form.rs", "src/auth/**"])],
            }
        );
    }

    #[test]
    fn busy_tasks_come_before_those_started_in_the_same_call() {
        let ready = [footprint("a", &["x/1"]), footprint("b", &["x/**"])];
        let busy = [footprint("running", &["x"])];
        let starts = plan_starts(&ready, &busy, 4);
        assert!(starts.start.is_empty());
        assert_eq!(
            starts.held,
            vec![
                held("a", "running", &["x/1", "x"]),
                held("b", "running", &["x/**", "x"]),
            ]
        );
    }

    #[test]
    fn an_empty_footprint_overlaps_nothing() {
        let ready = [
            footprint("a", &[]),
            footprint("b", &[]),
            footprint("c", &["src/**"]),
        ];
        let busy = [footprint("d", &[]), footprint("e", &["**"])];
        let starts = plan_starts(&ready, &busy, 4);
        assert_eq!(starts.start, ids(&["a", "b"]));
        assert_eq!(starts.held, vec![held("c", "e", &["src/**", "**"])]);
    }

    #[test]
    fn tasks_past_the_free_slots_are_not_held_unless_they_overlap() {
        let ready = [
            footprint("a", &["a/"]),
            footprint("b", &["b/"]),
            footprint("c", &["c/"]),
            footprint("d", &["a/x.rs"]),
        ];
        let starts = plan_starts(&ready, &[], 1);
        assert_eq!(starts.start, ids(&["a"]));
        assert_eq!(starts.held, vec![held("d", "a", &["a/x.rs", "a/"])]);
        // Not started for want of a worker, `b` holds nothing back.
        let ready = [footprint("b", &["b/"]), footprint("b2", &["b/"])];
        assert_eq!(plan_starts(&ready, &[], 0), Starts::default());
    }

    #[test]
    fn a_task_is_not_held_behind_itself() {
        let ready = [footprint("a", &["src/"])];
        let busy = [footprint("a", &["src/"])];
        assert_eq!(plan_starts(&ready, &busy, 1).start, ids(&["a"]));
    }

    /// Whether `path` (concrete components) matches `pattern` or lies under a match of it: the
    /// meaning `overlaps` is held to, written the plain way.
    fn covers(pattern: &str, path: &[String]) -> bool {
        fn name_matches(tokens: &[Token], name: &[char]) -> bool {
            match tokens.first() {
                None => name.is_empty(),
                Some(Token::AnyRun) => {
                    (0..=name.len()).any(|k| name_matches(&tokens[1..], &name[k..]))
                }
                Some(Token::AnyChar) => !name.is_empty() && name_matches(&tokens[1..], &name[1..]),
                Some(Token::Char(c)) => {
                    name.first() == Some(c) && name_matches(&tokens[1..], &name[1..])
                }
            }
        }
        fn walk(pattern: &[Component], path: &[String]) -> bool {
            match pattern.first() {
                None => true,
                Some(Component::AnyDepth) => {
                    (0..=path.len()).any(|k| walk(&pattern[1..], &path[k..]))
                }
                Some(Component::Name(tokens)) => match path.first() {
                    None => false,
                    Some(name) => {
                        let name: Vec<char> = name.chars().collect();
                        name_matches(tokens, &name) && walk(&pattern[1..], &path[1..])
                    }
                },
            }
        }
        walk(&components(pattern), path)
    }

    /// A concrete path of one to four components over a small alphabet, so that patterns made at
    /// random meet often.
    fn path() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec("[ab][ab.]{0,2}", 1..=4)
    }

    /// A pattern over the same alphabet, wildcards included.
    fn pattern() -> impl Strategy<Value = String> {
        let component = prop_oneof![
            4 => "[ab.*?]{1,3}",
            1 => Just("**".to_string()),
        ];
        (prop::collection::vec(component, 0..=4), any::<bool>()).prop_map(|(parts, slash)| {
            let mut text = parts.join("/");
            if slash {
                text.push('/');
            }
            text
        })
    }

    /// A pattern that `path` matches by construction: some components made wildcards, some
    /// replaced by `**`, and perhaps cut short to name a folder of it.
    fn generalised(path: Vec<String>) -> impl Strategy<Value = (Vec<String>, String)> {
        let len = path.len();
        (prop::collection::vec(0..5u8, len), 0..=len, any::<bool>()).prop_map(
            move |(choices, keep, slash)| {
                let mut parts = Vec::new();
                for (component, choice) in path.iter().zip(&choices).take(keep) {
                    parts.push(match choice {
                        0 => "*".to_string(),
                        1 => "**".to_string(),
                        2 => format!("{}*", &component[..1]),
                        3 => format!("?{}", &component[1..]),
                        _ => component.clone(),
                    });
                }
                let mut text = parts.join("/");
                if slash {
                    text.push('/');
                }
                (path.clone(), text)
            },
        )
    }

    proptest! {
        #[test]
        fn overlap_is_symmetric(a in pattern(), b in pattern()) {
            prop_assert_eq!(overlaps(&a, &b), overlaps(&b, &a));
        }

        #[test]
        fn a_pattern_overlaps_itself(a in pattern()) {
            prop_assert!(overlaps(&a, &a));
        }

        #[test]
        fn a_path_overlaps_itself_and_every_folder_holding_it(path in path(), cut in 0usize..4) {
            let text = path.join("/");
            prop_assert!(overlaps(&text, &text));
            let folder = path[..cut.min(path.len())].join("/");
            prop_assert!(overlaps(&text, &folder));
            let with_slash = format!("{folder}/");
            let everything_under = format!("{folder}/**");
            prop_assert!(overlaps(&text, &with_slash));
            prop_assert!(overlaps(&everything_under, &text));
        }

        #[test]
        fn folders_that_part_ways_never_overlap(
            common in prop::collection::vec("[ab]{1,3}", 0..3),
            left in prop::collection::vec("[ab]{1,3}", 0..3),
            right in prop::collection::vec("[ab]{1,3}", 0..3),
        ) {
            let a = [common.clone(), vec!["x".to_string()], left].concat().join("/");
            let b = [common, vec!["y".to_string()], right].concat().join("/");
            prop_assert!(!overlaps(&a, &b), "{} and {}", a, b);
        }

        /// The promise that matters: a path both patterns cover is never missed.
        #[test]
        fn two_patterns_covering_one_path_always_overlap(
            (path, a) in path().prop_flat_map(generalised),
            b_choice in any::<prop::sample::Index>(),
            b_pattern in pattern(),
        ) {
            prop_assert!(covers(&a, &path), "{} should cover {:?}", a, path);
            // A second pattern: `b_pattern` when it covers the path, else one made from the path.
            let b = if covers(&b_pattern, &path) {
                b_pattern
            } else {
                path[..b_choice.index(path.len()) + 1].join("/")
            };
            prop_assert!(overlaps(&a, &b), "{} and {} both cover {:?}", a, b, path);
        }

        /// And the other way round: patterns that `overlaps` says meet do cover a common path,
        /// checked by looking for one among all short paths over the alphabet.
        #[test]
        fn an_overlap_is_found_only_where_some_path_is_covered_by_both(
            a in "[ab*?]{1,2}(/[ab*?]{1,2}){0,1}",
            b in "[ab*?]{1,2}(/[ab*?]{1,2}){0,1}",
        ) {
            // Three components: a pattern covers everything under it, so `a/a` and `**/b` meet
            // in `a/a/b`.
            let names = ["a", "b", "aa", "ab", "ba", "bb"];
            let mut paths: Vec<Vec<String>> = Vec::new();
            for x in names {
                paths.push(vec![x.to_string()]);
                for y in names {
                    paths.push(vec![x.to_string(), y.to_string()]);
                    for z in names {
                        paths.push(vec![x.to_string(), y.to_string(), z.to_string()]);
                    }
                }
            }
            let common = paths.iter().any(|p| covers(&a, p) && covers(&b, p));
            prop_assert_eq!(overlaps(&a, &b), common, "{} and {}", a, b);
        }
    }
}
