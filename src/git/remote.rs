//! Git as the only transport between a coordinator and its remote workers: commits that hold a
//! few files (a job, a result record), and the pushes, fetches and listings of `refs/vane/` on a
//! remote (a path, `ssh://` or `https://`). Every network command runs without a terminal prompt
//! and fails rather than waits for credentials.

use std::collections::BTreeMap;

use super::cli::Git;
use super::GitError;

/// One file of a record commit: its path in the tree (`/`-separated) and its bytes.
pub type RecordFile = (String, Vec<u8>);

/// A record commit as read back: its files' bytes by path, and its parents.
pub type Record = (BTreeMap<String, Vec<u8>>, Vec<String>);

impl Git {
    /// Writes a commit whose tree holds exactly `files`, with `parents` and `message`, and returns
    /// its id. No ref points at it.
    pub fn write_record(
        &self,
        files: &[RecordFile],
        parents: &[String],
        message: &str,
    ) -> Result<String, GitError> {
        let repo = git2::Repository::open(self.common_dir())?;
        let tree = build_tree(&repo, files)?;
        let tree = repo.find_tree(tree)?;
        let (name, email) = &self.identity;
        let signature = git2::Signature::now(name, email)?;
        let parents: Vec<git2::Commit<'_>> = parents
            .iter()
            .map(|p| repo.find_commit(git2::Oid::from_str(p)?))
            .collect::<Result<_, _>>()?;
        let parent_refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
        let id = repo.commit(None, &signature, &signature, message, &tree, &parent_refs)?;
        Ok(id.to_string())
    }

    /// The files of a record commit's tree, by path, and its parents.
    pub fn read_record(&self, commit: &str) -> Result<Record, GitError> {
        let repo = git2::Repository::open(self.common_dir())?;
        let commit = repo
            .find_commit(git2::Oid::from_str(commit)?)
            .map_err(|_| GitError::UnknownRevision(commit.to_string()))?;
        let mut files = BTreeMap::new();
        let tree = commit.tree()?;
        tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            if entry.kind() == Some(git2::ObjectType::Blob) {
                if let (Some(name), Ok(object)) = (entry.name(), entry.to_object(&repo)) {
                    if let Some(blob) = object.as_blob() {
                        files.insert(format!("{dir}{name}"), blob.content().to_vec());
                    }
                }
            }
            git2::TreeWalkResult::Ok
        })?;
        let parents = commit.parent_ids().map(|p| p.to_string()).collect();
        Ok((files, parents))
    }

    /// `git push <remote> <refspec>...` (atomic where the remote can); `Ok(false)` when the remote
    /// refused an update (a ref that exists, a lease that failed), an error when it could not be
    /// reached.
    pub fn push(
        &self,
        remote: &str,
        refspecs: &[String],
        extra: &[&str],
    ) -> Result<bool, GitError> {
        let mut args: Vec<String> = vec!["push".into(), "--quiet".into(), "--porcelain".into()];
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push(remote.to_string());
        args.extend(refspecs.iter().cloned());
        let out = self.output(None, &args)?;
        if out.success() {
            return Ok(true);
        }
        // `--porcelain` prints one line per ref; `!` marks one the remote rejected.
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.lines().any(|l| l.starts_with('!')) {
            return Ok(false);
        }
        Err(out.error())
    }

    /// `git ls-remote <remote> <patterns>`: each ref with its id.
    pub fn ls_remote(
        &self,
        remote: &str,
        patterns: &[&str],
    ) -> Result<BTreeMap<String, String>, GitError> {
        let mut args = vec!["ls-remote", "--refs", remote];
        args.extend(patterns);
        let out = self.run(None, &args)?;
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|line| {
                let (sha, name) = line.split_once('\t')?;
                Some((name.to_string(), sha.to_string()))
            })
            .collect())
    }

    /// `git fetch <remote> <refspec>...` into this repository, without touching `FETCH_HEAD` (so
    /// that fetches running at once in one repository do not race on it).
    pub fn fetch(&self, remote: &str, refspecs: &[String]) -> Result<(), GitError> {
        let mut args: Vec<String> = vec![
            "fetch".into(),
            "--quiet".into(),
            "--no-tags".into(),
            "--no-write-fetch-head".into(),
            "--no-auto-gc".into(),
            remote.to_string(),
        ];
        args.extend(refspecs.iter().cloned());
        self.run(None, &args)?;
        Ok(())
    }

    /// The URL of remote `name` of this repository, when it has one by that name.
    pub fn remote_url(&self, name: &str) -> Result<Option<String>, GitError> {
        let out = self.output(None, &["remote", "get-url", name])?;
        Ok(out.success().then(|| out.text()))
    }

    /// Where `remote` is: the URL of this repository's remote by that name, else `remote` as
    /// written (a URL or a path).
    pub fn remote_location(&self, remote: &str) -> Result<String, GitError> {
        Ok(self
            .remote_url(remote)?
            .unwrap_or_else(|| remote.to_string()))
    }

    /// Whether this repository has commit `sha` (one a remote named, perhaps never fetched).
    pub fn has_commit(&self, sha: &str) -> Result<bool, GitError> {
        Ok(self.rev_parse(&format!("{sha}^{{commit}}"))?.is_some())
    }
}

