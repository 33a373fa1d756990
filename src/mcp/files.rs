//! The tools that read and write files, run commands and read git for a model, each within one
//! task's worktree or, read-only, the base tip. Every path goes through `resolve` before anything
//! opens it, every command runs confined as an agent's does, and nothing is kept between calls.
//!
//! A task's worktree is the worker's worktree (`w<N>` under the worktree root) that has its branch
//! checked out, which is so while its agent works on it; the rest of the time its branch is read
//! from git objects, and nothing is written.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

use super::args::{open, refused, unknown_task, Arguments, Failure, Outcome, Spec};
use crate::config::Config;
use crate::git::Git;
use crate::model::{Task, TaskId, TaskStatus};
use crate::workspace::Workspace;

/// The confined, stateless tools: files, commands, git and artifacts.
pub const TOOLS: &[Spec] = &[
    Spec {
        name: "file_read",
        description: "Read a file of a task's worktree (or, when it has none now, of its branch), \
                      or of the base tip without `task`. At most 1 MiB per call: `offset` and \
                      `limit` (bytes) page through a bigger one, and `next_offset` says where the \
                      rest starts.",
        schema: file_read_schema,
        call: file_read,
    },
    Spec {
        name: "file_write",
        description: "Write a file into the worktree of a task that is not done (it has one while \
                      its agent works on it), making the folders it needs. The file is replaced \
                      whole; vane commits it with the agent's work.",
        schema: file_write_schema,
        call: file_write,
    },
    Spec {
        name: "file_list",
        description: "List a folder of a task's worktree (or of its branch), or of the base tip \
                      without `task`; `recursive` lists everything beneath it. At most 2000 \
                      entries; `.git` is never listed.",
        schema: file_list_schema,
        call: file_list,
    },
    Spec {
        name: "exec_command",
        description: "Run a shell command (`sh -c`) in the worktree of a task that is not done, \
                      confined as its agent is: it may write only its worktree, its branch and a \
                      temporary folder. Answers with the exit code, whether the timeout fired, and \
                      the last 64 KiB of stdout and of stderr.",
        schema: exec_command_schema,
        call: exec_command,
    },
    Spec {
        name: "git_diff",
        description:
            "What a task changed: its branch against where it left base (once it landed, what \
             its landing brought), or with `uncommitted` what its worktree holds that is not \
             committed yet (and the untracked files).",
        schema: git_diff_schema,
        call: git_diff,
    },
    Spec {
        name: "git_log",
        description: "The commits of a task's branch that base does not have (once it landed, \
                      its landing's), or base's own without `task`, newest first.",
        schema: git_log_schema,
        call: git_log,
    },
    Spec {
        name: "git_show",
        description: "One commit (with its diff), tree or blob, by its id, by a task's branch \
                      (`vane/<task>`) or by the base branch.",
        schema: git_show_schema,
        call: git_show,
    },
    Spec {
        name: "artifact_put",
        description: "Keep a named text with a task (notes, a plan, a report), beside its runs, \
                      outside its worktree and its branch; it replaces one of that name.",
        schema: artifact_put_schema,
        call: artifact_put,
    },
    Spec {
        name: "artifact_get",
        description: "Read a task's artifact by name, or list its artifacts without `name`.",
        schema: artifact_get_schema,
        call: artifact_get,
    },
];

/// The most of a file one `file_read` (or `artifact_get`) answers with.
const READ_LIMIT: u64 = 1 << 20;
/// The most entries one `file_list` answers with.
const LIST_LIMIT: usize = 2000;
/// The most of a diff or a `git_show` one call answers with.
const OUTPUT_LIMIT: usize = 1 << 20;
/// How much of the end of each output stream `exec_command` answers with.
const TAIL_BYTES: u64 = 64 << 10;
/// The most of each stream of a command `exec_command` keeps in its run directory, whatever
/// `log_limit` says: the first and the last half.
const EXEC_LOG_LIMIT: u64 = 1 << 20;
const DEFAULT_TIMEOUT_SECONDS: i64 = 60;
const MAX_TIMEOUT_SECONDS: i64 = 600;
const DEFAULT_LOG_COMMITS: i64 = 20;
const MAX_LOG_COMMITS: i64 = 500;

const GIT_REFUSAL: &str = "`.git` is vane's and git's: not readable or writable here";

fn task_property(what: &str) -> Value {
    json!({"type": "string", "description": what})
}

fn file_read_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "task": task_property("The task whose worktree (or branch) is read; without it, the base tip."),
            "path": {"type": "string", "description": "The file, relative to the top of the worktree."},
            "offset": {"type": "integer", "minimum": 0, "description": "The first byte read (default 0)."},
            "limit": {"type": "integer", "minimum": 1, "maximum": READ_LIMIT,
                      "description": "How many bytes at most (default and most: 1 MiB)."},
        },
        "required": ["path"],
        "additionalProperties": false,
    })
}

fn file_write_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "task": task_property("The task whose worktree is written."),
            "path": {"type": "string", "description": "The file, relative to the top of the worktree."},
            "content": {"type": "string", "description": "The whole new content of the file."},
        },
        "required": ["task", "path", "content"],
        "additionalProperties": false,
    })
}

fn file_list_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "task": task_property("The task whose worktree (or branch) is listed; without it, the base tip."),
            "path": {"type": "string", "description": "The folder, relative to the top (default: the top)."},
            "recursive": {"type": "boolean", "description": "Everything beneath the folder, not only what is in it."},
        },
        "additionalProperties": false,
    })
}

fn exec_command_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "task": task_property("The task in whose worktree the command runs."),
            "command": {"type": "string", "description": "A shell command, run with `sh -c` at the top of the worktree."},
            "timeout_seconds": {"type": "integer", "minimum": 1, "maximum": MAX_TIMEOUT_SECONDS,
                                "description": "When its process group is stopped (default 60)."},
        },
        "required": ["task", "command"],
        "additionalProperties": false,
    })
}

fn git_diff_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "task": task_property("The task whose change is shown."),
            "uncommitted": {"type": "boolean",
                            "description": "What its worktree holds that is not committed, rather than its branch against base."},
        },
        "required": ["task"],
        "additionalProperties": false,
    })
}

fn git_log_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "task": task_property("The task whose branch is shown; without it, base."),
            "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LOG_COMMITS,
                      "description": "How many commits at most (default 20)."},
        },
        "additionalProperties": false,
    })
}

fn git_show_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "rev": {"type": "string",
                    "description": "A commit, tree or blob id (4 hex digits or more), `vane/<task>`, or the base branch."},
        },
        "required": ["rev"],
        "additionalProperties": false,
    })
}

