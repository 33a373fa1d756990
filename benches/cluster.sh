#!/usr/bin/env bash
# The remote-worker path measured against the local one, through a real Slurm cluster.
#
#   VANE=target/release/vane N=200 JOBS=8 benches/cluster.sh
#
# Builds a fresh temporary repository (a README, `vane init`, a vane.toml with `workers = JOBS`,
# `max_attempts = 2`, one cheap gate and two executors) with N independent shell-agent tasks
# (`echo i > fi.txt`, each its own file, so nothing conflicts), and runs that batch three ways, each
# on a fresh copy of the repository with its own HOME and worker cache:
#
#   threads  vane work --workers JOBS             worker threads of the coordinator
#   local    vane work --executor local           `vane worker` processes, git as the transport
#   slurm    vane work --executor slurm           `vane worker` in real sbatch jobs
#
# Each run must land all N tasks (from `vane work --json`), or the script fails. It prints the wall
# clock of each and the per-task overhead of the remote paths against the threads, and where the
# time goes on the remote paths, from what vane keeps (the attempts, remote_jobs and events tables
# of .git/vane/vane.db, the job.starting / job.handle files of each run directory) and from the
# workers' own reports (`vane worker --json`, through a wrapper given to the executors as `vane`,
# which also logs when the job process started and ended). Then it times `git ls-remote` of
# `refs/vane/*`, as the coordinator's poll runs it, with no refs, with REFS refs loose, and packed.
#
# The workers of one run share one machine, and by default (WORKER_CACHE=shared) one cache clone,
# as `vane worker` does by itself: the first installs vane's hooks in it under a lock, the others
# find them. WORKER_CACHE=slot gives each job slot a clone of its own (VANE_WORKER_CACHE/slot<k>,
# held by a lock while the worker runs), as if each slot were a node.
#
# Environment: VANE (default target/release/vane), N (200), JOBS (8), REFS (400), PATHS (the runs,
# default "threads local slurm"), WORKER_CACHE (shared, or slot), SBATCH_PROBE (sbatch submissions
# timed alone after the runs, 40), BENCH_DIR (where to work; default a new temporary folder,
# removed at the end unless KEEP=1). Needs git, python3, flock and, for the slurm run, a Slurm
# cluster answering `sbatch` (tests/cluster/slurm-up starts one on this machine).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
VANE=${VANE:-$ROOT/target/release/vane}
N=${N:-200}
JOBS=${JOBS:-8}
REFS=${REFS:-400}
PATHS=${PATHS:-threads local slurm}
KEEP=${KEEP:-0}
export WORKER_CACHE=${WORKER_CACHE:-shared}

die() {
    echo "cluster.sh: error: $*" >&2
    exit 1
}
say() { echo "cluster.sh: $*" >&2; }

[ -x "$VANE" ] || die "no vane binary at $VANE (cargo build --release, or set VANE)"
VANE=$(cd "$(dirname "$VANE")" && pwd)/$(basename "$VANE")
case $WORKER_CACHE in slot | shared) ;; *) die "WORKER_CACHE is slot or shared, not $WORKER_CACHE" ;; esac
command -v python3 >/dev/null || die "python3 is needed for the figures"
case " $PATHS " in
*" slurm "*) command -v sbatch >/dev/null || die "no sbatch: start a cluster (tests/cluster/slurm-up)" ;;
esac

if [ -n "${BENCH_DIR:-}" ]; then
    mkdir -p "$BENCH_DIR"
    WORK=$(cd "$BENCH_DIR" && pwd)
else
    WORK=$(mktemp -d /tmp/vane-cluster-bench.XXXXXX)
