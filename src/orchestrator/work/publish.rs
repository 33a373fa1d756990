//! Landing to a remote (`land_to` of vane.toml, `vane work --land-to`): what lands on base here
//! goes to the remote once the merge queue is drained, in one push under a lease on the tip vane
//! last saw there, so that a push someone else made is never overwritten; with `pr_command`, each
//! landed task's branch is pushed instead, and a pull request opened for it.

use std::process::{Command, Stdio};

use serde_json::json;

use super::remote::expand_template;
use super::{Batch, Progress};
use crate::git::Git;
use crate::model::{short_commit, CommitId, TaskId};
use crate::orchestrator::{OrchestratorError, Result};
use crate::store::{NewEvent, WORK_LOOP};
use crate::ui::shell_word;

/// Where a batch's landings go, and how far they went.
pub(super) struct Publisher {
    /// The remote as given: a remote of this repository by name, a URL or a path. git is handed
    /// this, so that a named remote's push URL applies and its tracking refs follow.
    remote: String,
    /// Where it is: the named remote's URL, or `remote` itself.
    url: String,
    /// With `pr_command`: the command that opens a pull request for a task's pushed branch; base
    /// itself is not pushed.
    pr_command: Option<String>,
    /// The remote's tip of base as vane last saw it (at the batch's start, or its own last push):
    /// the only tip a push of base may replace. None: the remote has no such branch.
    lease: Option<String>,
    /// How many of the batch's landings went out already.
    published: usize,
    /// Base here holds commits the remote lacks from before the batch (landings an earlier batch
    /// could not push): the first push carries them, even before anything lands.
    ahead: bool,
    /// Why pushing is off for this batch, once it is.
    stopped: Option<String>,
}

impl Publisher {
    /// Looks at `remote`'s `base` for a batch that starts with base here at `tip`. Pushing base is
    /// on when base here holds the remote's tip (or the remote has no such branch), and off, with
    /// the reason, when the remote has commits that are not here: base here is never moved to
    /// them behind the person's back. An unreachable remote is an error, before anything starts.
    pub(super) fn open(
        git: &Git,
        remote: &str,
        pr_command: Option<&str>,
        base: &str,
        tip: &str,
    ) -> Result<Publisher> {
        let url = git.remote_location(remote)?;
        let refname = format!("refs/heads/{base}");
        let found = git
            .ls_remote(remote, &[&refname])
            .map_err(|e| {
                OrchestratorError::Remote(format!(
                    "cannot read `{base}` of `{remote}` ({url}), where `land_to` sends the \
                     landings: {e}"
                ))
            })?
            .remove(&refname);
        let mut publisher = Publisher {
            remote: remote.to_string(),
            url,
            pr_command: pr_command.map(str::to_string),
            lease: found.clone(),
            published: 0,
            ahead: false,
            stopped: None,
        };
        if publisher.pr_command.is_some() {
            // Pull requests carry the landings; base there is the reviewers' to move.
            return Ok(publisher);
        }
        let Some(there) = found else {
            // The first push makes the branch there.
            publisher.ahead = true;
            return Ok(publisher);
        };
        if there == tip {
            return Ok(publisher);
        }
        if !git.has_commit(&there)? {
            // Its commits, to tell a pull that fast-forwards from one that merges; no branch of
            // this repository moves (a named remote's tracking branch does, as `git fetch`
            // moves it). Unfetchable, it is told as one that merges.
            let _ = git.fetch(remote, std::slice::from_ref(&refname));
        }
        let known = git.has_commit(&there)?;
        if known && git.is_ancestor(&there, tip)? {
            publisher.ahead = true;
            return Ok(publisher);
        }
        let pull = if known && git.is_ancestor(tip, &there)? {
            "pull them first (`git pull --ff-only"
        } else {
            // Base here has commits of its own too (landings an earlier batch could not push).
            "merge them first (`git pull --no-rebase"
        };
        publisher.stopped = Some(format!(
            "{remote}'s {base} has commits that are not here: {pull} {} {}`); this batch's \
             landings stay here, and the next `vane work` pushes them",
            shell_word(remote),
            shell_word(base)
        ));
        Ok(publisher)
    }
}

