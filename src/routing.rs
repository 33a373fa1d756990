//! Routing: which agent profile a task runs with when it names none, by the `[[route]]` rules of
//! `vane.toml` (its type, its complexity, the paths it declared), the first that matches winning.
//!
//! A task's own `agent` wins over every route, and `default_agent` takes what no route matches;
//! escalation (`escalate_after`) applies on top, at claim time (`orchestrator::profiles`). Pure:
//! the rules are read here from their TOML values and matched against a task, nothing else. Paths
//! are compared with the scheduler's overlap test, so that a route for `docs/**` takes the task that
//! declared `docs/guide.md` exactly when the scheduler would hold the two apart.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

use crate::model::{check_path_pattern, Complexity, Task, TaskType};

/// One `[[route]]` table: the conditions a task must meet, all of them, and the profile it then
/// runs with. An empty condition holds for every task, so a route without any matches them all.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RouteTable")]
pub struct Route {
    /// `type`: one of these types; any when empty.
    pub kinds: Vec<TaskType>,
    /// `complexity`: a complexity within this range; a task without one never matches.
    pub complexity: Option<ComplexityRange>,
    /// `paths`: one of the task's declared paths overlaps one of these; any when empty.
    pub paths: Vec<String>,
    /// The profile a matching task runs with.
    pub agent: String,
    /// The executor a matching task runs on (`[executor.NAME]`); None: this machine's workers,
    /// or the batch's `--executor`.
    pub executor: Option<String>,
}

/// A `[[route]]` as written, before its values are read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteTable {
    #[serde(rename = "type")]
    kinds: Option<OneOrMany>,
    complexity: Option<RangeValue>,
    paths: Option<Vec<String>>,
    agent: String,
    executor: Option<String>,
}

/// `type = "bug"` or `type = ["bug", "task"]`.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// `complexity = "<=3"`, or a bare `complexity = 5`.
#[derive(Deserialize)]
#[serde(untagged)]
enum RangeValue {
    Number(i64),
    Text(String),
}

impl TryFrom<RouteTable> for Route {
    type Error = String;

    fn try_from(table: RouteTable) -> Result<Self, Self::Error> {
        let kinds = match table.kinds {
            None => Vec::new(),
            Some(OneOrMany::One(word)) => vec![parse_kind(&word)?],
            Some(OneOrMany::Many(words)) => words
                .iter()
                .map(|w| parse_kind(w))
                .collect::<Result<_, _>>()?,
        };
        let complexity = match table.complexity {
            None => None,
            Some(RangeValue::Number(n)) => Some(ComplexityRange::exactly(n)?),
            Some(RangeValue::Text(text)) => Some(text.parse()?),
        };
        let paths = table.paths.unwrap_or_default();
        for path in &paths {
            check_route_path(path)?;
        }
        Ok(Route {
            kinds,
            complexity,
            paths,
            agent: table.agent,
            executor: table.executor,
        })
    }
}

/// A task type as a route names it, or why it is none.
pub fn parse_kind(word: &str) -> Result<TaskType, String> {
    word.parse::<TaskType>().map_err(|_| {
        let known: Vec<&str> = TaskType::ALL.iter().map(|t| t.as_str()).collect();
        match crate::suggest::did_you_mean(word, &known) {
            Some(near) => format!("unknown task type \"{word}\"; did you mean \"{near}\"?"),
            None => format!(
                "unknown task type \"{word}\"; the types are {}",
                known.join(", ")
            ),
        }
    })
}

/// Whether a route's path is a pattern a task could declare, or why not.
pub fn check_route_path(path: &str) -> Result<(), String> {
    check_path_pattern(path).map_err(|problem| format!("the path \"{path}\" {problem}"))
}

/// Complexities from `min` to `max`, both included, within 1..=10.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ComplexityRange {
    pub min: u8,
    pub max: u8,
}

impl ComplexityRange {
    /// The range holding `n` alone.
    pub fn exactly(n: i64) -> Result<Self, String> {
        let n = bound(n)?;
        Ok(ComplexityRange { min: n, max: n })
    }

    pub fn contains(&self, complexity: Complexity) -> bool {
        (self.min..=self.max).contains(&complexity.get())
    }