fn artifact_put_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "task": task_property("The task the artifact belongs to."),
            "name": {"type": "string", "description": "One file name: no `/`, not `..`."},
            "content": {"type": "string"},
        },
        "required": ["task", "name", "content"],
        "additionalProperties": false,
    })
}

fn artifact_get_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "task": task_property("The task the artifact belongs to."),
            "name": {"type": "string", "description": "Its name; without it, the names are listed."},
        },
        "required": ["task"],
        "additionalProperties": false,
    })
}

/// What a call needs of the repository, opened for that call alone.
struct Repo {
    workspace: Workspace,
    config: Config,
    git: Git,
}

/// Where a call reads: a worktree on disk, or a commit's tree in git.
enum Place {
    Worktree(PathBuf),
    Commit {
        /// What the commit is, for the model: `main`, `vane/T3`.
        name: String,
        sha: String,
    },
}

impl Place {
    fn describe(&self) -> Value {
        match self {
            Place::Worktree(path) => json!({"worktree": path}),
            Place::Commit { name, sha } => json!({"commit": sha, "ref": name}),
        }
    }
}

/// A task's commits, `from..to`, and what to call them.
struct Span {
    from: String,
    to: String,
    shown: String,
}

impl Repo {
    fn open(dir: &Path) -> Result<Repo, Failure> {
        let workspace = open(dir)?;
        let config = Config::load(&workspace.location.workdir).map_err(refused)?;
        let git = Git::open(&workspace.location.workdir).map_err(refused)?;
        Ok(Repo {
            workspace,
            config,
            git,
        })
    }

    fn task(&self, id: &TaskId) -> Result<Task, Failure> {
        self.workspace.store.task(id).map_err(unknown_task)
    }

    fn state_dir(&self) -> PathBuf {
        crate::workspace::state_dir(&self.workspace.location)
    }

    /// The base branch and its tip.
    fn base(&self) -> Result<(String, String), Failure> {
        let base =
            crate::orchestrator::base_branch(&self.workspace, &self.config).map_err(refused)?;
        let sha = self
            .git
            .branch_tip(&base)
            .map_err(refused)?
            .ok_or_else(|| Failure::Tool(format!("the base branch `{base}` does not exist")))?;
        Ok((base, sha))
    }

    /// The worker's worktree that has `task`'s branch checked out now, if one does.
    fn worktree(&self, task: &Task) -> Result<Option<PathBuf>, Failure> {
        let root = crate::git::cli::comparable_path(&crate::workspace::worktree_root(
            &self.workspace,
            &self.config,
        ));
        let branch = task.id.branch();
        for info in self.git.list_worktrees().map_err(refused)? {
            if info.branch.as_deref() != Some(branch.as_str()) || !info.path.is_dir() {
                continue;
            }
            let path = crate::git::cli::comparable_path(&info.path);
            // vane's own, never a checkout of the person's that has the branch.
            let ours = path.parent() == Some(root.as_path())
                && path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(crate::workspace::is_vane_worktree_name);
            if ours && self.git.worktree_git_dir(&path).is_ok() {
                return Ok(Some(path));
            }
        }
        Ok(None)
    }

    /// The commit a task's work is at: its branch, else the last head vane recorded.
    fn task_commit(&self, task: &Task) -> Result<(String, String), Failure> {
        let branch = task.id.branch();
        if let Some(sha) = self.git.branch_tip(&branch).map_err(refused)? {
            return Ok((branch, sha));
        }
        match &task.head_sha {
            Some(sha) => Ok((format!("task `{}`'s last head", task.id), sha.clone())),
            None => Err(Failure::Tool(format!(
                "task `{}` has no branch yet: it has not run; without `task`, the base tip is read",
                task.id
            ))),
        }
    }

    /// What a task's work is in git: from where its branch left base to its tip, or, once it
    /// landed, what its landing brought to base.
    fn span(&self, task: &Task) -> Result<Span, Failure> {
        let (base, base_sha) = self.base()?;
        if let (TaskStatus::Done, Some(landed)) = (task.status, &task.landed_sha) {
            if let Some(from) = self
                .git
                .rev_parse(&format!("{landed}^1"))
                .map_err(refused)?
            {
                return Ok(Span {
                    from,
                    to: landed.clone(),
                    shown: format!("the landing of `{}` on `{base}`", task.id),
                });
            }
        }
        let (name, tip) = self.task_commit(task)?;
        // From where the branch left base: what the task did, not what base did since.
        let from = self
            .git
            .output(None, &["merge-base", base_sha.as_str(), tip.as_str()])
            .map_err(refused)?;
        let from = if from.success() {
            from.text()
        } else {
            base_sha
        };
        Ok(Span {
            from,
            to: tip,
            shown: format!("{base}..{name}"),
        })
    }

    /// Where reads of `task` go, or of the base tip without one.
    fn place(&self, task: Option<&TaskId>) -> Result<Place, Failure> {
        let Some(id) = task else {
            let (name, sha) = self.base()?;
            return Ok(Place::Commit { name, sha });
        };
        let task = self.task(id)?;
        if let Some(worktree) = self.worktree(&task)? {
            return Ok(Place::Worktree(worktree));
        }
        let (name, sha) = self.task_commit(&task)?;
        Ok(Place::Commit { name, sha })
    }

    /// The worktree of a task that may be written to now.
    fn writable(&self, id: &TaskId) -> Result<PathBuf, Failure> {
        let task = self.task(id)?;
        if task.status == TaskStatus::Done {
            return Err(Failure::Tool(format!(
                "task `{id}` is done: its work landed, and nothing more is written to it; \
                 `task_add` adds a task for what is left"
            )));
        }
        match self.worktree(&task)? {
            Some(worktree) => Ok(worktree),
            None => Err(Failure::Tool(format!(
                "task `{id}` has no worktree now; its branch is read from git (a task has a \
                 worktree while its agent works on it)"
            ))),
        }
    }
}

/// The parts of `requested`, a path relative to the top of `within`: refused when it is absolute,
/// climbs with `..`, or names `.git` anywhere (any case: a case-insensitive file system would
/// take `.GIT` for it).
fn relative_parts<'a>(requested: &'a str, within: &str) -> Result<Vec<&'a str>, Failure> {
    if requested.contains('\0') {
        return Err(Failure::Tool("a path cannot hold a NUL byte".into()));
    }
    if requested.starts_with('/') {
        return Err(Failure::Tool(format!(
            "`{requested}` is absolute: paths are relative to the {within}"
        )));
    }
    let mut parts = Vec::new();
    for part in requested.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(Failure::Tool(format!(
                    "`{requested}` leaves the {within}: paths are relative to it, without `..`"
                )))
            }
            part if part.eq_ignore_ascii_case(".git") => {
                return Err(Failure::Tool(GIT_REFUSAL.into()))
            }
            part => parts.push(part),
        }
    }
    Ok(parts)
}