fi
SAMPLER=""
cleanup() {
    if [ -n "$SAMPLER" ]; then kill "$SAMPLER" 2>/dev/null || true; fi
    if [ "$KEEP" != 1 ] && [ -z "${BENCH_DIR:-}" ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT
chmod 0755 "$WORK"

now_ms() { date +%s%3N; }

# The sealed environment every vane and git of a run gets: its own HOME (so its own worktree root
# and data directory), its own worker cache, no global or system git configuration.
seal() {
    local home=$1
    export HOME=$home XDG_DATA_HOME=$home/.local/share XDG_CACHE_HOME=$home/.cache
    export XDG_CONFIG_HOME=$home/.config VANE_WORKER_CACHE=$home/worker-cache
    export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 NO_COLOR=1
    export GIT_AUTHOR_NAME="Bench Author" GIT_AUTHOR_EMAIL=author@example.com
    export GIT_COMMITTER_NAME="Bench Committer" GIT_COMMITTER_EMAIL=committer@example.com
    mkdir -p "$home"
}

# The `vane` the executors run: the real binary with --json, its report and when the job process
# began and ended written to $VANE_BENCH_OUT/<task>.<attempt>.{json,t}.
WRAP=$WORK/bin/vane-json
mkdir -p "$WORK/bin"
cat >"$WRAP" <<EOF
#!/usr/bin/env bash
start=\$(date +%s%3N)
task=x attempt=x prev=
for a in "\$@"; do
    case \$prev in --task) task=\$a ;; --attempt) attempt=\$a ;; esac
    prev=\$a
done
out=\${VANE_BENCH_OUT:-/tmp}/\$task.\$attempt
slot=shared
if [ "\${WORKER_CACHE:-shared}" = slot ]; then
    # One cache clone per job slot, held by a lock while the worker runs.
    mkdir -p "\$VANE_WORKER_CACHE/locks"
    for k in \$(seq 1 256); do
        exec 9>"\$VANE_WORKER_CACHE/locks/slot\$k"
        if flock -n 9; then slot=\$k; break; fi
        exec 9>&-
    done
    export VANE_WORKER_CACHE=\$VANE_WORKER_CACHE/slot\$slot
fi
rc=0
"$VANE" "\$@" --json >"\$out.json" 2>"\$out.err" || rc=\$?
echo "\$start \$(date +%s%3N) \$rc \$slot \${SLURM_JOB_ID:-}" >"\$out.t"
exit \$rc
EOF
chmod 0755 "$WRAP"

# ---- the repository every run starts from
TEMPLATE=$WORK/template
say "building the repository: $N tasks, $JOBS at a time ($WORK)"
seal "$WORK/template-home"
git init -q -b main "$TEMPLATE"
echo "# cluster bench" >"$TEMPLATE/README.md"
git -C "$TEMPLATE" add README.md
git -C "$TEMPLATE" commit -qm "Initial commit"
(cd "$TEMPLATE" && "$VANE" init -q)
cat >"$TEMPLATE/vane.toml" <<EOF
workers = $JOBS
max_attempts = 2

[[gate]]
name = "check"
command = "test -f README.md"

[executor.local]
max_jobs = $JOBS
time_limit = 600
vane = "$WRAP"

[executor.slurm]
start = "sbatch --parsable --job-name vane-{task}-{attempt} --output /dev/null --wrap {worker}"
cancel = "scancel {handle}"
max_jobs = $JOBS
time_limit = 600
vane = "$WRAP"
EOF
git -C "$TEMPLATE" add -A
git -C "$TEMPLATE" commit -qm "Configure vane"
t0=$(now_ms)
for i in $(seq 1 "$N"); do
    "$VANE" -C "$TEMPLATE" task add "t$i" --id "t$i" --run "echo $i > f$i.txt" -q >/dev/null
done
say "added $N tasks in $(( $(now_ms) - t0 )) ms"

