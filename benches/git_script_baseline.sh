#!/usr/bin/env bash
# The baseline `benches/work.rs` measures `vane work` against: the same batch done with the git CLI
# by a shell script, written the way a reasonable person would write it.
#
#   git_script_baseline.sh <repo> <workers> <tasks-file> [gate command]
#
# <tasks-file> has one task per line: `<id><TAB><shell command>`. For each task, in parallel
# (`xargs -P <workers>`):
#   git worktree add -B task/<id> <worktree> main     a fresh worktree on a new branch
#   (cd <worktree> && sh -c <command>)                 the "agent"
#   git add -A && git commit                           keep what it did
#   flock <lock> -- merge in the main checkout:        one landing at a time
#       git merge --no-ff task/<id>, then the gate command (default `true`) on the result
#   git worktree remove <worktree>
# (`git worktree add` and `remove` are tried again when they die on a concurrent `worktree add`.)
#
# The gate runs after the merge, on the main checkout: cheaper than vane's (which checks the merge
# result before base moves, in a worktree), and it never rolls a merge back. The main checkout must
# have `main` checked out and be clean. Worktrees go to `<repo>.baseline-worktrees/`. Exits non-zero
# if any task failed.

set -euo pipefail

if [ "$#" -lt 3 ]; then
    echo "usage: $0 <repo> <workers> <tasks-file> [gate command]" >&2
    exit 2
fi

REPO=$(cd "$1" && pwd)
WORKERS=$2
TASKS=$3
GATE=${4:-true}
WT_ROOT="$REPO.baseline-worktrees"
LOCK="$REPO/.git/baseline-merge.lock"
mkdir -p "$WT_ROOT"
export REPO WT_ROOT LOCK GATE

# `git worktree add` writes a new worktree's administrative files non-atomically, and a concurrent
# git command that reads every worktree's (another `worktree add` or `remove`) can die on the
# half-written one with "failed to read .git/worktrees/<id>/commondir", changing nothing. Try again.
retry() {
    local try
    for try in 1 2 3 4 5 6 7 8; do
        if "$@" 2>"$WT_ROOT/.retry.$$"; then
            rm -f "$WT_ROOT/.retry.$$"
            return 0
        fi
        if ! grep -q "failed to read .*/worktrees/" "$WT_ROOT/.retry.$$"; then
            cat "$WT_ROOT/.retry.$$" >&2
            rm -f "$WT_ROOT/.retry.$$"
            return 1
        fi
        sleep "0.0$try"
    done
    cat "$WT_ROOT/.retry.$$" >&2
    rm -f "$WT_ROOT/.retry.$$"
    return 1
}
export -f retry

run_task() {
    set -euo pipefail
    local line=$1
    local id=${line%%$'\t'*}
    local command=${line#*$'\t'}
    local wt="$WT_ROOT/$id"
    retry git -C "$REPO" worktree add --quiet -B "task/$id" "$wt" main
    (cd "$wt" && sh -c "$command")
    git -C "$wt" add -A
    git -C "$wt" commit --quiet -m "$id"
    flock "$LOCK" sh -c '
        set -e
        cd "$REPO"
        git merge --quiet --no-ff -m "Land $1" "task/$1"
        sh -c "$GATE"
    ' sh "$id"
    retry git -C "$REPO" worktree remove "$wt"
}
export -f run_task

# One task per line; `-d '\n'` keeps each whole line (tab and spaces included) as one argument.
xargs -d '\n' -P "$WORKERS" -n 1 bash -c 'run_task "$1"' bash <"$TASKS"