fn is_git_dir(part: &std::ffi::OsStr) -> bool {
    part.eq_ignore_ascii_case(".git")
}

/// Where `requested`, a path relative to the worktree at `root`, is: every part of it that exists
/// resolved (symbolic links followed) and checked to stay under `root` and out of `.git`, the
/// rest (which does not exist) joined as given. An absolute path, `..` or `.git` is refused
/// before anything is looked at; a link that points outside is refused by the name it has.
pub(crate) fn resolve(root: &Path, requested: &str) -> Result<PathBuf, Failure> {
    let parts = relative_parts(requested, "worktree")?;
    let root = root.canonicalize().map_err(|e| {
        Failure::Tool(format!(
            "the worktree {} cannot be read: {e}",
            root.display()
        ))
    })?;
    let mut resolved = root.clone();
    for (i, part) in parts.iter().enumerate() {
        let next = resolved.join(part);
        let shown = || parts[..=i].join("/");
        let meta = match std::fs::symlink_metadata(&next) {
            Ok(meta) => meta,
            // Nothing from here on exists, so no link is on the way.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(parts[i..].iter().fold(resolved, |path, p| path.join(p)));
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => {
                return Err(Failure::Tool(format!(
                    "`{}` is a file, not a folder",
                    parts[..i].join("/")
                )))
            }
            Err(e) => return Err(Failure::Tool(format!("`{}`: {e}", shown()))),
        };
        if !meta.file_type().is_symlink() {
            resolved = next;
            continue;
        }
        let target = next.canonicalize().map_err(|_| {
            Failure::Tool(format!(
                "`{}` is a symbolic link to nothing that exists",
                shown()
            ))
        })?;
        match target.strip_prefix(&root) {
            Ok(inside) if inside.components().any(|c| is_git_dir(c.as_os_str())) => {
                return Err(Failure::Tool(GIT_REFUSAL.into()))
            }
            Ok(_) => resolved = target,
            Err(_) => {
                return Err(Failure::Tool(format!(
                    "`{}` is a symbolic link that points outside the worktree",
                    shown()
                )))
            }
        }
    }
    Ok(resolved)
}

/// Where a write of `requested` under `root` goes: its folder resolved inside and made when
/// missing. The file itself is opened without following a link (`write_file`).
fn resolve_for_write(root: &Path, requested: &str) -> Result<PathBuf, Failure> {
    // The refusals first, each by the name it was given.
    resolve(root, requested)?;
    let parts = relative_parts(requested, "worktree")?;
    let Some((name, folder)) = parts.split_last() else {
        return Err(Failure::Tool(
            "give the path of a file, not the top of the worktree".into(),
        ));
    };
    let folder = resolve(root, &folder.join("/"))?;
    make_folders(root, &folder)?;
    Ok(folder.join(name))
}

/// Makes the folders of `folder` (resolved by `resolve`, so under `root`) that are missing, one by
/// one, each checked to be a folder and no link once it is there.
fn make_folders(root: &Path, folder: &Path) -> Result<(), Failure> {
    let root = root
        .canonicalize()
        .map_err(|e| Failure::Tool(format!("{}: {e}", root.display())))?;
    let rest = folder.strip_prefix(&root).map_err(|_| {
        Failure::Tool(format!(
            "{} is outside {}",
            folder.display(),
            root.display()
        ))
    })?;
    let mut path = root.clone();
    for part in rest.components() {
        path.push(part);
        let shown = || {
            path.strip_prefix(&root)
                .unwrap_or(&path)
                .display()
                .to_string()
        };
        match std::fs::create_dir(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Failure::Tool(format!("cannot make `{}`: {e}", shown()))),
        }
        let meta = std::fs::symlink_metadata(&path)
            .map_err(|e| Failure::Tool(format!("`{}`: {e}", shown())))?;
        if !meta.is_dir() {
            return Err(Failure::Tool(format!("`{}` is not a folder", shown())));
        }
    }
    Ok(())
}

/// Opens a file to read as `agent::read_left_file` does: never through a symbolic link, never a
/// FIFO or a device (which could hang the call); with its size.
fn open_to_read(path: &Path, shown: &str) -> Result<(File, u64), Failure> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ENOENT) => Failure::Tool(format!(
                "`{shown}` does not exist; `file_list` shows what is there"
            )),
            Some(libc::ELOOP) => Failure::Tool(format!(
                "`{shown}` is a symbolic link, which is not followed here"
            )),
            _ => Failure::Tool(format!("cannot read `{shown}`: {e}")),
        })?;
    let meta = file
        .metadata()
        .map_err(|e| Failure::Tool(format!("cannot read `{shown}`: {e}")))?;
    if meta.is_dir() {
        return Err(Failure::Tool(format!(
            "`{shown}` is a folder; `file_list` lists it"
        )));
    }
    if !meta.is_file() {
        return Err(Failure::Tool(format!("`{shown}` is not a regular file")));
    }
    Ok((file, meta.len()))
}

/// At most `limit` bytes of `file` from `offset`.
fn read_at(mut file: File, offset: u64, limit: u64, shown: &str) -> Result<Vec<u8>, Failure> {
    let failed = |e: std::io::Error| Failure::Tool(format!("cannot read `{shown}`: {e}"));
    file.seek(SeekFrom::Start(offset)).map_err(failed)?;
    let mut bytes = Vec::new();
    file.take(limit).read_to_end(&mut bytes).map_err(failed)?;
    Ok(bytes)
}

/// Writes `content` as the whole of the file at `path`, never through a symbolic link (the file's
/// own name: its folder is resolved already), never into a FIFO, a device, or a file with other
/// hard links (which could be anywhere on the same file system).
fn write_file(path: &Path, content: &[u8], shown: &str) -> Result<(), Failure> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => Failure::Tool(format!(
                "`{shown}` is a symbolic link: no file is written through one here"
            )),
            Some(libc::EISDIR) => Failure::Tool(format!("`{shown}` is a folder")),
            _ => Failure::Tool(format!("cannot write `{shown}`: {e}")),
        })?;
    let failed = |e: std::io::Error| Failure::Tool(format!("cannot write `{shown}`: {e}"));
    let meta = file.metadata().map_err(failed)?;
    if !meta.is_file() {
        return Err(Failure::Tool(format!("`{shown}` is not a regular file")));
    }
    if meta.nlink() > 1 {
        return Err(Failure::Tool(format!(
            "`{shown}` has other hard links, which could be outside the worktree: it is not \
             written here"
        )));
    }
    // Cut only now, once it is known to be a plain file of its own.
    file.set_len(0).map_err(failed)?;
    file.write_all(content).map_err(failed)?;
    Ok(())
}

