//! The words of vane as types: task ids, statuses, kinds of task and of dependency, context entries,
//! attempt outcomes, checkpoint kinds, ref-move purposes and commit ids.
//!
//! Everything here is plain data with parsing and display; no I/O. Every other layer speaks these types,
//! so a status or an id is validated once, where it enters, and trusted afterwards.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a word from the user could not be read as one of vane's types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} `{value}`: {why}")]
pub struct ParseError {
    pub what: &'static str,
    pub value: String,
    pub why: String,
}

impl ParseError {
    fn one_of(what: &'static str, value: &str, choices: &[&str]) -> Self {
        ParseError {
            what,
            value: value.to_string(),
            why: format!("expected one of {}", choices.join(", ")),
        }
    }
}

/// A task's id: short, readable, and usable as a git branch name component (`vane/<id>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TaskId(String);

impl TaskId {
    /// The longest id accepted; ids end up in branch names, paths and prompts.
    pub const MAX_LEN: usize = 64;

    pub fn new(value: impl Into<String>) -> Result<Self, ParseError> {
        let value = value.into();
        let invalid = |why: &str| ParseError {
            what: "task id",
            value: value.clone(),
            why: why.to_string(),
        };
        if value.is_empty() {
            return Err(invalid("an id cannot be empty"));
        }
        if value.len() > Self::MAX_LEN {
            return Err(invalid("an id is at most 64 characters"));
        }
        if !value.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(invalid("an id starts with a letter or a digit"));
        }
        if !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(invalid(
                "an id holds only letters, digits, `-`, `_` and `.` (it becomes a branch name)",
            ));
        }
        if value.contains("..") || value.ends_with('.') || value.ends_with(".lock") {
            return Err(invalid(
                "git refuses branch names with `..`, or ending in `.` or `.lock`",
            ));
        }
        Ok(TaskId(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The branch a task's work lives on.
    pub fn branch(&self) -> String {
        format!("vane/{}", self.0)
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for TaskId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TaskId::new(s)
    }
}

impl TryFrom<String> for TaskId {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        TaskId::new(value)
    }
}

impl From<TaskId> for String {
    fn from(id: TaskId) -> Self {
        id.0
    }
}

impl AsRef<str> for TaskId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Declares a closed set of words stored as text in the database and typed on the command line.
macro_rules! word_enum {
    (
        $(#[$meta:meta])* $name:ident, $what:literal {
            $($(#[$variant_meta:meta])* $variant:ident => $text:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name { $($(#[$variant_meta])* #[serde(rename = $text)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(ParseError::one_of($what, s, &[$($text),+])),
                }
            }
        }
    };
}

word_enum!(
    /// Where a task stands; see the state machine in `lifecycle`.
    TaskStatus, "status" {
        Pending => "pending",
        InProgress => "in_progress",
        NeedsReview => "needs_review",
        NeedsImprovement => "needs_improvement",
        Done => "done",
        Blocked => "blocked",
    }
);

word_enum!(
    /// What a task is; an epic groups other tasks and is complete when all of them are.
    TaskType, "task type" {
        Epic => "epic",
        Story => "story",
        Task => "task",
        Bug => "bug",
    }
);

word_enum!(
    /// How one task relates to another; only `blocks` makes the scheduler wait.
    DepKind, "dependency kind" {
        Blocks => "blocks",
        Related => "related",
        Suggested => "suggested",
    }
);

word_enum!(
    /// What a context entry records (the seed's structured context).
    ContextKind, "context kind" {
        Decision => "decision",
        Constraint => "constraint",
        Hypothesis => "hypothesis",
        Learning => "learning",
    }
);

word_enum!(
    /// Who recorded a context entry that no person wrote (see `ContextOrigin`).
    ContextSource, "context source" {
        /// The agent of an attempt, through its `VANE_CONTEXT_FILE`.
        Agent => "agent",
        /// A critic gate, in its verdict's `learnings`.
        Critic => "critic",
    }
);

