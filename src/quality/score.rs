//! Scores produced by quality gates, and the decision they lead to.
//!
//! A gate is a command or a critic agent run against a candidate commit. Each
//! gate yields a [`Verdict`]: a score between 0.0 and 1.0 (inclusive), plus
//! issues and suggestions. [`overall`] combines the scores of all gates into
//! a weighted mean, and [`decide`] compares that mean with a threshold.

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// What one gate said about the candidate.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Verdict {
    /// Score from 0.0 (worst) to 1.0 (best), inclusive.
    pub score: f64,
    /// Problems the gate found.
    pub issues: Vec<String>,
    /// Changes the gate recommends.
    pub suggestions: Vec<String>,
    /// What a critic found that later tasks should know, as it gave it: objects with a `topic`, a
    /// `content` and optionally a `confidence` (checked, and recorded as context entries, by
    /// `learnings`). Read for every gate; only a critic's are recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub learnings: Vec<Value>,
}

/// How many characters of output an error message quotes at most.
const TAIL_CHARS: usize = 200;

/// Reads the verdict of a gate configured with `score = "json"`.
///
/// The last non-empty line of `stdout` must be a JSON object of the form
/// `{"score": <number from 0 to 1>, "issues": [...], "suggestions": [...]}`.
/// `issues` and `suggestions` are optional and default to empty lists; `null`
/// also counts as empty. Items that are JSON strings are taken as they are;
/// any other item is kept as its compact JSON text. A value that is not a list
/// is treated as a list holding that one value. `learnings` is read the same
/// way, its items kept as JSON values.
///
/// On failure, the error is a one-line reason written to follow the words
/// ``gate `NAME` `` (the caller adds them), for example
/// `printed a score of 1.7, outside 0..1; last output: ...`. Apart from the
/// empty-output case, the reason ends with the last 200 characters of the
/// output, with line breaks shown as `⏎`. A number too large for an `f64`
/// (such as `1e999`) given as the score is reported as outside 0..1.
pub fn parse_score_line(stdout: &str) -> Result<Verdict, String> {
    let Some(line) = stdout.lines().rev().map(str::trim).find(|l| !l.is_empty()) else {
        return Err("printed no output".to_string());
    };
    let fail = |reason: String| Err(format!("{reason}; last output: {}", tail(stdout)));
    if !line.starts_with('{') {
        return fail("printed no score line".to_string());
    }
    let map = match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return fail("printed no score line".to_string()),
        Err(err) => return fail(invalid_json_reason(line, &err)),
    };
    match verdict_from_object(&map) {
        Some(Ok(verdict)) => Ok(verdict),
        Some(Err(reason)) => fail(reason),
        None => fail("printed a JSON object without a \"score\" field".to_string()),
    }
}

/// Finds the verdict in the noisy output of a critic agent.
///
/// Returns the last JSON object in `text` that has a `"score"` key whose value
/// is a number from 0 to 1; objects whose score is missing, not a number or
/// out of range are skipped. "Last" means the object whose opening brace comes
/// latest in `text`. Objects count wherever they are: in prose, in markdown
/// code fences, or nested inside other JSON values.
///
/// String values of every JSON object found are searched the same way,
/// recursively, because a critic's answer often arrives as a string field of
/// an outer document, such as Claude Code's
/// `{"type":"result","result":"... {\"score\": 0.9} ..."}`. A verdict found
/// inside a string counts as starting just after the opening brace of the
/// object that holds the string, so it loses to any object nested later in
/// that same object. When one object holds several such strings, the last one
/// in serde_json's map order (alphabetical by key unless serde_json's
/// `preserve_order` feature is on) wins.
///
/// Issues, suggestions and learnings are read as in [`parse_score_line`]. Returns `None`
/// when nothing qualifies.
///
/// An object whose contents nest more than 16 levels deep is not read as a
/// whole, but the objects inside it still are. The search checks for a JSON
/// object at every `{` in `text`; a check stops at the first syntax error or
/// at that depth limit, so the work stays roughly proportional to the length
/// of `text`.
pub fn find_verdict(text: &str) -> Option<Verdict> {
    let mut found = None;
    for (start, _) in text.match_indices('{') {
        let rest = &text[start..];
        // The cheap depth check comes first, so most junk is never parsed fully.
        let mut check = serde_json::Deserializer::from_str(rest);
        if DepthCheck(MAX_DEPTH).deserialize(&mut check).is_err() {
            continue;
        }
        let mut values = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
        let Some(Ok(Value::Object(map))) = values.next() else {
            continue;
        };
        // A verdict inside a string value counts as later than the object itself.
        let own = verdict_from_object(&map).and_then(Result::ok);
        let in_strings = map.values().rev().find_map(verdict_in_strings);
        found = in_strings.or(own).or(found);
    }
    found
}