/// Bytes as text for a model: an incomplete character at the end (a cut) left out, anything else
/// that is not UTF-8 replaced.
fn text_of(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(e) if e.error_len().is_none() => {
            String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned()
        }
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// At most `OUTPUT_LIMIT` bytes of `text`, cut at a character, and whether it was cut.
fn capped(text: String) -> (String, bool) {
    if text.len() <= OUTPUT_LIMIT {
        return (text, false);
    }
    let mut end = OUTPUT_LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (text[..end].to_string(), true)
}

fn required<T>(value: Option<T>, name: &str) -> Result<T, Failure> {
    value.ok_or_else(|| Failure::Arguments(format!("`{name}` is required")))
}

/// A whole number argument within `min..=max`; the schema says so, so anything else is a
/// protocol error.
fn number_within(
    args: &Arguments<'_>,
    name: &str,
    default: i64,
    min: i64,
    max: i64,
) -> Result<i64, Failure> {
    let value = args.number(name)?.unwrap_or(default);
    if !(min..=max).contains(&value) {
        return Err(Failure::Arguments(format!(
            "`{name}` must be from {min} to {max}, not {value}"
        )));
    }
    Ok(value)
}

/// One entry of `git ls-tree --long`.
struct TreeEntry {
    mode: String,
    kind: String,
    oid: String,
    size: Option<u64>,
    path: String,
}

/// The entries of the tree `treeish` names (`<commit>:<folder>`), or None when it names no tree.
fn ls_tree(git: &Git, treeish: &str, recursive: bool) -> Result<Option<Vec<TreeEntry>>, Failure> {
    let mut args = vec!["ls-tree", "-z", "--long", "--full-tree"];
    if recursive {
        args.push("-r");
    }
    args.push(treeish);
    let out = git.output(None, &args).map_err(refused)?;
    if !out.success() {
        if out.stderr.contains("Not a valid object name") || out.stderr.contains("not a tree") {
            return Ok(None);
        }
        return Err(refused(out.error()));
    }
    let entries = out
        .stdout
        .split(|&b| b == 0)
        .filter(|record| !record.is_empty())
        .filter_map(|record| {
            let record = String::from_utf8_lossy(record);
            let (meta, path) = record.split_once('\t')?;
            let mut fields = meta.split_whitespace();
            Some(TreeEntry {
                mode: fields.next()?.to_string(),
                kind: fields.next()?.to_string(),
                oid: fields.next()?.to_string(),
                size: fields.next().and_then(|s| s.parse().ok()),
                path: path.to_string(),
            })
        })
        .collect();
    Ok(Some(entries))
}

impl TreeEntry {
    /// What a model calls it: file, dir, link or submodule.
    fn kind_word(&self) -> &'static str {
        match (self.kind.as_str(), self.mode.as_str()) {
            ("tree", _) => "dir",
            ("commit", _) => "submodule",
            (_, "120000") => "link",
            _ => "file",
        }
    }
}

fn blob(git: &Git, oid: &str) -> Result<Vec<u8>, Failure> {
    Ok(git
        .run(None, &["cat-file", "blob", oid])
        .map_err(refused)?
        .stdout)
}

fn file_read(dir: &Path, arguments: &Value) -> Outcome {
    let args = Arguments::of(arguments, file_read_schema)?;
    let path = required(args.text("path")?, "path")?;
    let offset = args.number("offset")?.unwrap_or(0);
    let offset = u64::try_from(offset)
        .map_err(|_| Failure::Arguments(format!("`offset` must be 0 or more, not {offset}")))?;
    let limit = number_within(&args, "limit", READ_LIMIT as i64, 1, i64::MAX)?;
    let limit = (limit as u64).min(READ_LIMIT);
    let task = args.id("task")?;
    let repo = Repo::open(dir)?;
    let place = repo.place(task.as_ref())?;
    let (size, bytes) = match &place {
        Place::Worktree(root) => {
            let resolved = resolve(root, path)?;
            let (file, size) = open_to_read(&resolved, path)?;
            (size, read_at(file, offset, limit, path)?)
        }
        Place::Commit { name, sha } => {
            let parts = relative_parts(path, "repository")?;
            let Some((file_name, folder)) = parts.split_last() else {
                return Err(Failure::Tool(
                    "give the path of a file; `file_list` lists the folders".into(),
                ));
            };
            let missing = || Failure::Tool(format!("`{path}` does not exist in `{name}`"));
            let entries = ls_tree(&repo.git, &format!("{sha}:{}", folder.join("/")), false)?
                .ok_or_else(missing)?;
            let entry = entries
                .iter()
                .find(|e| e.path == *file_name)
                .ok_or_else(missing)?;
            match entry.kind_word() {
                "file" => {}
                "link" => {
                    let target = text_of(&blob(&repo.git, &entry.oid)?);
                    return Err(Failure::Tool(format!(
                        "`{path}` is a symbolic link in `{name}` (to `{target}`), which is not \
                         followed here"
                    )));
                }
                "dir" => {
                    return Err(Failure::Tool(format!(
                        "`{path}` is a folder; `file_list` lists it"
                    )))
                }
                _ => {
                    return Err(Failure::Tool(format!(
                        "`{path}` is a submodule, whose files are not in this repository"
                    )))
                }
            }
            let content = blob(&repo.git, &entry.oid)?;
            let size = content.len() as u64;
            let start = offset.min(size) as usize;
            let end = offset.saturating_add(limit).min(size) as usize;
            (size, content[start..end].to_vec())
        }
    };
    let end = offset.saturating_add(bytes.len() as u64);
    let mut answer = json!({
        "path": path,
        "read_from": place.describe(),
        "size": size,
        "offset": offset,
        "bytes": bytes.len(),
        "content": text_of(&bytes),
    });
    if std::str::from_utf8(&bytes).is_err() {
        answer["not_utf8"] = json!(true);
    }
    if end < size {
        answer["next_offset"] = json!(end);
    }
    Ok(answer)
}

fn file_write(dir: &Path, arguments: &Value) -> Outcome {
    let args = Arguments::of(arguments, file_write_schema)?;
    let id = required(args.id("task")?, "task")?;
    let path = required(args.text("path")?, "path")?;
    let content = required(args.text("content")?, "content")?;
    let repo = Repo::open(dir)?;
    let worktree = repo.writable(&id)?;
    let target = resolve_for_write(&worktree, path)?;
    write_file(&target, content.as_bytes(), path)?;
    Ok(json!({"task": id, "path": path, "bytes": content.len(), "worktree": worktree}))
}

