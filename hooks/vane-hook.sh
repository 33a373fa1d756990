#!/bin/sh
# vane-managed-hook: installed by `vane hooks install` (or `vane init`); `vane hooks uninstall`
# removes it and puts back what was here before.
#
# The hook that was here before vane's, if any, was kept beside it as `<name>.vane-kept`: it runs
# first, with the same arguments and input, and if it fails, git stops as it did before vane.
# Then vane's part runs: `vane hook git-<name>`. When vane is not installed, or the repository is
# not set up for vane, this says so once and lets git go on.
hook=$(basename "$0")
here=$(dirname "$0")
if [ -x "$here/$hook.vane-kept" ]; then
    "$here/$hook.vane-kept" "$@" || exit $?
fi
# vane's own git commands need nothing of vane's part (an agent's always do), and a
# reference-transaction outside an agent matters only once committed: both end here, cheaply.
if [ -n "$VANE_INTERNAL_GIT" ] && [ -z "$VANE_TASK_ID" ]; then
    exit 0
fi
if [ "$hook" = reference-transaction ] && [ -z "$VANE_TASK_ID" ] && [ "$1" != committed ]; then
    exit 0
fi
vane=@VANE@
if [ ! -x "$vane" ]; then
    vane=$(command -v vane 2>/dev/null)
fi
if [ -z "$vane" ]; then
    marker="$(git rev-parse --git-common-dir 2>/dev/null)/vane-hook-no-vane"
    if [ ! -e "$marker" ]; then
        echo "vane: the $hook hook needs vane, which is not installed; git goes on without it" >&2
        : > "$marker" 2>/dev/null
    fi
    exit 0
fi
exec "$vane" hook "git-$hook" "$@"