/// How deeply, counted from its own opening brace, an object may nest for
/// [`find_verdict`] to read it.
const MAX_DEPTH: usize = 16;

/// Visits one JSON value without building it, and fails if the value nests
/// more than `.0` levels deep. A failed check costs little.
#[derive(Clone, Copy)]
struct DepthCheck(usize);

impl DepthCheck {
    fn deeper<E: de::Error>(self) -> Result<Self, E> {
        match self.0 {
            0 => Err(E::custom("nested too deeply")),
            left => Ok(DepthCheck(left - 1)),
        }
    }
}

impl<'de> DeserializeSeed<'de> for DepthCheck {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// Defines visitor methods that accept a scalar value.
macro_rules! accept {
    ($($method:ident($($ty:ty)?)),*) => {
        $(fn $method<E>(self $(, _: $ty)?) -> Result<(), E> { Ok(()) })*
    };
}

impl<'de> Visitor<'de> for DepthCheck {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    accept!(visit_bool(bool), visit_i64(i64), visit_u64(u64));
    accept!(visit_f64(f64), visit_str(&str), visit_unit());
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let inner = self.deeper()?;
        while seq.next_element_seed(inner)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let inner = self.deeper()?;
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value_seed(inner)?;
        }
        Ok(())
    }
}

/// Searches the strings in `value` that do not belong to a nested object
/// (nested objects are searched when the scan in [`find_verdict`] reaches
/// their own opening brace). Returns the last verdict found.
fn verdict_in_strings(value: &Value) -> Option<Verdict> {
    match value {
        Value::String(s) if s.contains('{') => find_verdict(s),
        Value::Array(items) => items.iter().rev().find_map(verdict_in_strings),
        _ => None,
    }
}

/// Reads a verdict from a parsed object. `None` when the object has no
/// `"score"` key; `Some(Err(reason))` when the score is unusable.
fn verdict_from_object(map: &Map<String, Value>) -> Option<Result<Verdict, String>> {
    let value = map.get("score")?;
    let Value::Number(n) = value else {
        return Some(Err(format!(
            "printed a score that is not a number ({value})"
        )));
    };
    match n.as_f64() {
        Some(score) if (0.0..=1.0).contains(&score) => Some(Ok(Verdict {
            score,
            issues: text_items(map.get("issues")),
            suggestions: text_items(map.get("suggestions")),
            learnings: match map.get("learnings") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(items)) => items.clone(),
                Some(other) => vec![other.clone()],
            },
        })),
        _ => Some(Err(format!("printed a score of {n}, outside 0..1"))),
    }
}

/// Turns an optional `issues` or `suggestions` value into a list of texts.
fn text_items(value: Option<&Value>) -> Vec<String> {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(text).collect(),
        Some(other) => vec![text(other)],
    }
}