    /// Whether every complexity of `other` is one of these.
    pub fn covers(&self, other: &ComplexityRange) -> bool {
        self.min <= other.min && other.max <= self.max
    }

    /// The range as it is written in `vane.toml`: `<=3`, `>=7`, `4-6`, `5`.
    pub fn written(&self) -> String {
        match (self.min, self.max) {
            (min, max) if min == max => min.to_string(),
            (1, max) if max < 10 => format!("<={max}"),
            (min, 10) if min > 1 => format!(">={min}"),
            (min, max) => format!("{min}-{max}"),
        }
    }
}

/// For people: `≤ 3`, `≥ 7`, `4-6`, `5`.
impl fmt::Display for ComplexityRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.min, self.max) {
            (min, max) if min == max => write!(f, "{min}"),
            (1, max) if max < 10 => write!(f, "≤ {max}"),
            (min, 10) if min > 1 => write!(f, "≥ {min}"),
            (min, max) => write!(f, "{min}-{max}"),
        }
    }
}

/// What a range may be written as, for messages.
pub const RANGE_FORMS: &str = "\"<=3\", \">=7\", \"4-6\" or \"5\"";

fn bound(n: i64) -> Result<u8, String> {
    Complexity::new(n)
        .map(Complexity::get)
        .map_err(|_| format!("{n} is not a complexity, which is from 1 to 10"))
}

impl FromStr for ComplexityRange {
    type Err = String;

    /// `<=N`, `>=N`, `A-B` or `N` (`≤` and `≥` too, spaces allowed), within 1..=10.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let number = |s: &str| -> Result<u8, String> {
            let s = s.trim();
            let n: i64 = s
                .parse()
                .map_err(|_| format!("\"{s}\" is not a whole number"))?;
            bound(n)
        };
        let text = text.trim();
        if text.is_empty() {
            return Err("it is empty".to_string());
        }
        let (min, max) = if let Some(rest) = text.strip_prefix("<=").or(text.strip_prefix('≤')) {
            (1, number(rest)?)
        } else if let Some(rest) = text.strip_prefix(">=").or(text.strip_prefix('≥')) {
            (number(rest)?, 10)
        } else if let Some((low, high)) = text.split_once('-') {
            (number(low)?, number(high)?)
        } else {
            let n = number(text)?;
            (n, n)
        };
        if min > max {
            return Err(format!(
                "{min}-{max} holds no complexity: {min} is above {max}"
            ));
        }
        Ok(ComplexityRange { min, max })
    }
}

impl Route {
    /// Whether `task` meets every condition of this route.
    pub fn matches(&self, task: &Task) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&task.kind))
            && self
                .complexity
                .is_none_or(|range| task.complexity.is_some_and(|c| range.contains(c)))
            && (self.paths.is_empty()
                || task.paths.iter().any(|declared| {
                    self.paths
                        .iter()
                        .any(|p| crate::paths::overlaps(declared, p))
                }))
    }

    /// Whether the route has no condition: it matches every task.
    pub fn is_catch_all(&self) -> bool {
        self.kinds.is_empty() && self.complexity.is_none() && self.paths.is_empty()
    }

    /// Whether every task this route matches, `earlier` matches too: then, coming first,
    /// `earlier` leaves this one nothing. Conservative: paths count only when written alike.
    pub fn shadowed_by(&self, earlier: &Route) -> bool {
        let kinds = earlier.kinds.is_empty()
            || (!self.kinds.is_empty() && self.kinds.iter().all(|k| earlier.kinds.contains(k)));
        let complexity = match (&earlier.complexity, &self.complexity) {
            (None, _) => true,
            (Some(wide), Some(narrow)) => wide.covers(narrow),
            (Some(_), None) => false,
        };
        let paths = earlier.paths.is_empty()
            || (!self.paths.is_empty() && self.paths.iter().all(|p| earlier.paths.contains(p)));
        kinds && complexity && paths
    }

    /// Its conditions for people: `type bug, complexity ≤ 3`, or `any task`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.kinds.is_empty() {
            let kinds: Vec<&str> = self.kinds.iter().map(|k| k.as_str()).collect();
            parts.push(format!("type {}", kinds.join(" or ")));
        }
        if let Some(range) = &self.complexity {
            parts.push(format!("complexity {range}"));
        }
        if !self.paths.is_empty() {
            parts.push(format!("paths {}", self.paths.join(" or ")));
        }
        if parts.is_empty() {
            "any task".to_string()
        } else {
            parts.join(", ")
        }
    }
}