# Samples the counts of vane's refs in a repository once a second: ms jobs results checkpoints other.
sample_refs() {
    local repo=$1 out=$2
    while :; do
        git -C "$repo" for-each-ref --format='%(refname)' refs/vane 2>/dev/null |
            awk -v t="$(now_ms)" '
                /^refs\/vane\/jobs\// { j++; next }
                /^refs\/vane\/results\// { r++; next }
                /^refs\/vane\/checkpoints\// { c++; next }
                { o++ }
                END { printf "%s %d %d %d %d\n", t, j, r, c, o }' >>"$out"
        sleep 1
    done
}

# ---- the runs
# ls_cost LABEL [REPO [PATTERN...]]: the refs listed, the refs the repository holds in all (the
# server sends them all: git ls-remote matches its patterns itself), and the median and p90 of 30
# listings, in ms. The pattern is the poll's, `refs/vane/*`, unless given.
ls_cost() {
    local label=$1 repo=${2:-$SCRATCH}
    shift $(($# < 2 ? $# : 2))
    python3 - "$repo" "$label" "$@" <<'PY'
import subprocess, sys, time
repo, label, patterns = sys.argv[1], sys.argv[2], sys.argv[3:] or ["refs/vane/*"]
total = subprocess.run(["git", "-C", repo, "for-each-ref", "--format=x"], check=True,
                       capture_output=True).stdout.count(b"\n")
times, lines = [], 0
for _ in range(30):
    t = time.perf_counter()
    out = subprocess.run(["git", "ls-remote", "--refs", repo, *patterns],
                         check=True, capture_output=True).stdout
    times.append((time.perf_counter() - t) * 1000)
    lines = out.count(b"\n")
times.sort()
print(f"{label}\t{lines}\t{total}\t{times[len(times) // 2]:.1f}\t{times[int(len(times) * 0.9)]:.1f}")
PY
}

run_one() {
    local path=$1 repo=$WORK/$1/repo out=$WORK/$1/out
    mkdir -p "$WORK/$path" "$out"
    cp -a "$TEMPLATE" "$repo"
    seal "$WORK/$path/home"
    export VANE_BENCH_OUT=$out
    local args
    case $path in
    threads) args=(work --workers "$JOBS" --json) ;;
    local) args=(work --executor local --json) ;;
    slurm) args=(work --executor slurm --json) ;;
    *) die "unknown path $path (threads, local, slurm)" ;;
    esac
    sample_refs "$repo" "$WORK/$path/refs.log" &
    SAMPLER=$!
    say "$path: vane ${args[*]}"
    local start end rc=0
    start=$(now_ms)
    (cd "$repo" && "$VANE" "${args[@]}") >"$WORK/$path/work.json" 2>"$WORK/$path/work.err" || rc=$?
    end=$(now_ms)
    kill "$SAMPLER" 2>/dev/null || true
    wait "$SAMPLER" 2>/dev/null || true
    SAMPLER=""
    echo "$start $end $rc" >"$WORK/$path/wall"
    local landed
    landed=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1])).get("landed", [])))' \
        "$WORK/$path/work.json" 2>/dev/null || echo "?")
    git -C "$repo" for-each-ref --format='%(refname)' refs/vane >"$WORK/$path/refs.after"
    # The listing the coordinator's poll makes, on this repository as the batch left it.
    ls_cost "$path" "$repo/.git" >>"$WORK/ls-remote-after.tsv"
    git -C "$repo" pack-refs --all
    ls_cost "$path, after git pack-refs --all" "$repo/.git" >>"$WORK/ls-remote-after.tsv"
    say "$path: $(( (end - start) / 1000 )).$(( (end - start) % 1000 / 100 )) s, exit $rc, $landed of $N landed"
    if [ "$rc" -ne 0 ] || [ "$landed" != "$N" ]; then
        tail -n 30 "$WORK/$path/work.err" >&2
        KEEP=1 BENCH_DIR=${BENCH_DIR:-$WORK}
        die "$path: $landed of $N tasks landed (exit $rc); everything is in $WORK"
    fi
}

for path in $PATHS; do
    run_one "$path"
done

