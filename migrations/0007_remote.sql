-- Attempts run by a remote worker (`vane worker`, started through an `[executor.NAME]`): what the
-- coordinator published for it, where, and until when it waits for the result. Written in the
-- claim's own transaction, so that a coordinator killed at any point finds every job it may have
-- started and collects its result instead of running the attempt again.
CREATE TABLE remote_jobs (
  attempt_id INTEGER PRIMARY KEY REFERENCES attempts(id),
  executor TEXT NOT NULL,
  -- The git URL or path the job is published to and the result comes back on.
  remote TEXT NOT NULL,
  -- refs/vane/jobs/<task>/<n>; the result comes back on refs/vane/results/<task>/<n>.
  job_ref TEXT NOT NULL,
  submitted_at INTEGER NOT NULL,
  -- Milliseconds since the epoch after which the job is cancelled and the attempt recorded lost.
  deadline INTEGER NOT NULL,
  -- 'waiting' until its result is collected ('collected') or it is given up ('lost').
  state TEXT NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'collected', 'lost')),
  -- The result commit collected, so that a copy of it still on the remote is known as this one.
  result_sha TEXT
);
CREATE INDEX idx_remote_jobs_state ON remote_jobs(state);

-- Results that matched no waiting job (an unknown task, an old attempt, a forged ref), kept aside
-- under refs/vane/refused/ in the coordinator's repository.
CREATE TABLE refused_results (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  remote TEXT NOT NULL,
  refname TEXT NOT NULL,
  sha TEXT NOT NULL,
  kept_as TEXT,
  reason TEXT NOT NULL
);