word_enum!(
    /// How an attempt at a task ended, as its `attempts.outcome` records it. An attempt that counts
    /// toward `max_attempts` is charged (see `is_charged`); one vane or its environment cut short
    /// never is (promise 9).
    AttemptOutcome, "attempt outcome" {
        /// The agent left a change on the task branch, which waits for the merge queue. Charged.
        Changed => "changed",
        /// The agent finished without changing anything, or its branch adds nothing over base
        /// (the merge queue found it so). Charged.
        Unchanged => "unchanged",
        /// The agent failed: it exited with an error, broke its worktree, left its branch, left
        /// conflict markers, or its worktree could not be set up. Charged.
        Failed => "failed",
        /// The agent did not finish within its profile's timeout and was stopped. Charged.
        TimedOut => "timed_out",
        /// The merge queue found the branch conflicting with base; the next attempt starts from
        /// the merge. Charged.
        Conflict => "conflict",
        /// The candidate failed its gates on the merge with base. Charged.
        GateFailed => "gate_failed",
        /// The candidate landed on base. Charged.
        Landed => "landed",
        /// A person sent the reviewed candidate back (`vane reject`). Charged.
        Rejected => "rejected",
        /// The run working on it died before it finished; recovery ended it. Not charged.
        Abandoned => "abandoned",
        /// vane was stopped (an interrupt) while the agent ran. Not charged.
        Interrupted => "interrupted",
        /// vane, or its environment (a full disk, read-only objects), could not run the attempt.
        /// Not charged.
        VaneError => "vane_error",
        /// A remote worker's job vanished, or sent no result within its executor's time limit:
        /// it was cancelled. Not charged.
        Lost => "lost",
    }
);

impl AttemptOutcome {
    /// Whether an attempt that ended so counts toward `max_attempts`: false when vane, its
    /// environment or an interrupt cut it short, which says nothing about the task.
    pub fn is_charged(self) -> bool {
        !matches!(
            self,
            AttemptOutcome::Abandoned
                | AttemptOutcome::Interrupted
                | AttemptOutcome::VaneError
                | AttemptOutcome::Lost
        )
    }
}

word_enum!(
    /// Why a checkpoint of the base branch and the task states was recorded.
    CheckpointKind, "checkpoint kind" {
        /// At the start of a batch, before anything of it lands.
        BatchStart => "batch_start",
        /// After a landing: base at the merge commit.
        Merge => "merge",
        /// Before a rollback, so that rolling back to it undoes the rollback.
        PreRollback => "pre_rollback",
        /// Asked for by a person; the schema has room for it, though no command records one yet.
        Manual => "manual",
    }
);

word_enum!(
    /// What a move of a ref, written down before git makes it (`ref_moves`), is for; recovery
    /// finishes each kind its own way.
    RefMovePurpose, "ref move purpose" {
        /// Base moves to a merge commit that passed its gates.
        Land => "land",
        /// Base moves back to a checkpoint's commit.
        Rollback => "rollback",
    }
);

/// A git commit id, as vane reports one: the full hexadecimal object name. Shown to a person as
/// `short()`, in JSON and in the database as the plain string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CommitId(String);

impl CommitId {
    /// How many hex digits `short()` keeps.
    pub const SHORT_LEN: usize = 12;

