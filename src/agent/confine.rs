//! Kernel confinement of agents with Landlock (Linux 5.19 and later): an agent, and everything it
//! starts, may write only beneath the paths its `Confinement` names; reads, execution and the
//! network are left alone. This is what holds promise 8 (an agent changes only its own worktree and
//! its own branch) against an agent that runs a wrong command, whatever the command is.
//!
//! The ruleset is built in the parent (opening each path, which allocates), and the child, between
//! fork and exec, makes two system calls and nothing else: vane is multi-threaded, so after a fork
//! only async-signal-safe calls are allowed. Where the kernel has no usable Landlock, nothing is
//! confined and `status` says why; vane's other checks (the `reference-transaction` hook, the merge
//! queue's compare-and-swap) still hold the line for base and the person's checkout.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// What one run may write, besides its inherited output files.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Confinement {
    /// Beneath each of these (a directory, or one file) the run may write; one that does not exist
    /// when the run starts is left out.
    pub writable: Vec<PathBuf>,
    /// Directories made (with their parents) when missing, then writable like `writable`.
    pub made: Vec<PathBuf>,
    /// The run's private temporary directory: made empty before the start, given as `TMPDIR`,
    /// writable, and removed after the end.
    pub temp_dir: Option<PathBuf>,
}

impl Confinement {
    /// Writes to `worktree` and to a private `temp_dir` only: what a gate, or an agent that does
    /// not commit, needs.
    pub fn to_worktree(worktree: &Path, temp_dir: &Path) -> Confinement {
        Confinement {
            writable: vec![worktree.to_path_buf()],
            made: Vec::new(),
            temp_dir: Some(temp_dir.to_path_buf()),
        }
    }

    /// Also what a commit on a `vane/` branch needs in the git directory: the worktree's own admin
    /// directory (`<common>/worktrees/<id>`: its index, HEAD and their logs), new objects, and the
    /// `vane/` branches with their logs. `main`'s ref, `packed-refs`, the configuration, the hooks,
    /// the other worktrees' admin directories and vane's own state stay read-only.
    pub fn with_commits(mut self, worktree_git_dir: &Path, common_dir: &Path) -> Confinement {
        // The main checkout's git directory is the common one: granting it would grant everything.
        if worktree_git_dir != common_dir {
            self.writable.push(worktree_git_dir.to_path_buf());
        }
        self.writable.push(common_dir.join("objects"));
        // Made when missing: git makes a branch's directory and log as it first writes them, and
        // could not here. Both are vane's namespace; an empty directory changes nothing in git.
        self.made.push(common_dir.join("refs/heads/vane"));
        self.made.push(common_dir.join("logs/refs/heads/vane"));
        self
    }

    /// Also the paths a profile declares (`Profile::writable`): `~/` stands for the home
    /// directory, and one that ends with `/` is a directory made when missing. A path that is
    /// neither absolute nor under `~/`, or `~/` without a home directory, is left out.
    pub fn with_declared(mut self, declared: &[String]) -> Confinement {
        for entry in declared {
            let Some(path) = expand_home(entry) else {
                tracing::debug!(
                    entry,
                    "a declared writable path that names no absolute path; left out"
                );
                continue;
            };
            if entry.ends_with('/') {
                self.made.push(path);
            } else {
                self.writable.push(path);
            }
        }
        self
    }