fn file_list(dir: &Path, arguments: &Value) -> Outcome {
    let args = Arguments::of(arguments, file_list_schema)?;
    let path = args.text("path")?.unwrap_or_default();
    let recursive = args.flag("recursive")?;
    let task = args.id("task")?;
    let repo = Repo::open(dir)?;
    let place = repo.place(task.as_ref())?;
    let mut entries = Vec::new();
    let truncated = match &place {
        Place::Worktree(root) => {
            let folder = resolve(root, path)?;
            match std::fs::symlink_metadata(&folder) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => {
                    return Err(Failure::Tool(format!(
                        "`{path}` is a file; `file_read` reads it"
                    )))
                }
                Err(_) => return Err(Failure::Tool(format!("`{path}` does not exist"))),
            }
            let prefix = relative_parts(path, "worktree")?.join("/");
            list_folder(&folder, &prefix, recursive, &mut entries)?
        }
        Place::Commit { name, sha } => {
            let prefix = relative_parts(path, "repository")?.join("/");
            let found = ls_tree(&repo.git, &format!("{sha}:{prefix}"), recursive)?
                .ok_or_else(|| Failure::Tool(format!("`{path}` is not a folder in `{name}`")))?;
            let truncated = found.len() > LIST_LIMIT;
            for entry in found.into_iter().take(LIST_LIMIT) {
                let mut item = json!({
                    "path": joined(&prefix, &entry.path),
                    "type": entry.kind_word(),
                });
                if entry.kind_word() == "file" {
                    item["size"] = json!(entry.size);
                }
                entries.push(item);
            }
            truncated
        }
    };
    let mut answer = json!({"read_from": place.describe(), "entries": entries});
    if truncated {
        answer["truncated"] = json!(true);
        answer["note"] = json!(format!(
            "only the first {LIST_LIMIT} entries; list a folder further down for the rest"
        ));
    }
    Ok(answer)
}

fn joined(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}/{name}")
    }
}

/// The entries of `folder` (named `prefix` from the top), sorted, and of its folders when
/// `recursive`, depth first; links are listed, never followed, and `.git` is left out. Returns
/// whether `LIST_LIMIT` cut the list short.
fn list_folder(
    folder: &Path,
    prefix: &str,
    recursive: bool,
    entries: &mut Vec<Value>,
) -> Result<bool, Failure> {
    let read = std::fs::read_dir(folder)
        .map_err(|e| Failure::Tool(format!("cannot list `{prefix}`: {e}")))?;
    let mut found: Vec<std::fs::DirEntry> = read.filter_map(Result::ok).collect();
    found.sort_by_key(|e| e.file_name());
    for entry in found {
        if is_git_dir(&entry.file_name()) {
            continue;
        }
        if entries.len() == LIST_LIMIT {
            return Ok(true);
        }
        let name = joined(prefix, &entry.file_name().to_string_lossy());
        // `DirEntry::file_type` does not follow a link.
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let mut item = json!({"path": name});
        if kind.is_symlink() {
            item["type"] = json!("link");
        } else if kind.is_dir() {
            item["type"] = json!("dir");
        } else if kind.is_file() {
            item["type"] = json!("file");
            item["size"] = json!(entry.metadata().map(|m| m.len()).unwrap_or(0));
        } else {
            item["type"] = json!("other");
        }
        entries.push(item);
        if recursive && kind.is_dir() && list_folder(&entry.path(), &name, true, entries)? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn exec_command(dir: &Path, arguments: &Value) -> Outcome {
    let args = Arguments::of(arguments, exec_command_schema)?;
    let id = required(args.id("task")?, "task")?;
    let command = required(args.text("command")?, "command")?;
    let timeout = number_within(
        &args,
        "timeout_seconds",
        DEFAULT_TIMEOUT_SECONDS,
        1,
        MAX_TIMEOUT_SECONDS,
    )?;
    let repo = Repo::open(dir)?;
    let worktree = repo.writable(&id)?;
    let admin = repo.git.worktree_git_dir(&worktree).map_err(refused)?;
    let run_dir = new_run_dir(&repo.state_dir().join("runs").join("mcp"))?;
    // As its agent is: its worktree, what a commit on its branch needs, a temporary folder.
    let confine = repo.config.confine.then(|| {
        crate::agent::Confinement::to_worktree(&worktree, &run_dir.join("tmp"))
            .with_commits(&admin, repo.git.common_dir())
    });
    let confined = confine.is_some() && crate::agent::confine::status().is_ok();
    let (stdout, stderr) = (run_dir.join("stdout"), run_dir.join("stderr"));
    let outcome = crate::agent::run(&crate::agent::Invocation {
        argv: vec!["sh".into(), "-c".into(), command.to_string()],
        env: vec![
            // The reference-transaction hook then refuses any ref but the task's own branch, and
            // the work loop stops what the command leaves running once the agent is done.
            ("VANE_TASK_ID".into(), id.to_string()),
            (
                crate::agent::strays::WORKTREE_MARK.into(),
                worktree.display().to_string(),
            ),
        ],
        cwd: worktree.clone(),
        stdout: stdout.clone(),
        stderr: stderr.clone(),
        timeout: Duration::from_secs(timeout as u64),
        pid_file: None,
        confine,
        log_limit: Some(
            repo.config
                .log_limit()
                .unwrap_or(EXEC_LOG_LIMIT)
                .min(EXEC_LOG_LIMIT),
        ),
    })
    .map_err(|e| Failure::Tool(e.to_string()))?;
    let (stdout, stdout_cut) = tail(&stdout)?;
    let (stderr, stderr_cut) = tail(&stderr)?;
    let mut answer = json!({
        "task": id,
        "exit_code": outcome.exit_code,
        "timed_out": outcome.timed_out,
        "seconds": outcome.duration.as_secs_f64(),
        "stdout": stdout,
        "stderr": stderr,
        "confined": confined,
        "run_dir": run_dir,
    });
    if let Some(signal) = outcome.signal {
        answer["signal"] = json!(signal);
    }
    if stdout_cut || stderr_cut {
        answer["note"] = json!(format!(
            "only the last {} KiB of a stream are here; the rest is in the run directory",
            TAIL_BYTES >> 10
        ));
    }
    Ok(answer)
}

/// A new numbered directory under `parent` (`1`, `2`, ...), made by this call alone.
fn new_run_dir(parent: &Path) -> Result<PathBuf, Failure> {
    let failed = |path: &Path, e: std::io::Error| {
        Failure::Tool(format!("cannot make {}: {e}", path.display()))
    };
    std::fs::create_dir_all(parent).map_err(|e| failed(parent, e))?;
    let mut n = std::fs::read_dir(parent)
        .map_err(|e| failed(parent, e))?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok())
        .max()
        .unwrap_or(0)
        + 1;
    loop {
        let dir = parent.join(n.to_string());
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            // Another call took it a moment ago.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
            Err(e) => return Err(failed(&dir, e)),
        }
    }
}