/// Builds the tree of `files` in `repo`, with a subtree for each folder.
fn build_tree(repo: &git2::Repository, files: &[RecordFile]) -> Result<git2::Oid, git2::Error> {
    let entries: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(path, bytes)| (path.as_str(), bytes.as_slice()))
        .collect();
    build_level(repo, &entries)
}

fn build_level(
    repo: &git2::Repository,
    entries: &[(&str, &[u8])],
) -> Result<git2::Oid, git2::Error> {
    let mut builder = repo.treebuilder(None)?;
    let mut folders: BTreeMap<&str, Vec<(&str, &[u8])>> = BTreeMap::new();
    for (path, bytes) in entries {
        match path.split_once('/') {
            Some((folder, rest)) => folders.entry(folder).or_default().push((rest, bytes)),
            None => {
                builder.insert(path, repo.blob(bytes)?, 0o100644)?;
            }
        }
    }
    for (folder, inside) in folders {
        builder.insert(folder, build_level(repo, &inside)?, 0o040000)?;
    }
    builder.write()
}

#[cfg(test)]
mod tests {
    use super::super::cli::testing::TestRepo;

    #[test]
    fn a_record_commit_holds_exactly_its_files_and_parents() {
        let repo = TestRepo::with_files(&[("a.txt", "a\n")]);
        let git = &repo.git;
        let head = git.rev_parse("HEAD").unwrap().unwrap();
        let files = vec![
            ("job.json".to_string(), b"{\"task\":\"a\"}".to_vec()),
            ("run/prompt.md".to_string(), b"do it\n".to_vec()),
            ("run/context/entries.jsonl".to_string(), b"{}\n".to_vec()),
        ];
        let record = git
            .write_record(&files, std::slice::from_ref(&head), "job")
            .unwrap();
        let (read, parents) = git.read_record(&record).unwrap();
        assert_eq!(parents, vec![head]);
        assert_eq!(read.len(), 3);
        assert_eq!(read["run/context/entries.jsonl"], b"{}\n");
        assert_eq!(read["run/prompt.md"], b"do it\n");
        assert_eq!(read["job.json"], b"{\"task\":\"a\"}");
    }

    #[test]
    fn push_fetch_and_list_refs_of_a_bare_remote() {
        let repo = TestRepo::with_files(&[("a.txt", "a\n")]);
        let git = &repo.git;
        let bare = tempfile::tempdir().unwrap();
        let remote = bare.path().join("r.git");
        std::process::Command::new("git")
            .args(["init", "-q", "--bare"])
            .arg(&remote)
            .status()
            .unwrap();
        let remote = remote.display().to_string();
        let head = git.rev_parse("HEAD").unwrap().unwrap();
        let record = git
            .write_record(&[("x".into(), b"1".to_vec())], &[head], "r")
            .unwrap();
        assert!(git
            .push(&remote, &[format!("{record}:refs/vane/jobs/a/1")], &[])
            .unwrap());
        // Not a fast-forward of what is there: refused, not an error.
        let other = git
            .write_record(&[("x".into(), b"2".to_vec())], &[], "r")
            .unwrap();
        assert!(!git
            .push(&remote, &[format!("{other}:refs/vane/jobs/a/1")], &[])
            .unwrap());
        let refs = git.ls_remote(&remote, &["refs/vane/*"]).unwrap();
        assert_eq!(refs.get("refs/vane/jobs/a/1"), Some(&record));
        git.fetch(&remote, &["+refs/vane/jobs/a/1:refs/vane/seen".to_string()])
            .unwrap();
        assert_eq!(git.rev_parse("refs/vane/seen").unwrap(), Some(record));
        assert_eq!(git.remote_location(&remote).unwrap(), remote);
        git.run(None, &["remote", "add", "origin", &remote])
            .unwrap();
        assert_eq!(git.remote_location("origin").unwrap(), remote);
        // A commit the remote has and this repository never fetched, and one it has.
        let elsewhere = "0123456789abcdef0123456789abcdef01234567";
        assert!(!git.has_commit(elsewhere).unwrap());
        assert!(git.has_commit(&other).unwrap());
        // An unreachable remote is an error, not an empty listing.
        assert!(git
            .ls_remote("/nonexistent/remote.git", &["refs/*"])
            .is_err());
    }
}