    /// Makes what must exist before the start, and builds the ruleset: None when the kernel
    /// cannot confine (see `status`). Runs in the parent.
    pub(crate) fn prepare(&self) -> io::Result<Option<Ruleset>> {
        for dir in &self.made {
            if let Err(e) = std::fs::create_dir_all(dir) {
                tracing::debug!(dir = %dir.display(), error = %e, "cannot make a writable directory; left out");
            }
        }
        if let Some(temp) = &self.temp_dir {
            remove_dir(temp);
            std::fs::create_dir_all(temp)?;
        }
        let abi = match status() {
            Ok(abi) => abi,
            Err(why) => {
                tracing::debug!(%why, "running unconfined");
                return Ok(None);
            }
        };
        let ruleset = Ruleset::new(abi)?;
        let paths = self
            .writable
            .iter()
            .chain(&self.made)
            .chain(self.temp_dir.as_ref());
        for path in paths {
            match ruleset.allow(path, abi.handled()) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    tracing::debug!(path = %path.display(), "a writable path that does not exist; left out");
                }
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("cannot allow writes to {}: {e}", path.display()),
                    ))
                }
            }
        }
        // Writing to the terminal and to /dev/null is no change to anything; making files in
        // /dev is (and needs privileges anyway). Shared memory is scratch space.
        ruleset.allow(Path::new("/dev"), WRITE_FILE | abi.truncate())?;
        if Path::new("/dev/shm").is_dir() {
            ruleset.allow(Path::new("/dev/shm"), abi.handled())?;
        }
        Ok(Some(ruleset))
    }

    /// Removes the private temporary directory once the run is over.
    pub(crate) fn clean_up(&self) {
        if let Some(temp) = &self.temp_dir {
            remove_dir(temp);
        }
    }
}

fn remove_dir(dir: &Path) {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot remove a run's temporary directory")
        }
    }
}

/// `~/x` under the home directory, an absolute path as it is; None otherwise.
fn expand_home(entry: &str) -> Option<PathBuf> {
    let entry = entry.trim_end_matches('/');
    if let Some(rest) = entry.strip_prefix("~/").or((entry == "~").then_some("")) {
        let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
        let home = PathBuf::from(home);
        return home.is_absolute().then(|| {
            if rest.is_empty() {
                home.clone()
            } else {
                home.join(rest)
            }
        });
    }
    let path = PathBuf::from(entry);
    path.is_absolute().then_some(path)
}

/// Whether a declared writable path can be used: absolute, or under `~/`; the reason otherwise.
pub fn check_declared(entry: &str) -> Result<(), String> {
    if entry.starts_with('/') || entry.starts_with("~/") || entry == "~" {
        Ok(())
    } else {
        Err("is neither absolute nor under `~/`".to_string())
    }
}

/// The Landlock ABI version the kernel offers (1 for Linux 5.13, 2 for 5.19, 3 for 6.2, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Abi(pub u32);

impl Abi {
    /// The accesses this ruleset handles, so denies beneath every path not allowed: all that
    /// writes, none that reads or executes.
    fn handled(self) -> u64 {
        let mut handled = WRITE_FILE
            | REMOVE_DIR
            | REMOVE_FILE
            | MAKE_CHAR
            | MAKE_DIR
            | MAKE_REG
            | MAKE_SOCK
            | MAKE_FIFO
            | MAKE_BLOCK
            | MAKE_SYM
            | REFER;
        handled |= self.truncate();
        handled
    }

    /// Truncation is an access of its own from ABI 3; before, it cannot be denied.
    fn truncate(self) -> u64 {
        if self.0 >= 3 {
            TRUNCATE
        } else {
            0
        }
    }

    /// What this version cannot confine, if anything.
    pub fn gap(self) -> Option<&'static str> {
        (self.0 < 3)
            .then_some("truncate(2) of a file is not confined before Landlock ABI 3 (Linux 6.2)")
    }
}

impl std::fmt::Display for Abi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Landlock ABI {}", self.0)
    }
}

/// Why agents run unconfined here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unavailable {
    #[error(
        "this kernel has no Landlock (Linux 5.19 or later, built with CONFIG_SECURITY_LANDLOCK)"
    )]
    NoLandlock,
    #[error("this kernel has Landlock but it is not enabled (add `landlock` to the `lsm=` boot parameter)")]
    Disabled,
    #[error(
        "this kernel has Landlock ABI 1, which refuses every rename between directories, and git \
         and agents need them (ABI 2, Linux 5.19)"
    )]
    TooOld,
    #[error("cannot ask the kernel about Landlock: {0}")]
    Other(String),
}

/// Whether agents can be confined here: the Landlock ABI, or why not. Asked of the kernel once.
pub fn status() -> Result<Abi, Unavailable> {
    static STATUS: OnceLock<Result<Abi, Unavailable>> = OnceLock::new();
    STATUS.get_or_init(probe).clone()
}