/// The last `TAIL_BYTES` of an output file as text, and whether its start was cut.
fn tail(path: &Path) -> Result<(String, bool), Failure> {
    let shown = path.display().to_string();
    let (file, size) = match open_to_read(path, &shown) {
        Ok(opened) => opened,
        // A command that never started leaves none.
        Err(_) if !path.exists() => return Ok((String::new(), false)),
        Err(e) => return Err(e),
    };
    let start = size.saturating_sub(TAIL_BYTES);
    let bytes = read_at(file, start, TAIL_BYTES, &shown)?;
    // A character cut at the start is replaced; one cut at the end cannot be.
    Ok((String::from_utf8_lossy(&bytes).into_owned(), start > 0))
}

fn git_diff(dir: &Path, arguments: &Value) -> Outcome {
    let args = Arguments::of(arguments, git_diff_schema)?;
    let id = required(args.id("task")?, "task")?;
    let uncommitted = args.flag("uncommitted")?;
    let repo = Repo::open(dir)?;
    let task = repo.task(&id)?;
    if uncommitted {
        let Some(worktree) = repo.worktree(&task)? else {
            return Err(Failure::Tool(format!(
                "task `{id}` has no worktree now, so nothing of it is uncommitted (vane commits \
                 what its agent leaves); `git_diff` without `uncommitted` shows its branch"
            )));
        };
        let (diff, truncated) = capped(
            repo.git
                .diff_working_tree(&worktree, "HEAD")
                .map_err(refused)?,
        );
        let untracked = repo
            .git
            .run(
                Some(&worktree),
                &["ls-files", "-z", "--others", "--exclude-standard"],
            )
            .map_err(refused)?
            .stdout
            .split(|&b| b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect::<Vec<_>>();
        return Ok(json!({
            "task": id,
            "worktree": worktree,
            "diff": diff,
            "truncated": truncated,
            "untracked": untracked,
        }));
    }
    let span = repo.span(&task)?;
    let files = repo
        .git
        .changed_paths(&span.from, &span.to)
        .map_err(refused)?;
    let (diff, truncated) = capped(repo.git.diff(&span.from, &span.to).map_err(refused)?);
    Ok(json!({
        "task": id,
        "range": span.shown,
        "from": span.from,
        "to": span.to,
        "files": files,
        "diff": diff,
        "truncated": truncated,
    }))
}

fn git_log(dir: &Path, arguments: &Value) -> Outcome {
    let args = Arguments::of(arguments, git_log_schema)?;
    let limit = number_within(&args, "limit", DEFAULT_LOG_COMMITS, 1, MAX_LOG_COMMITS)?;
    let task = args.id("task")?;
    let repo = Repo::open(dir)?;
    let (range, shown) = match &task {
        None => {
            let (base, base_sha) = repo.base()?;
            (base_sha, base)
        }
        Some(id) => {
            let span = repo.span(&repo.task(id)?)?;
            (format!("{}..{}", span.from, span.to), span.shown)
        }
    };
    let max = format!("--max-count={limit}");
    let out = repo
        .git
        .run(
            None,
            &[
                "log",
                "-z",
                "--no-show-signature",
                "--format=%H%x1f%an%x1f%aI%x1f%s",
                max.as_str(),
                "--end-of-options",
                range.as_str(),
                "--",
            ],
        )
        .map_err(refused)?;
    let commits: Vec<Value> = out
        .stdout
        .split(|&b| b == 0)
        .filter(|record| !record.is_empty())
        .map(|record| {
            let record = String::from_utf8_lossy(record);
            let mut fields = record.trim_start_matches('\n').splitn(4, '\u{1f}');
            json!({
                "sha": fields.next().unwrap_or_default(),
                "author": fields.next().unwrap_or_default(),
                "date": fields.next().unwrap_or_default(),
                "subject": fields.next().unwrap_or_default(),
            })
        })
        .collect();
    Ok(json!({"range": shown, "commits": commits}))
}

/// The object `rev` names, when it is one `git_show` shows: an object id (or 4 hex digits or
/// more of one), a task's branch, or the base branch. Nothing else is resolved, so that no name
/// reaches git that could mean more (`@{-1}`, `HEAD:path`, an option).
fn shown_object(repo: &Repo, rev: &str) -> Result<String, Failure> {
    let (base, _) = repo.base()?;
    let refuse = || {
        Failure::Tool(format!(
            "`{rev}` is not an object id, a task's branch (`vane/<task>`) or the base branch \
             `{base}`: `git_show` shows nothing else"
        ))
    };
    if rev.len() >= 4 && rev.len() <= 64 && rev.bytes().all(|b| b.is_ascii_hexdigit()) {
        // Objects alone, never a ref that happens to be spelt in hex.
        let disambiguate = format!("--disambiguate={rev}");
        let out = repo
            .git
            .output(None, &["rev-parse", disambiguate.as_str()])
            .map_err(refused)?;
        let found: Vec<String> = out.text().lines().map(str::to_string).collect();
        return match found.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(Failure::Tool(format!(
                "no object `{rev}` in the repository"
            ))),
            _ => Err(Failure::Tool(format!(
                "`{rev}` is the start of {} objects' ids: give more of its digits",
                found.len()
            ))),
        };
    }
    let name = rev.strip_prefix("refs/heads/").unwrap_or(rev);
    let allowed = name == base
        || name
            .strip_prefix("vane/")
            .is_some_and(|task| TaskId::new(task).is_ok());
    if !allowed {
        return Err(refuse());
    }
    repo.git
        .rev_parse(&format!("refs/heads/{name}"))
        .map_err(refused)?
        .ok_or_else(|| Failure::Tool(format!("there is no branch `{name}`")))
}