    /// Takes an id as git wrote it; not checked, since every id vane holds came from git or from
    /// its own database.
    pub fn new(hex: impl Into<String>) -> Self {
        CommitId(hex.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 hex digits, as vane shows a commit to a person.
    pub fn short(&self) -> &str {
        short_commit(&self.0)
    }
}

/// The first 12 hex digits of a commit id still held as a plain string (see `CommitId::short`);
/// all of it when shorter.
pub fn short_commit(sha: &str) -> &str {
    prefix_within(sha, CommitId::SHORT_LEN)
}

impl fmt::Display for CommitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for CommitId {
    fn from(hex: String) -> Self {
        CommitId(hex)
    }
}

impl From<CommitId> for String {
    fn from(id: CommitId) -> Self {
        id.0
    }
}

impl AsRef<str> for CommitId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A task's estimated complexity, 1 (trivial) to 10 (hardest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Complexity(u8);

impl Complexity {
    pub fn new(value: i64) -> Result<Self, ParseError> {
        if (1..=10).contains(&value) {
            Ok(Complexity(value as u8))
        } else {
            Err(ParseError {
                what: "complexity",
                value: value.to_string(),
                why: "expected a whole number from 1 to 10".to_string(),
            })
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for Complexity {
    type Error = ParseError;
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Complexity::new(i64::from(value))
    }
}

impl From<Complexity> for u8 {
    fn from(c: Complexity) -> Self {
        c.0
    }
}

impl FromStr for Complexity {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let value: i64 = s.trim().parse().map_err(|_| ParseError {
            what: "complexity",
            value: s.to_string(),
            why: "expected a whole number from 1 to 10".to_string(),
        })?;
        Complexity::new(value)
    }
}

impl fmt::Display for Complexity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A task as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Task {
    pub id: TaskId,
    pub title: String,
    pub description: String,
    #[serde(rename = "type")]
    pub kind: TaskType,
    pub status: TaskStatus,
    pub complexity: Option<Complexity>,
    pub parent: Option<TaskId>,
    /// The command the built-in `shell` agent runs for this task.
    pub run: Option<String>,
    /// The agent profile that works on this task; the configured default when absent.
    pub agent: Option<String>,
    /// The paths it expects to touch, as patterns (see `check_path_pattern`); the scheduler holds
    /// it back while a task whose paths overlap runs. Empty when none were declared.
    pub paths: Vec<String>,
    /// Length of the longest chain of tasks waiting on this one; the scheduler's first key.
    pub priority: u32,
    pub block_reason: Option<String>,
    pub branch: Option<String>,
    pub base_sha: Option<String>,
    pub head_sha: Option<String>,
    pub landed_sha: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    pub updated_at: i64,
}

#[cfg(test)]
impl Task {
    /// A pending task of type `task` with the id `id` as its title too, nothing else set: what a
    /// test starts from, changing the fields it is about.
    pub(crate) fn example(id: &str) -> Task {
        Task {
            id: TaskId::new(id).expect("a valid id in a test"),
            title: id.to_string(),
            description: String::new(),
            kind: TaskType::Task,
            status: TaskStatus::Pending,
            complexity: None,
            parent: None,
            run: None,
            agent: None,
            paths: Vec::new(),
            priority: 0,
            block_reason: None,
            branch: None,
            base_sha: None,
            head_sha: None,
            landed_sha: None,
            created_at: 0,
            updated_at: 0,
        }
    }
}

/// The longest title accepted, in bytes. A title is one line: it heads the commits of the task's
/// branch, reaches its agent in `VANE_TASK_TITLE` and in the prompt, and is shown on one terminal
/// line. 4 KiB is far more than a title needs and far less than an argument or an environment
/// variable may hold; the rest belongs in the description.
pub const MAX_TITLE_BYTES: usize = 4096;

/// Why a title, a description or a `run` command cannot be stored: text that would fail every
/// attempt (no program can be given a NUL byte, in its arguments or its environment) or that is not
/// what the field is for. Positions are byte offsets from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TextProblem {
    #[error("is empty")]
    Empty,
    #[error(
        "is {len} bytes long; a title is at most {MAX_TITLE_BYTES} bytes (put the rest in the \
         description)"
    )]
    TooLong { len: usize },
    #[error("has a NUL byte at byte {at}; no program can be given one")]
    Nul { at: usize },
    #[error(
        "has a line break at byte {at}; a title is one line (put the rest in the description)"
    )]
    LineBreak { at: usize },
    #[error("has the control character U+{code:04X} at byte {at}")]
    Control { at: usize, code: u32 },
}

/// Checks a task's title: not blank, at most `MAX_TITLE_BYTES`, one line, and no control character
/// but tab. Every way a title enters (`vane task add`, `vane import`) comes here.
pub fn check_title(title: &str) -> Result<(), TextProblem> {
    if title.trim().is_empty() {
        return Err(TextProblem::Empty);
    }
    if title.len() > MAX_TITLE_BYTES {
        return Err(TextProblem::TooLong { len: title.len() });
    }
    match title
        .char_indices()
        .find(|&(_, c)| c.is_control() && c != '\t')
    {
        None => Ok(()),
        Some((at, '\0')) => Err(TextProblem::Nul { at }),
        Some((at, '\n' | '\r')) => Err(TextProblem::LineBreak { at }),
        Some((at, c)) => Err(TextProblem::Control {
            at,
            code: u32::from(c),
        }),
    }
}