/// Explains why `line`, which starts with `{`, is not valid JSON. A score
/// too large for an `f64` (serde_json rejects it as out of range) is
/// reported as a score outside 0..1.
fn invalid_json_reason(line: &str, err: &serde_json::Error) -> String {
    if err.to_string().starts_with("number out of range") {
        // The error column (1-based, in bytes) points at the last byte of the
        // offending number, which is ASCII.
        let bytes = line.as_bytes();
        let end = err.column().min(bytes.len());
        let is_num = |b: &&u8| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-');
        let begin = end - bytes[..end].iter().rev().take_while(is_num).count();
        if let (Some(before), Some(number)) = (line.get(..begin), line.get(begin..end)) {
            let key = before.trim_end().strip_suffix(':').map(str::trim_end);
            if key.is_some_and(|k| k.ends_with("\"score\"")) {
                return format!("printed a score of {number}, outside 0..1");
            }
        }
    }
    format!("printed a last line that is not valid JSON ({err})")
}

/// The last [`TAIL_CHARS`] characters of `output` on one line, with line
/// breaks shown as `⏎` and other control characters as spaces.
fn tail(output: &str) -> String {
    let trimmed = output.trim_end();
    let count = trimmed.chars().count();
    let mut shown = String::from(if count > TAIL_CHARS { "…" } else { "" });
    for c in trimmed.chars().skip(count.saturating_sub(TAIL_CHARS)) {
        match c {
            '\n' => shown.push('⏎'),
            '\r' => {}
            c if c.is_control() => shown.push(' '),
            c => shown.push(c),
        }
    }
    shown
}

/// The outcome of one gate, as used to reach a [`Decision`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GateScore {
    /// Name of the gate.
    pub name: String,
    /// The quality dimension the gate measures, such as "tests" or "design".
    pub dimension: String,
    /// Relative weight of the gate in [`overall`]; expected to be 0 or more.
    pub weight: f64,
    /// Whether the candidate is rejected when this gate does not pass.
    pub required: bool,
    /// Score from 0.0 to 1.0.
    pub score: f64,
    /// Whether the gate passed on its own terms.
    pub passed: bool,
}

/// Weighted mean of the gate scores.
///
/// Negative, NaN and infinite weights count as 0. When no gate has a
/// positive weight (including when `scores` is empty) the result is 1.0.
/// The result is kept within the lowest and highest score of the gates with a
/// positive weight, so rounding can never move it outside that range. A NaN
/// score makes the result NaN, which fails every threshold in [`decide`].
pub fn overall(scores: &[GateScore]) -> f64 {
    let weight = |g: &GateScore| {
        Some(g.weight)
            .filter(|w| w.is_finite())
            .map_or(0.0, |w| w.max(0.0))
    };
    // Dividing by the largest weight keeps the sums from overflowing.
    let max_weight = scores.iter().map(weight).fold(0.0, f64::max);
    if max_weight <= 0.0 {
        return 1.0;
    }
    let (mut sum, mut total) = (0.0, 0.0);
    let (mut low, mut high) = (f64::INFINITY, f64::NEG_INFINITY);
    for g in scores.iter().filter(|g| weight(g) > 0.0) {
        let w = weight(g) / max_weight;
        sum += w * g.score;
        total += w;
        low = low.min(g.score);
        high = high.max(g.score);
    }
    let mean = sum / total;
    if mean < low {
        low
    } else if mean > high {
        high
    } else {
        mean
    }
}

/// Whether a candidate is accepted, and why.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Decision {
    /// The weighted mean from [`overall`], not rounded.
    pub overall: f64,
    /// The threshold the mean was compared with.
    pub threshold: f64,
    /// Whether the candidate is accepted.
    pub passed: bool,
    /// Names of the required gates that did not pass, in the order given.
    pub failed_required: Vec<String>,
}

/// Whether `score` reaches `threshold`, both rounded to the nearest multiple of 1e-9 first (see
/// `decide`). A NaN never reaches anything.
pub fn meets(score: f64, threshold: f64) -> bool {
    let nano = |x: f64| (x * 1e9).round();
    nano(score) >= nano(threshold)
}