impl Batch<'_> {
    /// Says at the batch's start why its landings will not be pushed, when they will not.
    pub(super) fn announce_land_to(&mut self) -> Result<()> {
        let Some(publisher) = self.publisher.take() else {
            return Ok(());
        };
        let result = match &publisher.stopped {
            Some(reason) => self.refuse_push(
                &publisher,
                &format!("refs/heads/{}", self.base),
                publisher.lease.clone(),
                reason,
            ),
            None => Ok(()),
        };
        self.publisher = Some(publisher);
        result
    }

    /// Sends what landed since the last push to `land_to`: base in one push, or each task's
    /// branch with its pull request. Called whenever the merge queue is drained; does nothing when
    /// nothing landed since, or when pushing is off for this batch. A refusal or a failure is
    /// reported and never fails the batch: the landings are here, whole.
    pub(super) fn publish_landings(&mut self) -> Result<()> {
        let Some(mut publisher) = self.publisher.take() else {
            return Ok(());
        };
        let due = self.summary.landed.len() > publisher.published || publisher.ahead;
        let result = match (due && publisher.stopped.is_none(), &publisher.pr_command) {
            (false, _) => Ok(()),
            (true, Some(_)) => self.open_pull_requests(&mut publisher),
            (true, None) => self.push_base(&mut publisher),
        };
        self.publisher = Some(publisher);
        result
    }

    /// Pushes base, where the batch put it, to the remote, if the remote is still where vane last
    /// saw it and the push only adds to it.
    fn push_base(&mut self, publisher: &mut Publisher) -> Result<()> {
        let tip = self.expected_tip.clone();
        let base = self.base.to_string();
        let refname = format!("refs/heads/{base}");
        let carried = self.summary.landed.len() - publisher.published;
        let remote = publisher.remote.clone();
        if let Some(lease) = &publisher.lease {
            if *lease == tip {
                publisher.published = self.summary.landed.len();
                publisher.ahead = false;
                return Ok(());
            }
            if !(self.git.has_commit(lease)? && self.git.is_ancestor(lease, &tip)?) {
                // A person moved base back here: a push would throw away what the remote has.
                let reason = format!(
                    "{base} here does not hold {remote}'s {base} any more (was it moved back?): \
                     vane pushes only what adds to it, so nothing was pushed; the landings stay \
                     here"
                );
                let lease = Some(lease.clone());
                return self.stop_pushing(publisher, &refname, lease, reason);
            }
        }
        let lease_option = format!(
            "--force-with-lease={refname}:{}",
            publisher.lease.as_deref().unwrap_or("")
        );
        let pushed = self
            .git
            .push(&remote, &[format!("{tip}:{refname}")], &[&lease_option]);
        match pushed {
            Ok(true) => {
                self.store.append_event(&NewEvent {
                    kind: "base_pushed",
                    task: None,
                    actor: WORK_LOOP,
                    correlation: Some(self.correlation),
                    data: json!({
                        "remote": remote,
                        "url": publisher.url,
                        "branch": base,
                        "from": publisher.lease,
                        "tip": tip,
                        "landed": carried,
                    }),
                })?;
                (self.progress)(Progress::Pushed {
                    remote,
                    branch: base,
                    tip: CommitId::new(tip.clone()),
                    landed: carried,
                });
                self.summary.pushed = Some(tip.clone());
                publisher.lease = Some(tip);
                publisher.published = self.summary.landed.len();
                publisher.ahead = false;
                Ok(())
            }
            Ok(false) => {
                let found = self
                    .git
                    .ls_remote(&remote, &[&refname])
                    .ok()
                    .and_then(|mut refs| refs.remove(&refname));
                let reason = if found != publisher.lease {
                    format!(
                        "someone else pushed to {remote}'s {base} ({}, where vane last saw {}); \
                         vane never overwrites that, so this batch's landings stay here. Merge it \
                         (`git pull --no-rebase {} {}`): the queue gates what waits on the tip you \
                         make, and the next `vane work` pushes the landings",
                        found.as_deref().map_or("deleted", short_commit),
                        publisher.lease.as_deref().map_or("nothing", short_commit),
                        shell_word(&remote),
                        shell_word(&base)
                    )
                } else {
                    format!(
                        "{remote} refused the push of {base} (a protected branch, or a hook of \
                         the remote's); the landings stay here. For a protected branch, \
                         `pr_command` in vane.toml opens a pull request per task instead"
                    )
                };
                self.stop_pushing(publisher, &refname, found, reason)
            }
            Err(e) => {
                let reason = format!(
                    "cannot push {base} to {remote}: {e}; the landings stay here, and the next \
                     `vane work` pushes them"
                );
                let lease = publisher.lease.clone();
                self.stop_pushing(publisher, &refname, lease, reason)
            }
        }
    }

    /// Pushing is off for the rest of the batch, for `reason`.
    fn stop_pushing(
        &mut self,
        publisher: &mut Publisher,
        refname: &str,
        found: Option<String>,
        reason: String,
    ) -> Result<()> {
        self.refuse_push(publisher, refname, found, &reason)?;
        publisher.stopped = Some(reason);
        Ok(())
    }

    /// Says that `refname` was not pushed, and why: to the person, the database and the summary.
    fn refuse_push(
        &mut self,
        publisher: &Publisher,
        refname: &str,
        found: Option<String>,
        reason: &str,
    ) -> Result<()> {
        let branch = refname.strip_prefix("refs/heads/").unwrap_or(refname);
        self.store.append_event(&NewEvent {
            kind: "push_refused",
            task: None,
            actor: WORK_LOOP,
            correlation: Some(self.correlation),
            data: json!({
                "remote": publisher.remote,
                "url": publisher.url,
                "branch": branch,
                "lease": (branch == self.base).then_some(&publisher.lease),
                "found": found,
                "reason": reason,
            }),
        })?;
        (self.progress)(Progress::PushRefused {
            remote: publisher.remote.clone(),
            branch: branch.to_string(),
            found: found.map(CommitId::new),
            reason: reason.to_string(),
        });
        self.summary.push_refused = Some(reason.to_string());
        Ok(())
    }

    /// For each task landed since the last time: its branch pushed to the remote, and
    /// `pr_command` run for it. A failure is the task's alone, reported, and the others go on.
    fn open_pull_requests(&mut self, publisher: &mut Publisher) -> Result<()> {
        let Some(template) = publisher.pr_command.clone() else {
            return Ok(());
        };
        let fresh: Vec<(TaskId, CommitId)> = self.summary.landed[publisher.published..]
            .iter()
            .map(|l| (l.task.clone(), l.sha.clone()))
            .collect();
        publisher.published = self.summary.landed.len();
        let remote = publisher.remote.clone();
        for (task, landed) in fresh {
            let branch = task.branch();
            let refname = format!("refs/heads/{branch}");
            // The task's branch as its agent left it; its landed commit, should it be gone.
            let source = match self.git.branch_tip(&branch)? {
                Some(_) => refname.clone(),
                None => landed.to_string(),
            };
            let pushed = self
                .git
                .push(&remote, &[format!("+{source}:{refname}")], &[]);
            let refused = match pushed {
                Ok(true) => None,
                Ok(false) => Some(format!(
                    "{remote} refused the push of {branch}, so no pull request was opened for \
                     {task}; push it yourself (`git push {} {}`) and open one",
                    shell_word(&remote),
                    shell_word(&branch)
                )),
                Err(e) => Some(format!(
                    "cannot push {branch} to {remote}: {e}; no pull request was opened for {task}"
                )),
            };
            if let Some(reason) = refused {
                self.refuse_push(publisher, &refname, None, &reason)?;
                continue;
            }
            let title = self.store.task(&task)?.title;
            let command = expand_template(&template, |name| {
                Some(match name {
                    "branch" => branch.clone(),
                    "task" => task.to_string(),
                    "title" => title.clone(),
                    "base" => self.base.to_string(),
                    "remote" => remote.clone(),
                    _ => return None,
                })
            });
            let (ok, output) = run_pr_command(self.git, &command);
            self.store.append_event(&NewEvent {
                kind: "pull_request",
                task: Some(&task),
                actor: WORK_LOOP,
                correlation: Some(self.correlation),
                data: json!({
                    "remote": remote,
                    "branch": branch,
                    "tip": self.git.rev_parse(&source)?,
                    "command": command,
                    "ok": ok,
                    "output": output,
                }),
            })?;
            (self.progress)(Progress::PullRequest {
                task,
                remote: remote.clone(),
                output,
                ok,
            });
        }
        Ok(())
    }
}

/// Runs `command` through the shell in the repository; whether it succeeded, and the last line it
/// printed (its stderr's, or its exit status, when it failed).
fn run_pr_command(git: &Git, command: &str) -> (bool, String) {
    let ran = Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(git.dir())
        .stdin(Stdio::null())
        .output();
    let out = match ran {
        Ok(out) => out,
        Err(e) => return (false, format!("cannot run `pr_command`: {e}")),
    };
    let last = |bytes: &[u8]| {
        String::from_utf8_lossy(bytes)
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(str::to_string)
    };
    if out.status.success() {
        return (true, last(&out.stdout).unwrap_or_default());
    }
    let why = last(&out.stderr)
        .or_else(|| last(&out.stdout))
        .unwrap_or_default();
    (
        false,
        format!("`pr_command` failed ({}): {why}", out.status),
    )
}