# ---- what a listing of refs/vane/* costs as refs grow
say "timing git ls-remote 'refs/vane/*' with 0 and $REFS refs, loose and packed"
SCRATCH=$WORK/scratch.git
seal "$WORK/scratch-home"
git clone -q --bare "$TEMPLATE" "$SCRATCH"
git -C "$SCRATCH" for-each-ref --format='delete %(refname)' refs/vane | git -C "$SCRATCH" update-ref --stdin
head=$(git -C "$SCRATCH" rev-parse main)
{
    ls_cost "no refs"
    for i in $(seq 1 "$REFS"); do
        if [ $((i % 2)) -eq 0 ]; then
            echo "create refs/vane/jobs/d$i/1 $head"
        else
            echo "create refs/vane/results/d$i/1 $head"
        fi
    done | git -C "$SCRATCH" update-ref --stdin
    ls_cost "$REFS loose"
    git -C "$SCRATCH" pack-refs --all
    ls_cost "$REFS packed"
    for i in $(seq 1 $((REFS * 9))); do echo "create refs/vane/checkpoints/x$i $head"; done |
        git -C "$SCRATCH" update-ref --stdin
    ls_cost "$((REFS * 10)) ($REFS packed, the rest loose)"
    git -C "$SCRATCH" pack-refs --all
    ls_cost "$((REFS * 10)) packed"
    ls_cost "$((REFS * 10)) packed, listing only jobs and results" "$SCRATCH" \
        'refs/vane/jobs/*' 'refs/vane/results/*'
} >"$WORK/ls-remote.tsv"

# ---- how fast this cluster takes jobs: sbatch one after another, outside any batch
if [[ " $PATHS " == *" slurm "* ]] && [ "${SBATCH_PROBE:-40}" -gt 0 ]; then
    say "timing ${SBATCH_PROBE:-40} sbatch submissions one after another"
    python3 - "${SBATCH_PROBE:-40}" >"$WORK/sbatch.tsv" <<'PY'
import subprocess, sys, time
times = []
for i in range(int(sys.argv[1])):
    t = time.perf_counter()
    subprocess.run(["sbatch", "--parsable", "--job-name", f"vane-probe-{i}", "--output", "/dev/null",
                    "--wrap", "true"], check=True, capture_output=True)
    times.append((time.perf_counter() - t) * 1000)
times.sort()
print(f"{len(times)}\t{times[len(times) // 2]:.1f}\t{times[int(len(times) * 0.9)]:.1f}\t{sum(times):.0f}")
PY
fi

# ---- the figures
python3 - "$WORK" "$N" "$JOBS" "$PATHS" <<'PY'
import json, os, sqlite3, sys

work, n, jobs, paths = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split()


def q(xs, p):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    return xs[min(len(xs) - 1, int(round(p * (len(xs) - 1))))]


def fmt(x, unit=""):
    return "-" if x is None else f"{x:.0f}{unit}"


runs = {}
for path in paths:
    d = os.path.join(work, path)
    start, end, _ = map(int, open(os.path.join(d, "wall")).read().split())
    repo = os.path.join(d, "repo")
    db = sqlite3.connect(f"file:{repo}/.git/vane/vane.db?mode=ro", uri=True)
    attempts = db.execute(
        "SELECT a.id, a.task_id, a.number, a.started_at, a.finished_at, a.outcome, r.submitted_at "
        "FROM attempts a LEFT JOIN remote_jobs r ON r.attempt_id = a.id").fetchall()
    # When each task became done: the transition event of its landing.
    done = {}
    kinds = {}
    for ts, kind, task, data in db.execute(
            "SELECT timestamp, event_type, task_id, data FROM events ORDER BY id"):
        kinds[kind] = kinds.get(kind, 0) + 1
        try:
            d_ = json.loads(data)
        except ValueError:
            d_ = {}
        if task and d_.get("to") == "done":
            done[task] = ts
    runs[path] = dict(start=start, end=end, wall=(end - start) / 1000, attempts=attempts,
                      done=done, kinds=kinds, dir=d, repo=repo)

