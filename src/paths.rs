//! Path patterns, as tasks declare the paths they expect to touch (`paths:`) and routes match
//! them: plain paths (`docs/auth.md`), folders (`src/auth/`, or `src/auth`: a plain path may name a
//! folder), and globs with `*` and `?` within a component and `**` for any number of components. A
//! pattern covers what it names and everything under it. The test of overlap is conservative: a
//! false "overlap" only delays a task, a missed one costs a conflict. So a character class (`[ab]`)
//! counts as any character, and since `docs/auth.md` may be a folder, `**/*.rs` overlaps it (a
//! `.rs` file could sit under it). Pure.

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