fn git_show(dir: &Path, arguments: &Value) -> Outcome {
    let args = Arguments::of(arguments, git_show_schema)?;
    let rev = required(args.text("rev")?, "rev")?;
    let repo = Repo::open(dir)?;
    let oid = shown_object(&repo, rev)?;
    let kind = repo
        .git
        .run(None, &["cat-file", "-t", oid.as_str()])
        .map_err(refused)?
        .text();
    let text = match kind.as_str() {
        "commit" => text_of(
            &repo
                .git
                .run(
                    None,
                    &[
                        "show",
                        "--no-color",
                        "--no-ext-diff",
                        "--no-textconv",
                        "--no-show-signature",
                        "--format=fuller",
                        "--stat",
                        "--patch",
                        oid.as_str(),
                        "--",
                    ],
                )
                .map_err(refused)?
                .stdout,
        ),
        "tree" => text_of(
            &repo
                .git
                .run(None, &["ls-tree", "--long", oid.as_str()])
                .map_err(refused)?
                .stdout,
        ),
        "blob" => text_of(&blob(&repo.git, &oid)?),
        other => {
            return Err(Failure::Tool(format!(
                "`{rev}` is a {other} object: `git_show` shows commits, trees and blobs"
            )))
        }
    };
    let (text, truncated) = capped(text);
    Ok(json!({"rev": rev, "id": oid, "type": kind, "text": text, "truncated": truncated}))
}

/// An artifact's name: one file name, never a path.
fn artifact_name(name: &str) -> Result<&str, Failure> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        return Err(Failure::Tool(format!(
            "`{name}` is not an artifact name: one file name, without `/`, and not `.` or `..`"
        )));
    }
    if name.len() > 255 {
        return Err(Failure::Tool(
            "an artifact's name is at most 255 bytes".into(),
        ));
    }
    Ok(name)
}

/// Where a task's artifacts live (`runs/<task>/artifacts`), under the runs directory `runs`.
fn artifacts_folder(runs: &Path, id: &TaskId) -> Result<PathBuf, Failure> {
    resolve(runs, &format!("{id}/artifacts"))
}

fn artifact_put(dir: &Path, arguments: &Value) -> Outcome {
    let args = Arguments::of(arguments, artifact_put_schema)?;
    let id = required(args.id("task")?, "task")?;
    let name = artifact_name(required(args.text("name")?, "name")?)?;
    let content = required(args.text("content")?, "content")?;
    let repo = Repo::open(dir)?;
    repo.task(&id)?;
    let runs = repo.state_dir().join("runs");
    std::fs::create_dir_all(&runs)
        .map_err(|e| Failure::Tool(format!("cannot make {}: {e}", runs.display())))?;
    let folder = artifacts_folder(&runs, &id)?;
    make_folders(&runs, &folder)?;
    write_file(&folder.join(name), content.as_bytes(), name)?;
    Ok(json!({"task": id, "name": name, "bytes": content.len()}))
}