/// What `vane work` says once when confinement is on but this kernel cannot do it; None when it
/// can.
pub fn unconfined_notice() -> Option<String> {
    status().err().map(|why| {
        format!(
            "agents run unconfined: {why}; vane relies on its other checks (the \
             reference-transaction hook and the merge queue's compare-and-swap)"
        )
    })
}

fn probe() -> Result<Abi, Unavailable> {
    // SAFETY: with a null attribute, size 0 and the VERSION flag, landlock_create_ruleset only
    // returns the ABI version (or -1); no memory is read or written.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<RulesetAttr>(),
            0usize,
            CREATE_RULESET_VERSION,
        )
    };
    if rc < 0 {
        let err = io::Error::last_os_error();
        return Err(match err.raw_os_error() {
            Some(libc::ENOSYS) => Unavailable::NoLandlock,
            Some(libc::EOPNOTSUPP) => Unavailable::Disabled,
            _ => Unavailable::Other(err.to_string()),
        });
    }
    match u32::try_from(rc) {
        Ok(1) => Err(Unavailable::TooOld),
        Ok(version) => Ok(Abi(version)),
        Err(_) => Err(Unavailable::Other(format!("unexpected ABI version {rc}"))),
    }
}

/// A Landlock ruleset built in the parent, for the child to enforce on itself.
#[derive(Debug)]
pub(crate) struct Ruleset {
    fd: OwnedFd,
}