/// Why a task runs with the profile `choose` gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// The task names its own `agent`.
    Task,
    /// A `[[route]]` matched: its index (from 0) and its conditions in words (`Route::describe`).
    Route { index: usize, rule: String },
    /// No route matched: `default_agent`.
    Default,
}

/// `the task's own agent`, `route 2: type bug, complexity ≤ 3`, `default_agent`.
impl fmt::Display for Choice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Choice::Task => f.write_str("the task's own agent"),
            Choice::Route { index, rule } => write!(f, "route {}: {rule}", index + 1),
            Choice::Default => f.write_str("default_agent"),
        }
    }
}

/// The profile `task` runs with, and why: its own `agent`, else that of the first of `routes` that
/// matches it, else `default_agent`.
pub fn choose<'a>(
    routes: &'a [Route],
    default_agent: &'a str,
    task: &'a Task,
) -> (&'a str, Choice) {
    if let Some(agent) = &task.agent {
        return (agent, Choice::Task);
    }
    for (index, route) in routes.iter().enumerate() {
        if route.matches(task) {
            let rule = route.describe();
            return (&route.agent, Choice::Route { index, rule });
        }
    }
    (default_agent, Choice::Default)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(kind: TaskType, complexity: Option<i64>, paths: &[&str]) -> Task {
        Task {
            complexity: complexity.map(|c| Complexity::new(c).unwrap()),
            paths: paths.iter().map(|p| p.to_string()).collect(),
            kind,
            ..Task::example("t")
        }
    }

    /// The routes of a `vane.toml` holding only `[[route]]` tables.
    fn routes(text: &str) -> Vec<Route> {
        #[derive(Deserialize)]
        struct File {
            route: Vec<Route>,
        }
        toml::from_str::<File>(text).expect("routes").route
    }

    fn route(text: &str) -> Route {
        routes(&format!("[[route]]\n{text}\nagent = \"x\"\n")).remove(0)
    }

    fn range(text: &str) -> Result<(u8, u8), String> {
        text.parse::<ComplexityRange>().map(|r| (r.min, r.max))
    }

    #[test]
    fn complexity_ranges_are_written_four_ways() {
        for (text, expected) in [
            ("<=3", (1, 3)),
            ("<= 3", (1, 3)),
            ("≤3", (1, 3)),
            (">=7", (7, 10)),
            ("≥ 7", (7, 10)),
            ("4-6", (4, 6)),
            (" 4 - 6 ", (4, 6)),
            ("5", (5, 5)),
            ("1-10", (1, 10)),
            ("<=10", (1, 10)),
        ] {
            assert_eq!(range(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn complexity_ranges_outside_one_to_ten_or_empty_are_refused() {
        for (text, says) in [
            ("", "empty"),
            ("<=11", "11 is not a complexity"),
            (">=0", "0 is not a complexity"),
            ("0-3", "0 is not a complexity"),
            ("6-4", "holds no complexity: 6 is above 4"),
            ("three", "\"three\" is not a whole number"),
            ("<3", "\"<3\" is not a whole number"),
            ("-3", "\"\" is not a whole number"),
            ("2.5", "\"2.5\" is not a whole number"),
        ] {
            let err = range(text).expect_err(text);
            assert!(err.contains(says), "{text}: {err}");
        }
    }

    #[test]
    fn a_range_is_shown_as_written_and_for_people() {
        for (text, written, shown) in [
            ("<=3", "<=3", "≤ 3"),
            (">=7", ">=7", "≥ 7"),
            ("4-6", "4-6", "4-6"),
            ("5", "5", "5"),
            ("5-5", "5", "5"),
            ("1-10", "1-10", "1-10"),
        ] {
            let range: ComplexityRange = text.parse().unwrap();
            assert_eq!(range.written(), written, "{text}");
            assert_eq!(range.to_string(), shown, "{text}");
            assert_eq!(written.parse::<ComplexityRange>(), Ok(range), "{text}");
        }
    }

    #[test]
    fn a_type_condition_matches_the_types_named() {
        let bug = route("type = \"bug\"");
        assert!(bug.matches(&task(TaskType::Bug, None, &[])));
        assert!(!bug.matches(&task(TaskType::Story, None, &[])));
        let either = route("type = [\"bug\", \"task\"]");
        assert!(either.matches(&task(TaskType::Task, None, &[])));
        assert!(either.matches(&task(TaskType::Bug, None, &[])));
        assert!(!either.matches(&task(TaskType::Story, None, &[])));
    }

    #[test]
    fn a_complexity_condition_matches_within_its_range_only() {
        let small = route("complexity = \"<=3\"");
        assert!(small.matches(&task(TaskType::Task, Some(1), &[])));
        assert!(small.matches(&task(TaskType::Task, Some(3), &[])));
        assert!(!small.matches(&task(TaskType::Task, Some(4), &[])));
        let middle = route("complexity = \"4-6\"");
        assert!(!middle.matches(&task(TaskType::Task, Some(3), &[])));
        assert!(middle.matches(&task(TaskType::Task, Some(6), &[])));
        assert!(!middle.matches(&task(TaskType::Task, Some(7), &[])));
        let exactly = route("complexity = 5");
        assert!(exactly.matches(&task(TaskType::Task, Some(5), &[])));
        assert!(!exactly.matches(&task(TaskType::Task, Some(4), &[])));
    }

    #[test]
    fn a_task_without_complexity_never_matches_a_complexity_condition() {
        for written in ["<=10", ">=1", "1-10", "5"] {
            let r = route(&format!("complexity = \"{written}\""));
            assert!(!r.matches(&task(TaskType::Task, None, &[])), "{written}");
        }
    }

    #[test]
    fn a_paths_condition_matches_when_a_declared_path_overlaps() {
        let docs = route("paths = [\"docs/**\", \"README.md\"]");
        assert!(docs.matches(&task(TaskType::Task, None, &["docs/guide.md"])));
        assert!(docs.matches(&task(TaskType::Task, None, &["src/a.rs", "README.md"])));
        assert!(docs.matches(&task(TaskType::Task, None, &["docs/"])));
        assert!(!docs.matches(&task(TaskType::Task, None, &["src/**"])));
        // No declared path: nothing to overlap.
        assert!(!docs.matches(&task(TaskType::Task, None, &[])));
    }

    #[test]
    fn every_condition_must_hold() {
        let r = route("type = \"bug\"\ncomplexity = \"<=3\"\npaths = [\"src/**\"]");
        assert!(r.matches(&task(TaskType::Bug, Some(2), &["src/a.rs"])));
        assert!(!r.matches(&task(TaskType::Story, Some(2), &["src/a.rs"])));
        assert!(!r.matches(&task(TaskType::Bug, Some(5), &["src/a.rs"])));
        assert!(!r.matches(&task(TaskType::Bug, Some(2), &["docs/a.md"])));
        assert!(!r.matches(&task(TaskType::Bug, None, &["src/a.rs"])));
    }

    #[test]
    fn a_route_without_conditions_matches_every_task() {
        let all = route("");
        assert!(all.is_catch_all());
        assert!(all.matches(&task(TaskType::Epic, None, &[])));
        assert!(all.matches(&task(TaskType::Bug, Some(9), &["x"])));
        assert_eq!(all.describe(), "any task");
    }

    #[test]
    fn the_first_matching_route_wins() {
        let rules = routes(
            "[[route]]\ntype = \"bug\"\ncomplexity = \"<=3\"\nagent = \"small\"\n\
             [[route]]\ntype = \"bug\"\nagent = \"medium\"\n\
             [[route]]\nagent = \"big\"\n",
        );
        let pick = |t: &Task| choose(&rules, "shell", t).0.to_string();
        assert_eq!(pick(&task(TaskType::Bug, Some(2), &[])), "small");
        assert_eq!(pick(&task(TaskType::Bug, Some(8), &[])), "medium");
        assert_eq!(pick(&task(TaskType::Bug, None, &[])), "medium");
        assert_eq!(pick(&task(TaskType::Story, Some(2), &[])), "big");
        let t = task(TaskType::Bug, Some(2), &[]);
        assert_eq!(
            choose(&rules, "shell", &t).1,
            Choice::Route {
                index: 0,
                rule: "type bug, complexity ≤ 3".to_string()
            }
        );
        assert_eq!(
            choose(&rules, "shell", &t).1.to_string(),
            "route 1: type bug, complexity ≤ 3"
        );
    }

    #[test]
    fn the_tasks_own_agent_wins_over_every_route() {
        let rules = routes("[[route]]\nagent = \"big\"\n");
        let mut own = task(TaskType::Bug, Some(2), &[]);
        own.agent = Some("mine".to_string());
        assert_eq!(choose(&rules, "shell", &own), ("mine", Choice::Task));
        assert_eq!(Choice::Task.to_string(), "the task's own agent");
    }

    #[test]
    fn without_a_matching_route_the_default_agent_runs() {
        let rules = routes("[[route]]\ntype = \"bug\"\nagent = \"small\"\n");
        let story = task(TaskType::Story, Some(2), &[]);
        assert_eq!(choose(&rules, "shell", &story), ("shell", Choice::Default));
        assert_eq!(choose(&[], "claude", &story), ("claude", Choice::Default));
        assert_eq!(Choice::Default.to_string(), "default_agent");
    }

    #[test]
    fn routes_are_described_for_people() {
        for (text, described) in [
            ("type = \"bug\"", "type bug"),
            ("type = [\"bug\", \"task\"]", "type bug or task"),
            ("complexity = \">=7\"", "complexity ≥ 7"),
            (
                "paths = [\"docs/**\", \"README.md\"]",
                "paths docs/** or README.md",
            ),
            (
                "type = \"story\"\ncomplexity = \"4-6\"\npaths = [\"src/**\"]",
                "type story, complexity 4-6, paths src/**",
            ),
        ] {
            assert_eq!(route(text).describe(), described, "{text}");
        }
    }

    #[test]
    fn a_route_is_shadowed_by_an_earlier_one_that_matches_all_it_would() {
        for (earlier, later, shadowed) in [
            ("", "type = \"bug\"", true),
            ("", "", true),
            ("type = [\"bug\", \"task\"]", "type = \"bug\"", true),
            ("type = \"bug\"", "type = [\"bug\", \"task\"]", false),
            ("type = \"bug\"", "", false),
            ("complexity = \"<=5\"", "complexity = \"2-4\"", true),
            ("complexity = \"<=5\"", "complexity = \"4-6\"", false),
            ("complexity = \"<=5\"", "type = \"bug\"", false),
            ("paths = [\"a\", \"b\"]", "paths = [\"a\"]", true),
            ("paths = [\"a\"]", "paths = [\"a\", \"b\"]", false),
            ("paths = [\"a\"]", "type = \"bug\"", false),
            (
                "type = \"bug\"",
                "type = \"bug\"\ncomplexity = \"<=3\"\npaths = [\"x\"]",
                true,
            ),
        ] {
            assert_eq!(
                route(later).shadowed_by(&route(earlier)),
                shadowed,
                "{earlier:?} then {later:?}"
            );
        }
    }

    #[test]
    fn bad_values_are_refused_when_read() {
        for (text, says) in [
            (
                "type = \"bgu\"",
                "unknown task type \"bgu\"; did you mean \"bug\"?",
            ),
            ("type = [\"bug\", \"chore\"]", "unknown task type \"chore\""),
            ("complexity = \"<=11\"", "11 is not a complexity"),
            ("complexity = 0", "0 is not a complexity"),
            ("paths = [\"/abs\"]", "the path \"/abs\" starts with `/`"),
        ] {
            let err = toml::from_str::<Route>(&format!("{text}\nagent = \"x\"\n"))
                .expect_err(text)
                .to_string();
            assert!(err.contains(says), "{text}: {err}");
        }
    }
}