/// Checks a text of many lines (a description, a `run` command): anything but a NUL byte, which
/// could never reach the agent.
pub fn check_text(text: &str) -> Result<(), TextProblem> {
    match text.find('\0') {
        Some(at) => Err(TextProblem::Nul { at }),
        None => Ok(()),
    }
}

/// Why a path pattern (`--paths`, `paths:` in a roadmap) cannot be stored. Positions are byte
/// offsets from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathProblem {
    #[error("is empty")]
    Empty,
    #[error("starts with `/`; write it from the repository's root, like `src/auth/**`")]
    Absolute,
    #[error("has a `\\` at byte {at}; separate folders with `/`")]
    Backslash { at: usize },
    #[error("has `..`; a path stays inside the repository")]
    Parent,
    #[error("has an empty component (`//`)")]
    EmptyComponent,
    #[error("has a `.` component; write it from the repository's root, without `./`")]
    Dot,
    #[error("has the control character U+{code:04X} at byte {at}")]
    Control { at: usize, code: u32 },
}

/// Checks a pattern of paths a task expects to touch: a path relative to the repository's root,
/// `/`-separated, without `..` or `.` components; a trailing `/` names a folder, and `*`, `?` and
/// `**` are globs (`src/auth/**`, `docs/*.md`). Every way paths enter comes here.
pub fn check_path_pattern(pattern: &str) -> Result<(), PathProblem> {
    if pattern.is_empty() {
        return Err(PathProblem::Empty);
    }
    if let Some((at, c)) = pattern.char_indices().find(|&(_, c)| c.is_control()) {
        return Err(PathProblem::Control {
            at,
            code: u32::from(c),
        });
    }
    if let Some(at) = pattern.find('\\') {
        return Err(PathProblem::Backslash { at });
    }
    if pattern.starts_with('/') {
        return Err(PathProblem::Absolute);
    }
    let body = pattern.strip_suffix('/').unwrap_or(pattern);
    for component in body.split('/') {
        match component {
            "" => return Err(PathProblem::EmptyComponent),
            "." => return Err(PathProblem::Dot),
            ".." => return Err(PathProblem::Parent),
            _ => {}
        }
    }
    Ok(())
}

/// One edge of the graph: `task` depends on `depends_on`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Dependency {
    pub task: TaskId,
    pub depends_on: TaskId,
    pub kind: DepKind,
}

/// One row of the append-only event log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub id: i64,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    pub kind: String,
    pub task: Option<TaskId>,
    /// Who caused it: `vane` for the tool itself, a worker, or a person.
    pub actor: Option<String>,
    pub correlation: Option<String>,
    pub data: serde_json::Value,
}

/// A structured piece of context: a decision, constraint, hypothesis or learning.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContextEntry {
    pub id: i64,
    pub at: i64,
    pub kind: ContextKind,
    pub topic: String,
    pub content: String,
    pub confidence: Option<f64>,
    pub related_tasks: Vec<TaskId>,
    /// Where it came from when vane recorded it for an agent or a critic (its `metadata`); None
    /// for what a person recorded.
    pub origin: Option<ContextOrigin>,
}

/// Where a context entry that vane recorded came from: which attempt at which task, by which
/// agent profile, and for a critic which gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextOrigin {
    pub source: ContextSource,
    pub task: TaskId,
    pub attempt: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<String>,
}

/// `task T1, attempt 2`, or ``the critic `review` of task T1, attempt 2``.
impl fmt::Display for ContextOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.source == ContextSource::Critic {
            match &self.gate {
                Some(gate) => write!(f, "the critic `{gate}` of ")?,
                None => f.write_str("a critic of ")?,
            }
        }
        write!(f, "task {}, attempt {}", self.task, self.attempt)
    }
}