base = runs.get("threads")
print()
print(f"## {n} tasks, {jobs} at a time (worker cache: {os.environ.get('WORKER_CACHE', 'shared')})")
print()
print("| path | tasks | attempts | wall s | tasks/s | overhead vs threads, ms per task per slot "
      "((wall-wall_threads)/N*JOBS) | plain, ms per task ((wall-wall_threads)/N) |")
print("|---|---|---|---|---|---|---|")
for path, r in runs.items():
    over = plain = "-"
    if base and path != "threads":
        delta = (r["wall"] - base["wall"]) * 1000
        over, plain = f"{delta / n * jobs:.0f}", f"{delta / n:.0f}"
    print(f"| {path} | {len(r['done'])} | {len(r['attempts'])} | {r['wall']:.1f} | "
          f"{len(r['done']) / r['wall']:.2f} | {over} | {plain} |")

print()
print("Event kinds seen:", ", ".join(f"{k} {v}" for k, v in sorted(runs[paths[0]]["kinds"].items())))
print()
print("## Where the time goes, per attempt (median / p90, ms)")
print()
# Each phase, and how it is measured.
PHASES = {
    "claim -> job pushed": "attempts.started_at to the mtime of the run dir's job.starting "
    "(the job commit written and pushed to the remote)",
    "start command (sbatch / spawn)": "job.starting to job.handle (the executor's `start` ran)",
    "job pushed -> worker running": "job.starting to the wrapper's first timestamp in the job "
    "(start command, Slurm queue and launch)",
    "worker: prepare (hooks, fetch job)": "prepare_ms of `vane worker --json` (cache clone, "
    "hooks, fetch of the job, reading it; before the worktree)",
    "worker: worktree + agent + commit": "seconds*1000 - prepare_ms of the worker's report",
    "worker: push result": "push_ms of the worker's report",
    "worker: rest (exec, record, exit)": "the wrapper's end - start, less seconds and push_ms "
    "(process start, writing the result commit, exit)",
    "worker end -> recorded here": "the wrapper's end to attempts.finished_at (poll, fetch of "
    "the result, checks, the database)",
    "claim -> recorded (slot held)": "attempts.started_at to finished_at",
    "recorded -> landed (merge queue)": "attempts.finished_at to the task's status_changed "
    "event to done",
    "claim -> landed": "attempts.started_at to that event",
}
rows = []
for path, r in runs.items():
    out = os.path.join(r["dir"], "out")
    ph = {k: [] for k in PHASES}
    for aid, task, num, started, finished, outcome, submitted in r["attempts"]:
        landed = r["done"].get(task) if outcome == "landed" else None
        if landed and finished:
            ph["recorded -> landed (merge queue)"].append(landed - finished)
        if landed:
            ph["claim -> landed"].append(landed - started)
        if finished:
            ph["claim -> recorded (slot held)"].append(finished - started)
        if path == "threads":
            continue
        run_dir = os.path.join(r["repo"], ".git", "vane", "runs", task, str(num))
        try:
            starting = os.stat(os.path.join(run_dir, "job.starting")).st_mtime * 1000
            handle = os.stat(os.path.join(run_dir, "job.handle")).st_mtime * 1000
        except OSError:
            starting = handle = None
        try:
            t0, t1 = open(os.path.join(out, f"{task}.{num}.t")).read().split()[:2]
            t0, t1 = int(t0), int(t1)
            rep = json.load(open(os.path.join(out, f"{task}.{num}.json")))
        except (OSError, ValueError):
            t0 = t1 = rep = None
        if starting:
            ph["claim -> job pushed"].append(starting - started)
            ph["start command (sbatch / spawn)"].append(handle - starting)
        if starting and t0:
            ph["job pushed -> worker running"].append(t0 - starting)
        if rep:
            total = rep["seconds"] * 1000
            ph["worker: prepare (hooks, fetch job)"].append(rep["prepare_ms"])
            ph["worker: worktree + agent + commit"].append(total - rep["prepare_ms"])
            ph["worker: push result"].append(rep["push_ms"])
            ph["worker: rest (exec, record, exit)"].append((t1 - t0) - total - rep["push_ms"])
        if t1 and finished:
            ph["worker end -> recorded here"].append(finished - t1)
    rows.append((path, ph))