impl Ruleset {
    fn new(abi: Abi) -> io::Result<Ruleset> {
        let attr = RulesetAttr {
            handled_access_fs: abi.handled(),
            handled_access_net: 0,
            scoped: 0,
        };
        // Only as much of the attribute as this kernel knows: the network field came with ABI 4,
        // the scope field with ABI 6, and a larger size is refused by older kernels.
        let size = match abi.0 {
            ..=3 => std::mem::size_of::<u64>(),
            4 | 5 => 2 * std::mem::size_of::<u64>(),
            _ => std::mem::size_of::<RulesetAttr>(),
        };
        // SAFETY: `attr` is a valid ruleset attribute that outlives the call, and `size` is no
        // larger than it.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                &attr as *const RulesetAttr,
                size,
                0u32,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let fd =
            libc::c_int::try_from(fd).map_err(|_| io::Error::other("ruleset fd out of range"))?;
        // SAFETY: the kernel just returned this descriptor (close-on-exec), and nothing else owns it.
        Ok(Ruleset {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Allows `access` beneath `path` (a directory), or on it (a file: only the accesses a file
    /// has).
    fn allow(&self, path: &Path, access: u64) -> io::Result<()> {
        let file = File::options()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_CLOEXEC)
            .open(path)?;
        let access = if file.metadata()?.is_dir() {
            access
        } else {
            access & (WRITE_FILE | TRUNCATE)
        };
        let rule = PathBeneathAttr {
            allowed_access: access,
            parent_fd: file.as_raw_fd(),
        };
        // SAFETY: `rule` is a valid path-beneath attribute holding an open descriptor, and both
        // outlive the call.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_landlock_add_rule,
                self.fd.as_raw_fd(),
                RULE_PATH_BENEATH,
                &rule as *const PathBeneathAttr,
                0u32,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// The descriptor for `restrict_self`, valid while this ruleset lives.
    pub(crate) fn raw_fd(&self) -> libc::c_int {
        self.fd.as_raw_fd()
    }
}

/// Confines the calling process, and all it will start, to the ruleset `fd`. Meant for the child
/// between fork and exec: it makes two system calls and touches no memory but the stack.
pub(crate) fn restrict_self(fd: libc::c_int) -> io::Result<()> {
    // SAFETY: prctl with PR_SET_NO_NEW_PRIVS takes integers only. Without it an unprivileged
    // process may not restrict itself; with it, no setuid program it runs gains privileges.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: landlock_restrict_self takes a descriptor and flags; no memory is passed.
    if unsafe { libc::syscall(libc::SYS_landlock_restrict_self, fd, 0u32) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

// From <linux/landlock.h>.
const CREATE_RULESET_VERSION: u32 = 1;
const RULE_PATH_BENEATH: libc::c_int = 1;
const WRITE_FILE: u64 = 1 << 1;
const REMOVE_DIR: u64 = 1 << 4;
const REMOVE_FILE: u64 = 1 << 5;
const MAKE_CHAR: u64 = 1 << 6;
const MAKE_DIR: u64 = 1 << 7;
const MAKE_REG: u64 = 1 << 8;
const MAKE_SOCK: u64 = 1 << 9;
const MAKE_FIFO: u64 = 1 << 10;
const MAKE_BLOCK: u64 = 1 << 11;
const MAKE_SYM: u64 = 1 << 12;
/// Renames and links between directories (ABI 2); allowed only within what is writable.
const REFER: u64 = 1 << 13;
const TRUNCATE: u64 = 1 << 14;

#[repr(C)]
struct RulesetAttr {
    handled_access_fs: u64,
    handled_access_net: u64,
    scoped: u64,
}

#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::process::{run, Invocation};
    use std::time::Duration;

    /// Runs `script` with `sh -c` in `dir`, confined to `confinement`; its exit code and output.
    fn confined(dir: &Path, confinement: Confinement, script: &str) -> (i32, String) {
        let out = dir.join("out.txt");
        let outcome = run(&Invocation {
            argv: vec!["sh".into(), "-c".into(), script.into()],
            env: Vec::new(),
            cwd: dir.join("work"),
            stdout: out.clone(),
            stderr: out.clone(),
            timeout: Duration::from_secs(30),
            pid_file: None,
            confine: Some(confinement),
            log_limit: None,
        })
        .unwrap();
        (
            outcome.exit_code.unwrap_or(-1),
            std::fs::read_to_string(&out).unwrap(),
        )
    }

    fn scratch() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("work/sub")).unwrap();
        std::fs::create_dir_all(root.join("outside")).unwrap();
        std::fs::write(root.join("outside/file"), "kept\n").unwrap();
        (dir, root)
    }

    fn landlock() -> bool {
        match status() {
            Ok(_) => true,
            Err(why) => {
                eprintln!("note: Landlock is not available here ({why}); nothing to test");
                false
            }
        }
    }

    #[test]
    fn a_confined_shell_writes_inside_and_not_outside() {
        if !landlock() {
            return;
        }
        let (_dir, root) = scratch();
        let c = Confinement::to_worktree(&root.join("work"), &root.join("tmp"));
        let outside = root.join("outside");
        let script = format!(
            "set -u
             echo in > inside && echo wrote inside
             mkdir -p a/b && mv inside a/b/moved && mv a/b/moved sub/ && echo renamed inside
             ln -s sub link && rm link && rmdir a/b && echo linked and removed
             echo x >> '{o}/file' || echo refused append
             echo x > '{o}/new' || echo refused create
             mkdir '{o}/d' || echo refused mkdir
             mv '{o}/file' '{o}/moved' || echo refused rename
             rm '{o}/file' || echo refused remove
             truncate -s 0 '{o}/file' || echo refused truncate
             mv sub/moved '{o}/' || echo refused move out
             echo x > /dev/null && echo wrote /dev/null
             t=$(mktemp) && echo x > \"$t\" && echo mktemp in \"$TMPDIR\"",
            o = outside.display()
        );
        let (code, out) = confined(&root, c, &script);
        assert_eq!(code, 0, "{out}");
        for line in [
            "wrote inside",
            "renamed inside",
            "linked and removed",
            "refused append",
            "refused create",
            "refused mkdir",
            "refused rename",
            "refused remove",
            "refused truncate",
            "refused move out",
            "wrote /dev/null",
        ] {
            assert!(out.contains(line), "no `{line}` in:\n{out}");
        }
        assert!(
            out.contains(&format!("mktemp in {}", root.join("tmp").display())),
            "{out}"
        );
        assert_eq!(
            std::fs::read_to_string(outside.join("file")).unwrap(),
            "kept\n"
        );
        assert!(!outside.join("new").exists() && !outside.join("d").exists());
        assert!(root.join("work/sub/moved").is_file());
        assert!(
            !root.join("tmp").exists(),
            "the temporary directory is removed after the run"
        );
    }

    #[test]
    fn one_writable_file_is_writable_but_not_its_directory() {
        if !landlock() {
            return;
        }
        let (_dir, root) = scratch();
        let c = Confinement {
            writable: vec![root.join("work"), root.join("outside/file")],
            made: vec![root.join("made/here")],
            temp_dir: None,
        };
        let script = format!(
            "echo more >> '{o}/file' && echo appended
             echo x > '{o}/file.tmp' || echo refused a sibling
             echo x > '{m}/f' && echo wrote in a made directory",
            o = root.join("outside").display(),
            m = root.join("made/here").display()
        );
        let (_, out) = confined(&root, c, &script);
        assert!(out.contains("appended"), "{out}");
        assert!(out.contains("refused a sibling"), "{out}");
        assert!(out.contains("wrote in a made directory"), "{out}");
        assert_eq!(
            std::fs::read_to_string(root.join("outside/file")).unwrap(),
            "kept\nmore\n"
        );
    }

    #[test]
    fn commits_need_only_the_worktree_its_admin_directory_objects_and_vane_branches() {
        if !landlock() {
            return;
        }
        let (_dir, root) = scratch();
        let git = |dir: &Path, args: &[&str]| {
            let out = std::process::Command::new("git")
                .args(args)
                .current_dir(dir)
                .env("GIT_CONFIG_GLOBAL", "/dev/null")
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .output()
                .unwrap();
            assert!(out.status.success(), "git {args:?}: {out:?}");
            String::from_utf8(out.stdout).unwrap()
        };
        let repo = root.join("repo");
        std::fs::create_dir_all(&repo).unwrap();
        git(&repo, &["init", "-q", "-b", "main"]);
        git(
            &repo,
            &[
                "-c",
                "user.name=a",
                "-c",
                "user.email=a@b",
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                "init",
            ],
        );
        std::fs::remove_dir_all(root.join("work")).unwrap();
        git(
            &repo,
            &[
                "worktree",
                "add",
                "-q",
                "-b",
                "vane/t1",
                root.join("work").to_str().unwrap(),
            ],
        );
        let common = repo.join(".git");
        let admin = common.join("worktrees/work");
        let c = Confinement::to_worktree(&root.join("work"), &root.join("tmp"))
            .with_commits(&admin, &common);
        let script = "export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
             echo hi > f && git add f && git -c user.name=a -c user.email=a@b commit -q -m f && echo committed
             git update-ref refs/heads/main HEAD || echo refused main
             git config x.y z || echo refused config";
        let (_, out) = confined(&root, c, script);
        assert!(out.contains("committed"), "{out}");
        assert!(out.contains("refused main"), "{out}");
        assert!(out.contains("refused config"), "{out}");
        let main = git(&repo, &["rev-parse", "main"]);
        let branch = git(&repo, &["rev-parse", "vane/t1"]);
        assert_ne!(main, branch);
        assert_eq!(git(&repo, &["log", "-1", "--format=%s", "vane/t1"]), "f\n");
    }

    #[test]
    fn declared_paths_expand_the_home_directory() {
        let Some(home) = std::env::var_os("HOME").map(PathBuf::from) else {
            return;
        };
        let c = Confinement::default().with_declared(&[
            "~/.tool/".to_string(),
            "~/.tool.json".to_string(),
            "/abs/path".to_string(),
            "relative".to_string(),
        ]);
        assert_eq!(c.made, [home.join(".tool")]);
        assert_eq!(
            c.writable,
            [home.join(".tool.json"), PathBuf::from("/abs/path")]
        );
        assert!(check_declared("~/.x").is_ok());
        assert!(check_declared("/x").is_ok());
        assert!(check_declared("x").is_err());
        assert!(check_declared("~x").is_err());
    }
}
