//! "Did you mean ...?": the nearest of a list of known names to one that was mistyped.
//!
//! Pure; used wherever a person's word is checked against a fixed set (the keys of `vane.toml`).

/// The known name a mistyped `word` most likely meant: the one nearest by Damerau-Levenshtein
/// distance (a swap of two neighbours counts as one edit), when that is at most 2 and smaller than
/// the word itself; else one that the word begins, or that begins the word, sharing 3 letters or
/// more (`dim` for `dimension`, `timeout_secs` for `timeout`). Case is ignored. Ties go to the name
/// listed first.
pub fn did_you_mean<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    let word = word.to_lowercase();
    let word_len = word.chars().count();
    let nearest = known
        .iter()
        .map(|name| (distance(&word, &name.to_lowercase()), *name))
        .filter(|(d, _)| *d <= 2 && *d < word_len)
        .min_by_key(|(d, _)| *d)
        .map(|(_, name)| name);
    nearest.or_else(|| {
        known.iter().copied().find(|name| {
            let name = name.to_lowercase();
            let shorter = name.chars().count().min(word_len);
            shorter >= 3 && (name.starts_with(&word) || word.starts_with(&name))
        })
    })
}

/// The optimal-string-alignment distance: insertions, deletions, substitutions and swaps of two
/// neighbouring characters, each one edit.
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j]: the distance between the first i characters of a and the first j of b.
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const GATE_KEYS: &[&str] = &[
        "name",
        "dimension",
        "command",
        "agent",
        "weight",
        "required",
        "timeout",
        "score",
        "parallel",
    ];

    #[test]
    fn distances() {
        for (a, b, d) in [
            ("", "", 0),
            ("timeout", "timeout", 0),
            ("tmeout", "timeout", 1),
            ("timoeut", "timeout", 1),
            ("itmeout", "timeout", 1),
            ("timeuot", "timeout", 1),
            ("tiemout", "timeout", 1),
            ("timeouts", "timeout", 1),
            ("tmout", "timeout", 2),
            ("kitten", "sitting", 3),
            ("", "abc", 3),
            ("ca", "abc", 3),
        ] {
            assert_eq!(distance(a, b), d, "{a} / {b}");
            assert_eq!(distance(b, a), d, "{b} / {a}");
        }
    }

    #[test]
    fn suggestions() {
        for (word, expected) in [
            ("tmeout", Some("timeout")),
            ("timeot", Some("timeout")),
            ("TIMEOUT", Some("timeout")),
            ("wieght", Some("weight")),
            ("comand", Some("command")),
            ("agnet", Some("agent")),
            ("requried", Some("required")),
            ("dim", Some("dimension")),
            ("timeout_secs", Some("timeout")),
            ("paralel", Some("parallel")),
            ("scores", Some("score")),
            // Nothing near: no guess rather than a wild one.
            ("colour", None),
            ("x", None),
            ("nm", None),
            ("", None),
        ] {
            assert_eq!(did_you_mean(word, GATE_KEYS), expected, "{word}");
        }
    }

    #[test]
    fn the_nearest_wins_and_ties_go_to_the_first_listed() {
        assert_eq!(
            did_you_mean("workers", &["worker", "workers"]),
            Some("workers")
        );
        assert_eq!(did_you_mean("ab", &["abc", "abd"]), Some("abc"));
        assert_eq!(
            did_you_mean("escalate", &["escalate_after", "escalate_to"]),
            Some("escalate_after")
        );
    }
}