names = list(rows[0][1].keys())
print("| phase | " + " | ".join(p for p, _ in rows) + " |")
print("|---|" + "---|" * len(rows))
for name in names:
    cells = []
    for _, ph in rows:
        xs = ph[name]
        cells.append("-" if not xs else f"{fmt(q(xs, 0.5))} / {fmt(q(xs, 0.9))}")
    print(f"| {name} | " + " | ".join(cells) + " |")
print()
for name, how in PHASES.items():
    print(f"- {name}: {how}")

print()
print("## The merge queue (coordinator)")
print()
print("| path | first landing s | last landing s | landings/s between them | batch end after last landing s |")
print("|---|---|---|---|---|")
for path, r in runs.items():
    ts = sorted(r["done"].values())
    if len(ts) > 1:
        span = (ts[-1] - ts[0]) / 1000
        print(f"| {path} | {(ts[0] - r['start']) / 1000:.1f} | {(ts[-1] - r['start']) / 1000:.1f} | "
              f"{(len(ts) - 1) / span:.2f} | {(r['end'] - ts[-1]) / 1000:.1f} |")

print()
print("## vane's refs (refs/vane/*) in the repository: most during the run, and after")
print()
print("| path | jobs+results at most | checkpoints at most | jobs+results after | checkpoints after | other after |")
print("|---|---|---|---|---|---|")
for path, r in runs.items():
    peak_jr = peak_c = 0
    try:
        for line in open(os.path.join(r["dir"], "refs.log")):
            _, j, res, c, o = map(int, line.split())
            peak_jr, peak_c = max(peak_jr, j + res), max(peak_c, c)
    except OSError:
        pass
    after = [l.strip() for l in open(os.path.join(r["dir"], "refs.after"))]
    jr = sum(1 for l in after if l.startswith(("refs/vane/jobs/", "refs/vane/results/")))
    c = sum(1 for l in after if l.startswith("refs/vane/checkpoints/"))
    print(f"| {path} | {peak_jr} | {peak_c} | {jr} | {c} | {len(after) - jr - c} |")

print()
print("## git ls-remote --refs <repo>/.git 'refs/vane/*' on each run's repository after the batch (30 runs)")
print()
print("| path | listed | refs in the repository | median ms | p90 ms |")
print("|---|---|---|---|---|")
for line in open(os.path.join(work, "ls-remote-after.tsv")):
    print("| " + " | ".join(line.rstrip("\n").split("\t")) + " |")

print()
print("## git ls-remote --refs <scratch> 'refs/vane/*' as refs grow (30 runs each)")
print()
print("| refs | listed | refs in the repository | median ms | p90 ms |")
print("|---|---|---|---|---|")
for line in open(os.path.join(work, "ls-remote.tsv")):
    print("| " + " | ".join(line.rstrip("\n").split("\t")) + " |")

sb = os.path.join(work, "sbatch.tsv")
if os.path.exists(sb):
    count, med, p90, total = open(sb).read().split()
    print()
    print("## sbatch, one submission after another (no batch running)")
    print()
    print(f"{count} submissions: median {med} ms, p90 {p90} ms, "
          f"{int(count) / (float(total) / 1000):.1f} submissions/s")
PY
echo
echo "vane: $VANE ($("$VANE" --version 2>/dev/null || echo '?')); machine: $(nproc) cores; work dir: $WORK"