/// The longest start of `text` that is at most `max` bytes and ends on a character boundary.
pub fn prefix_within(text: &str, max: usize) -> &str {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The current time in milliseconds since the Unix epoch.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A time as `YYYY-MM-DD HH:MM:SSZ` (UTC), from milliseconds since the Unix epoch.
pub fn format_time(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A size in bytes as a person reads it: `512 B`, `4.0 KiB`, `1.5 GiB` (powers of 1024).
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_a_person_says_them() {
        for (bytes, text) in [
            (0, "0 B"),
            (1023, "1023 B"),
            (1024, "1.0 KiB"),
            (1536, "1.5 KiB"),
            (5 * 1024 * 1024, "5.0 MiB"),
            (3 << 30, "3.0 GiB"),
        ] {
            assert_eq!(format_bytes(bytes), text);
        }
    }

    #[test]
    fn task_ids_must_make_valid_branch_names() {
        for good in ["T1", "auth-login", "v2.api_fix", "9lives"] {
            assert!(TaskId::new(good).is_ok(), "{good} should be accepted");
        }
        for bad in [
            "", "-x", ".x", "a b", "a/b", "a..b", "a.", "a.lock", "ü", "a~1", "a:b",
        ] {
            assert!(TaskId::new(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(TaskId::new("x".repeat(65)).is_err());
    }

    #[test]
    fn words_round_trip_through_text() {
        for s in TaskStatus::ALL {
            assert_eq!(s.as_str().parse::<TaskStatus>(), Ok(*s));
        }
        for t in TaskType::ALL {
            assert_eq!(t.as_str().parse::<TaskType>(), Ok(*t));
        }
        for k in DepKind::ALL {
            assert_eq!(k.as_str().parse::<DepKind>(), Ok(*k));
        }
        for o in AttemptOutcome::ALL {
            assert_eq!(o.as_str().parse::<AttemptOutcome>(), Ok(*o));
        }
        for k in CheckpointKind::ALL {
            assert_eq!(k.as_str().parse::<CheckpointKind>(), Ok(*k));
        }
        for p in RefMovePurpose::ALL {
            assert_eq!(p.as_str().parse::<RefMovePurpose>(), Ok(*p));
        }
        let err = "finished".parse::<TaskStatus>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid status `finished`: expected one of pending, in_progress, needs_review, needs_improvement, done, blocked"
        );
    }

    #[test]
    fn words_serialize_as_the_text_the_database_holds() {
        fn json(value: impl Serialize) -> String {
            serde_json::to_string(&value).unwrap()
        }
        let mut words: Vec<(String, &str)> = Vec::new();
        words.extend(TaskStatus::ALL.iter().map(|w| (json(w), w.as_str())));
        words.extend(TaskType::ALL.iter().map(|w| (json(w), w.as_str())));
        words.extend(DepKind::ALL.iter().map(|w| (json(w), w.as_str())));
        words.extend(ContextKind::ALL.iter().map(|w| (json(w), w.as_str())));
        words.extend(ContextSource::ALL.iter().map(|w| (json(w), w.as_str())));
        words.extend(AttemptOutcome::ALL.iter().map(|w| (json(w), w.as_str())));
        words.extend(CheckpointKind::ALL.iter().map(|w| (json(w), w.as_str())));
        words.extend(RefMovePurpose::ALL.iter().map(|w| (json(w), w.as_str())));
        for (serialized, text) in words {
            assert_eq!(serialized, format!("\"{text}\""));
        }
        assert_eq!(
            serde_json::from_str::<AttemptOutcome>("\"gate_failed\"").unwrap(),
            AttemptOutcome::GateFailed
        );
        assert_eq!(
            "merged".parse::<CheckpointKind>().unwrap_err().to_string(),
            "invalid checkpoint kind `merged`: expected one of batch_start, merge, pre_rollback, manual"
        );
    }

    #[test]
    fn only_attempts_that_vane_an_interrupt_or_a_lost_worker_cut_short_go_uncharged() {
        let uncharged: Vec<AttemptOutcome> = AttemptOutcome::ALL
            .iter()
            .copied()
            .filter(|o| !o.is_charged())
            .collect();
        assert_eq!(
            uncharged,
            [
                AttemptOutcome::Abandoned,
                AttemptOutcome::Interrupted,
                AttemptOutcome::VaneError,
                AttemptOutcome::Lost
            ]
        );
    }

    #[test]
    fn a_commit_is_shown_by_its_first_12_hex_digits_and_serialized_whole() {
        let id = CommitId::new("0123456789abcdef0123456789abcdef01234567");
        assert_eq!(id.short(), "0123456789ab");
        assert_eq!(id.to_string(), id.as_str());
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"0123456789abcdef0123456789abcdef01234567\""
        );
        assert_eq!(CommitId::new("abc").short(), "abc");
        assert_eq!(short_commit("0123456789abcdef"), "0123456789ab");
        // Never cut inside a character, whatever a database holds.
        assert_eq!(short_commit("0123456789aé"), "0123456789a");
    }

    #[test]
    fn a_title_is_one_line_of_printable_text_of_at_most_4_kib() {
        let longest = "x".repeat(MAX_TITLE_BYTES);
        for good in [
            "Fix the login form",
            "tab\tinside",
            "héllo wörld — ✓ 日本語 🚀",
            longest.as_str(),
        ] {
            assert_eq!(check_title(good), Ok(()), "{good:?}");
        }
        let too_long = "x".repeat(MAX_TITLE_BYTES + 1);
        let huge = "y".repeat(200 * 1024);
        for (bad, problem) in [
            ("", TextProblem::Empty),
            (" \t ", TextProblem::Empty),
            (too_long.as_str(), TextProblem::TooLong { len: 4097 }),
            (huge.as_str(), TextProblem::TooLong { len: 204_800 }),
            ("hello\0", TextProblem::Nul { at: 5 }),
            ("\0", TextProblem::Nul { at: 0 }),
            ("one\ntwo", TextProblem::LineBreak { at: 3 }),
            ("one\r\ntwo", TextProblem::LineBreak { at: 3 }),
            ("é\r", TextProblem::LineBreak { at: 2 }),
            ("bell \u{7}", TextProblem::Control { at: 5, code: 7 }),
            ("esc \u{1b}[31m", TextProblem::Control { at: 4, code: 0x1b }),
            ("del \u{7f}", TextProblem::Control { at: 4, code: 0x7f }),
            ("c1 \u{85}", TextProblem::Control { at: 3, code: 0x85 }),
        ] {
            assert_eq!(check_title(bad), Err(problem), "{bad:?}");
        }
        assert_eq!(
            TextProblem::Nul { at: 5 }.to_string(),
            "has a NUL byte at byte 5; no program can be given one"
        );
        assert_eq!(
            TextProblem::Control { at: 4, code: 0x1b }.to_string(),
            "has the control character U+001B at byte 4"
        );
    }

    #[test]
    fn descriptions_and_commands_may_hold_anything_but_nul() {
        assert_eq!(check_text(""), Ok(()));
        assert_eq!(check_text("line one\r\nline two\n\t\u{1b}[1m"), Ok(()));
        assert_eq!(check_text("a\nb\0"), Err(TextProblem::Nul { at: 3 }));
    }

    #[test]
    fn path_patterns_are_relative_slash_separated_and_stay_inside_the_repository() {
        for good in [
            "src/auth/**",
            "docs/auth.md",
            "src/auth/",
            "src/auth",
            "**/*.rs",
            "src/?.rs",
            "a file with spaces.txt",
            ".github/workflows/",
            "..hidden/x",
            "héllo/wörld",
        ] {
            assert_eq!(check_path_pattern(good), Ok(()), "{good:?}");
        }
        for (bad, problem) in [
            ("", PathProblem::Empty),
            ("/etc/passwd", PathProblem::Absolute),
            ("/", PathProblem::Absolute),
            ("src\\auth", PathProblem::Backslash { at: 3 }),
            ("../outside", PathProblem::Parent),
            ("src/../../x", PathProblem::Parent),
            ("src/..", PathProblem::Parent),
            ("src//auth", PathProblem::EmptyComponent),
            ("src/auth//", PathProblem::EmptyComponent),
            ("./src", PathProblem::Dot),
            ("src/./auth", PathProblem::Dot),
            ("src/\nauth", PathProblem::Control { at: 4, code: 10 }),
            ("src\0", PathProblem::Control { at: 3, code: 0 }),
        ] {
            assert_eq!(check_path_pattern(bad), Err(problem), "{bad:?}");
        }
        assert_eq!(
            PathProblem::Backslash { at: 3 }.to_string(),
            "has a `\\` at byte 3; separate folders with `/`"
        );
    }

    #[test]
    fn complexity_is_one_to_ten() {
        assert!("0".parse::<Complexity>().is_err());
        assert!("11".parse::<Complexity>().is_err());
        assert!("x".parse::<Complexity>().is_err());
        assert_eq!("7".parse::<Complexity>().map(Complexity::get), Ok(7));
    }
}