fn artifact_get(dir: &Path, arguments: &Value) -> Outcome {
    let args = Arguments::of(arguments, artifact_get_schema)?;
    let id = required(args.id("task")?, "task")?;
    let name = args.text("name")?.map(artifact_name).transpose()?;
    let repo = Repo::open(dir)?;
    repo.task(&id)?;
    let runs = repo.state_dir().join("runs");
    let folder = if runs.is_dir() {
        Some(artifacts_folder(&runs, &id)?)
    } else {
        None
    };
    let Some(name) = name else {
        let mut names: Vec<String> = folder
            .and_then(|f| std::fs::read_dir(f).ok())
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        return Ok(json!({"task": id, "artifacts": names}));
    };
    let missing = || {
        Failure::Tool(format!(
            "task `{id}` has no artifact `{name}`; `artifact_get` without `name` lists them"
        ))
    };
    let folder = folder.ok_or_else(missing)?;
    let (file, size) = match open_to_read(&folder.join(name), name) {
        Ok(opened) => opened,
        Err(_) if !folder.join(name).exists() => return Err(missing()),
        Err(e) => return Err(e),
    };
    let bytes = read_at(file, 0, READ_LIMIT, name)?;
    let mut answer = json!({"task": id, "name": name, "size": size, "content": text_of(&bytes)});
    if size > READ_LIMIT {
        answer["truncated"] = json!(true);
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    /// A worktree-like folder with a file, a folder, and a sibling outside it.
    fn tree() -> (tempfile::TempDir, PathBuf) {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().canonicalize().unwrap().join("wt");
        std::fs::create_dir_all(root.join("src/deep")).unwrap();
        std::fs::write(root.join("a.txt"), "a").unwrap();
        std::fs::write(root.join("src/lib.rs"), "lib").unwrap();
        std::fs::write(root.join(".git"), "gitdir: elsewhere\n").unwrap();
        std::fs::write(temp.path().join("outside.txt"), "secret").unwrap();
        (temp, root)
    }

    fn refusal(root: &Path, requested: &str) -> String {
        match resolve(root, requested) {
            Err(Failure::Tool(message)) => message,
            other => panic!("`{requested}` should be refused, got {other:?}"),
        }
    }

    #[test]
    fn a_plain_path_resolves_inside_the_worktree() {
        let (_temp, root) = tree();
        for (requested, expected) in [
            ("a.txt", "a.txt"),
            ("./a.txt", "a.txt"),
            ("src//lib.rs", "src/lib.rs"),
            ("src/deep/", "src/deep"),
            ("", ""),
            (".", ""),
        ] {
            assert_eq!(
                resolve(&root, requested).unwrap(),
                root.join(expected),
                "{requested}"
            );
        }
    }

    #[test]
    fn a_path_that_does_not_exist_yet_resolves_as_given() {
        let (_temp, root) = tree();
        assert_eq!(
            resolve(&root, "new/dir/file.txt").unwrap(),
            root.join("new/dir/file.txt")
        );
        assert_eq!(
            resolve(&root, "src/new.rs").unwrap(),
            root.join("src/new.rs")
        );
    }

    #[test]
    fn an_absolute_path_is_refused() {
        let (_temp, root) = tree();
        let message = refusal(&root, "/etc/passwd");
        assert_eq!(
            message,
            "`/etc/passwd` is absolute: paths are relative to the worktree"
        );
        // Even one that names the worktree itself.
        refusal(&root, &root.join("a.txt").display().to_string());
    }

    #[test]
    fn any_dot_dot_is_refused_even_one_that_comes_back() {
        let (_temp, root) = tree();
        assert_eq!(
            refusal(&root, "../x"),
            "`../x` leaves the worktree: paths are relative to it, without `..`"
        );
        for requested in ["src/../a.txt", "src/..", "..", "a/b/../../../outside.txt"] {
            assert!(
                refusal(&root, requested).contains("without `..`"),
                "{requested}"
            );
        }
    }

    #[test]
    fn git_is_refused_anywhere_and_in_any_case() {
        let (_temp, root) = tree();
        for requested in [
            ".git",
            ".git/config",
            "src/.git/HEAD",
            ".GIT/config",
            "./.git",
        ] {
            assert_eq!(refusal(&root, requested), GIT_REFUSAL, "{requested}");
        }
        // A name that only starts like it is a file like any other.
        assert!(resolve(&root, ".gitignore").is_ok());
        assert!(resolve(&root, ".github/workflows").is_ok());
    }

    #[test]
    fn a_link_that_points_outside_is_refused_by_its_name() {
        let (temp, root) = tree();
        symlink("/etc", root.join("etc")).unwrap();
        symlink(temp.path().join("outside.txt"), root.join("src/leak")).unwrap();
        symlink("..", root.join("up")).unwrap();
        assert_eq!(
            refusal(&root, "etc/passwd"),
            "`etc` is a symbolic link that points outside the worktree"
        );
        assert_eq!(
            refusal(&root, "etc"),
            "`etc` is a symbolic link that points outside the worktree"
        );
        assert_eq!(
            refusal(&root, "src/leak"),
            "`src/leak` is a symbolic link that points outside the worktree"
        );
        assert_eq!(
            refusal(&root, "up/outside.txt"),
            "`up` is a symbolic link that points outside the worktree"
        );
        // Through a new file's folder too.
        assert!(refusal(&root, "etc/new.txt").contains("outside the worktree"));
    }

    #[test]
    fn a_link_that_points_inside_is_followed() {
        let (_temp, root) = tree();
        symlink("src", root.join("code")).unwrap();
        symlink("../../a.txt", root.join("src/deep/a")).unwrap();
        symlink(root.join("src/lib.rs"), root.join("absolute-lib")).unwrap();
        symlink(".", root.join("here")).unwrap();
        assert_eq!(
            resolve(&root, "code/lib.rs").unwrap(),
            root.join("src/lib.rs")
        );
        assert_eq!(resolve(&root, "src/deep/a").unwrap(), root.join("a.txt"));
        assert_eq!(
            resolve(&root, "absolute-lib").unwrap(),
            root.join("src/lib.rs")
        );
        assert_eq!(resolve(&root, "here/a.txt").unwrap(), root.join("a.txt"));
        assert_eq!(
            resolve(&root, "code/new.rs").unwrap(),
            root.join("src/new.rs")
        );
    }

    #[test]
    fn a_link_into_git_is_refused() {
        let (_temp, root) = tree();
        symlink(".git", root.join("dotgit")).unwrap();
        assert_eq!(refusal(&root, "dotgit"), GIT_REFUSAL);
    }

    #[test]
    fn a_link_to_nothing_and_a_file_taken_for_a_folder_are_refused() {
        let (_temp, root) = tree();
        symlink("/nonexistent/vane-test", root.join("dangling")).unwrap();
        assert_eq!(
            refusal(&root, "dangling"),
            "`dangling` is a symbolic link to nothing that exists"
        );
        assert_eq!(refusal(&root, "a.txt/x"), "`a.txt` is a file, not a folder");
    }

    #[test]
    fn the_worktree_root_may_be_named_through_a_link() {
        let (temp, root) = tree();
        let alias = temp.path().join("alias");
        symlink(&root, &alias).unwrap();
        assert_eq!(resolve(&alias, "a.txt").unwrap(), root.join("a.txt"));
        symlink(temp.path().join("outside.txt"), root.join("leak")).unwrap();
        assert!(refusal(&alias, "leak").contains("outside the worktree"));
    }

    #[test]
    fn a_write_makes_its_folders_and_never_goes_through_a_link() {
        let (temp, root) = tree();
        let target = resolve_for_write(&root, "new/dir/f.txt").unwrap();
        write_file(&target, b"hi", "new/dir/f.txt").unwrap();
        assert_eq!(
            std::fs::read_to_string(root.join("new/dir/f.txt")).unwrap(),
            "hi"
        );

        // A link as the file itself: refused, even one that points inside.
        symlink("a.txt", root.join("alias.txt")).unwrap();
        let target = resolve_for_write(&root, "alias.txt").unwrap();
        let Err(Failure::Tool(message)) = write_file(&target, b"x", "alias.txt") else {
            panic!("a write through a link")
        };
        assert!(message.contains("is a symbolic link"), "{message}");
        assert_eq!(std::fs::read_to_string(root.join("a.txt")).unwrap(), "a");

        // A link outside: refused before anything is opened.
        symlink(temp.path().join("outside.txt"), root.join("leak")).unwrap();
        assert!(resolve_for_write(&root, "leak").is_err());
        assert_eq!(
            std::fs::read_to_string(temp.path().join("outside.txt")).unwrap(),
            "secret"
        );

        // A hard link to a file elsewhere is not written either.
        std::fs::hard_link(temp.path().join("outside.txt"), root.join("hard")).unwrap();
        let target = resolve_for_write(&root, "hard").unwrap();
        assert!(write_file(&target, b"x", "hard").is_err());
        assert_eq!(
            std::fs::read_to_string(temp.path().join("outside.txt")).unwrap(),
            "secret"
        );

        assert!(resolve_for_write(&root, "").is_err());
        assert!(resolve_for_write(&root, "src/deep").is_ok());
    }

    #[test]
    fn a_read_opens_no_link_and_no_fifo() {
        let (_temp, root) = tree();
        symlink("a.txt", root.join("alias.txt")).unwrap();
        assert!(open_to_read(&root.join("alias.txt"), "alias.txt").is_err());
        let fifo = root.join("fifo");
        let name = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        let Err(Failure::Tool(message)) = open_to_read(&fifo, "fifo") else {
            panic!("a FIFO was opened")
        };
        assert_eq!(message, "`fifo` is not a regular file");
        let (file, size) = open_to_read(&root.join("src/lib.rs"), "src/lib.rs").unwrap();
        assert_eq!(size, 3);
        assert_eq!(read_at(file, 1, 10, "src/lib.rs").unwrap(), b"ib");
    }

    #[test]
    fn artifact_names_are_one_file_name() {
        for bad in ["", ".", "..", "a/b", "/etc", "../x", "a\0b"] {
            assert!(artifact_name(bad).is_err(), "{bad:?}");
        }
        for good in ["notes.md", "plan", ".hidden", "a..b"] {
            assert_eq!(artifact_name(good).unwrap(), good);
        }
    }

    #[test]
    fn text_is_cut_at_a_character() {
        assert_eq!(text_of("é".as_bytes()), "é");
        assert_eq!(text_of(&"é".as_bytes()[..1]), "");
        assert_eq!(text_of(b"a\xffb"), "a\u{fffd}b");
    }
}