/// Decides whether the candidate is accepted.
///
/// The candidate passes when the overall score is at least `threshold` and
/// every gate with `required` set has `passed` set. Both the overall score and
/// the threshold are rounded to the nearest multiple of 1e-9 before they are
/// compared, so floating-point noise cannot fail a candidate that meets the
/// threshold exactly: the mean of 0.85 and 0.95 is computed as
/// 0.8999999999999999, yet it passes a threshold of 0.9. A NaN threshold or
/// overall score never passes.
pub fn decide(scores: &[GateScore], threshold: f64) -> Decision {
    let overall = overall(scores);
    let failed_required: Vec<String> = scores
        .iter()
        .filter(|g| g.required && !g.passed)
        .map(|g| g.name.clone())
        .collect();
    Decision {
        overall,
        threshold,
        passed: meets(overall, threshold) && failed_required.is_empty(),
        failed_required,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Gates named g0, g1, ... from (weight, score, required, passed).
    fn gates(list: &[(f64, f64, bool, bool)]) -> Vec<GateScore> {
        let gate = |(i, &(weight, score, required, passed)): (usize, _)| GateScore {
            name: format!("g{i}"),
            dimension: "d".to_string(),
            weight,
            required,
            score,
            passed,
        };
        list.iter().enumerate().map(gate).collect()
    }

    /// Gates from (weight, score) that are not required and passed.
    fn plain(list: &[(f64, f64)]) -> Vec<GateScore> {
        let full: Vec<_> = list.iter().map(|&(w, s)| (w, s, false, true)).collect();
        gates(&full)
    }

    /// A verdict as "score / issues / suggestions", lists joined by "|".
    fn brief(v: Verdict) -> String {
        format!(
            "{} / {} / {}",
            v.score,
            v.issues.join("|"),
            v.suggestions.join("|")
        )
    }

    fn ok(stdout: &str) -> String {
        brief(parse_score_line(stdout).unwrap())
    }

    /// Asserts that `stdout` is rejected with a reason starting "printed {want}".
    fn bad(stdout: &str, want: &str) {
        let got = parse_score_line(stdout).unwrap_err();
        assert!(
            got.starts_with(&format!("printed {want}")),
            "{stdout:?} gave {got:?}"
        );
    }

    fn found(text: &str) -> String {
        find_verdict(text).map_or("none".to_string(), brief)
    }

    #[test]
    fn parses_valid_lines() {
        let full = r#"{"score": 0.75, "issues": ["a"], "suggestions": ["b", "c"]}"#;
        assert_eq!(ok(&format!("build ok\n{full}")), "0.75 / a / b|c");
        assert_eq!(ok(r#"{"score": 1}"#), "1 /  / ");
        assert_eq!(ok(r#"{"score": 0, "issues": null}"#), "0 /  / ");
        assert_eq!(ok("log\n {\"score\": 0.5} \n\n \r\n\t\n"), "0.5 /  / ");
        let mixed = r#"{"score": 0.5, "issues": ["x", 3, {"f": 1}, null], "suggestions": "s"}"#;
        assert_eq!(ok(mixed), r#"0.5 / x|3|{"f":1}|null / s"#);
    }

    #[test]
    fn rejects_bad_output_with_a_reason() {
        let err = |stdout: &str| parse_score_line(stdout).unwrap_err();
        assert_eq!(err(""), "printed no output");
        assert_eq!(err(" \n\t\n"), "printed no output");
        let junk = "printed no score line; last output: all good⏎really";
        assert_eq!(err("all good\r\nreally\n"), junk);
        let not_last = "printed no score line; last output: {\"score\": 0.9}⏎done.";
        assert_eq!(err("{\"score\": 0.9}\ndone."), not_last);
        let high = "printed a score of 1.2, outside 0..1; last output: {\"score\": 1.2}";
        assert_eq!(err(r#"{"score": 1.2}"#), high);
        bad("[0.9]", "no score line; last output: [0.9]");
        bad("{not json", "a last line that is not valid JSON (key must");
        bad(r#"{"issues": []}"#, "a JSON object without a \"score\"");
        bad(r#"{"score": -0.1}"#, "a score of -0.1, outside 0..1;");
        bad(r#"{"score": 1e999}"#, "a score of 1e999, outside 0..1;");
        bad(r#"{"score" : -1E+999 }"#, "a score of -1E+999, outside");
        bad(r#"{"score": 0, "issues": [1e999]}"#, "a last line that");
        bad(
            r#"{"score": "0.9"}"#,
            "a score that is not a number (\"0.9\")",
        );
        bad(r#"{"score": null}"#, "a score that is not a number (null);");
        let long = err(&format!("{}END", "x".repeat(500)));
        assert!(long.ends_with(&format!("output: …{}END", "x".repeat(TAIL_CHARS - 3))));
    }

    #[test]
    fn finds_the_last_verdict_in_noisy_text() {
        let prose = r#"I think {"score": 0.6, "issues": ["slow"]} is fair."#;
        assert_eq!(found(prose), "0.6 / slow / ");
        let fenced =
            "Review:\n```json\n{\n  \"score\": 0.8,\n  \"suggestions\": [\"split\"]\n}\n```\n";
        assert_eq!(found(fenced), "0.8 /  / split");
        let several = r#"{"score": 0.1} {"score": 0.2} {"x": 1} {"score": 3} {"score": "1"}"#;
        assert_eq!(found(several), "0.2 /  / ");
        let nested = r#"{"score": 0.3, "detail": {"score": 0.4}}"#;
        assert_eq!(found(nested), "0.4 /  / ");
        let in_array = r#"[{"score": 0.3}, {"x": [{"score": 0.7}]}]"#;
        assert_eq!(found(in_array), "0.7 /  / ");
        let none = r#"{"grade": 0.9} {"score": 1.5} {"score": -0.2} {"score": null} {"score": 0.9"#;
        assert_eq!(found(none), "none");
        assert_eq!(found(""), "none");
    }

    #[test]
    fn a_verdict_carries_the_learnings_it_gives() {
        let text = r#"Done. {"score": 0.8, "learnings": [{"topic": "style", "content": "Use `?`", "confidence": 0.7}, "loose"]}"#;
        let verdict = find_verdict(text).unwrap();
        assert_eq!(
            verdict.learnings,
            [
                serde_json::json!({"topic": "style", "content": "Use `?`", "confidence": 0.7}),
                serde_json::json!("loose")
            ]
        );
        let one = parse_score_line(r#"{"score": 1, "learnings": {"topic": "t", "content": "c"}}"#);
        assert_eq!(one.unwrap().learnings.len(), 1);
        assert!(find_verdict(r#"{"score": 1, "learnings": null}"#)
            .unwrap()
            .learnings
            .is_empty());
        // Without learnings a verdict serializes as before.
        let plain = serde_json::to_string(&find_verdict(r#"{"score": 1}"#).unwrap()).unwrap();
        assert_eq!(plain, r#"{"score":1.0,"issues":[],"suggestions":[]}"#);
    }

    #[test]
    fn finds_verdict_inside_json_string_field() {
        let claude = r#"{"type":"result","result":"Done.\n```json\n{\"score\": 0.9, \"issues\": [\"a \\\"b\\\"\"]}\n```","cost":0.01}"#;
        assert_eq!(found(claude), "0.9 / a \"b\" / ");
        // Embedded twice over, inside an array of strings.
        let inner = serde_json::json!({"result": "{\"score\": 0.35}"}).to_string();
        let outer = serde_json::json!({"log": ["no", inner]}).to_string();
        // A string's verdict beats its own object's score but not a later nested object.
        assert_eq!(
            found(r#"{"score": 0.1, "r": "{\"score\": 0.2}"}"#),
            "0.2 /  / "
        );
        assert_eq!(
            found(r#"{"r": "{\"score\": 0.2}", "z": {"score": 0.3}}"#),
            "0.3 /  / "
        );
        assert_eq!(found(&outer), "0.35 /  / ");
    }

    #[test]
    fn large_junk_finishes() {
        let braces = "{".repeat(1 << 20);
        assert_eq!(found(&braces), "none");
        assert_eq!(found(&format!("{braces}{{\"score\": 0.5}}")), "0.5 /  / ");
        let unit = "{\"a\":[{x{\"score\":}{\"";
        assert_eq!(found(&unit.repeat((1 << 20) / unit.len())), "none");
        let open = "{\"a\":";
        assert_eq!(found(&open.repeat(1 << 16)), "none");
        let deep = format!("{}{{\"score\": 0.5}}{}", open.repeat(100), "}".repeat(100));
        assert_eq!(found(&deep), "0.5 /  / ");
    }

    #[test]
    fn weights_change_the_overall() {
        assert_eq!(overall(&plain(&[(1.0, 1.0), (1.0, 0.0)])), 0.5);
        assert_eq!(overall(&plain(&[(3.0, 1.0), (1.0, 0.0)])), 0.75);
        let ignored = [(0.0, 0.0), (2.0, 0.6), (-1.0, 0.0), (f64::NAN, 0.0)];
        assert_eq!(overall(&plain(&ignored)), 0.6);
        assert_eq!(overall(&plain(&[(1e308, 1.0), (1e308, 0.0)])), 0.5);
        assert_eq!(overall(&plain(&[(0.0, 0.2)])), 1.0);
        assert_eq!(overall(&[]), 1.0);
    }

    #[test]
    fn threshold_is_compared_without_float_noise() {
        let d = decide(&plain(&[(1.0, 0.8), (1.0, 0.9)]), 0.85);
        assert!(d.passed && d.failed_required.is_empty(), "{d:?}");
        // The mean of 0.85 and 0.95 comes out as 0.8999999999999999.
        let noisy = plain(&[(1.0, 0.85), (1.0, 0.95)]);
        assert!(overall(&noisy) < 0.9 && decide(&noisy, 0.9).passed);
        let low = decide(&plain(&[(1.0, 0.84)]), 0.85);
        assert!(!low.passed);
        assert_eq!((low.overall, low.threshold), (0.84, 0.85));
    }

    #[test]
    fn failing_required_gate_fails_the_decision() {
        let (t, f) = (true, false);
        let list = [
            (1.0, 1.0, t, t),
            (1.0, 0.95, t, f),
            (1.0, 0.2, f, f),
            (0.0, 1.0, t, f),
        ];
        let d = decide(&gates(&list), 0.5);
        assert!(!d.passed);
        assert_eq!(d.failed_required, ["g1", "g3"]);
        assert!(decide(&gates(&list[..1]), 0.5).passed);
    }

    proptest! {
        #[test]
        fn overall_stays_within_scores(list in prop::collection::vec((0.001f64..100.0, 0.0f64..=1.0), 1..12)) {
            let o = overall(&plain(&list));
            let lo = list.iter().map(|g| g.1).fold(f64::INFINITY, f64::min);
            let hi = list.iter().map(|g| g.1).fold(f64::NEG_INFINITY, f64::max);
            prop_assert!(lo <= o && o <= hi, "{} not in [{}, {}]", o, lo, hi);
        }

        #[test]
        fn decide_is_monotonic_in_threshold(
            list in prop::collection::vec((0.0f64..10.0, 0.0f64..=1.0, any::<bool>(), any::<bool>()), 0..8),
            a in -0.5f64..=1.5,
            b in -0.5f64..=1.5,
        ) {
            let scores = gates(&list);
            let (low, high) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(!decide(&scores, high).passed || decide(&scores, low).passed);
        }
    }
}
