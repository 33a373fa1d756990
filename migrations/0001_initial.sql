-- vane's first schema: the seed's tables, extended with what the git shape needs.
-- Shipped migrations are never edited; a change to the schema is a new numbered file.

CREATE TABLE tasks (
  id TEXT PRIMARY KEY,
  title TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  type TEXT NOT NULL CHECK (type IN ('epic', 'story', 'task', 'bug')),
  status TEXT NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'in_progress', 'needs_review', 'needs_improvement', 'done', 'blocked')),
  assigned_to TEXT,                    -- the worker holding it while in progress
  parent_id TEXT REFERENCES tasks(id), -- the epic (or story) it belongs to
  created_at INTEGER NOT NULL,         -- milliseconds since the Unix epoch, as every time here
  updated_at INTEGER NOT NULL,
  started_at INTEGER,
  completed_at INTEGER,
  estimated_complexity INTEGER CHECK (estimated_complexity BETWEEN 1 AND 10),
  actual_duration_seconds INTEGER,
  run TEXT,                            -- the command the built-in shell agent runs
  agent TEXT,                          -- the agent profile; the configured default when NULL
  priority INTEGER NOT NULL DEFAULT 0, -- longest chain of tasks waiting on this one
  block_reason TEXT,
  branch TEXT,                         -- vane/<id> once an attempt has started
  base_sha TEXT,                       -- the base tip the latest attempt started from
  head_sha TEXT,                       -- the agent's last commit on the task branch
  landed_sha TEXT,                     -- the commit that landed it on base
  metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata))
);
CREATE INDEX idx_tasks_status ON tasks(status);
CREATE INDEX idx_tasks_assigned ON tasks(assigned_to);
CREATE INDEX idx_tasks_parent ON tasks(parent_id, status);
CREATE INDEX idx_tasks_type ON tasks(type);
-- Scheduling order: priority, then complexity, then age (the rowid, which every index entry ends with).
CREATE INDEX idx_tasks_schedule ON tasks(status, priority DESC, estimated_complexity DESC);
-- Lets the ready set check a dependency's status and type from the index alone.
CREATE INDEX idx_tasks_state ON tasks(id, status, type);

CREATE TABLE task_dependencies (
  task_id TEXT NOT NULL REFERENCES tasks(id),
  depends_on_task_id TEXT NOT NULL REFERENCES tasks(id),
  dependency_type TEXT NOT NULL DEFAULT 'blocks' CHECK (dependency_type IN ('blocks', 'related', 'suggested')),
  PRIMARY KEY (task_id, depends_on_task_id),
  CHECK (task_id != depends_on_task_id)
) WITHOUT ROWID;
CREATE INDEX idx_dependencies_on ON task_dependencies(depends_on_task_id);

-- One row per run of an agent on a task.
CREATE TABLE attempts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  task_id TEXT NOT NULL REFERENCES tasks(id),
  number INTEGER NOT NULL,             -- 1 for the first attempt on the task
  worker TEXT,
  profile TEXT,
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  exit_code INTEGER,
  outcome TEXT,                        -- changed, unchanged, failed, timed_out, abandoned, ...
  base_sha TEXT,
  head_sha TEXT,
  session_id TEXT,
  cost_usd REAL,
  input_tokens INTEGER,
  output_tokens INTEGER,
  feedback TEXT,
  correlation_id TEXT,
  UNIQUE (task_id, number)
);

-- The event log: append-only, enforced below.
CREATE TABLE events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  timestamp INTEGER NOT NULL,
  event_type TEXT NOT NULL,
  task_id TEXT REFERENCES tasks(id),
  agent TEXT,                          -- who caused it: vane, a worker, a person
  data TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(data)),
  correlation_id TEXT
);
CREATE INDEX idx_events_timestamp ON events(timestamp);
CREATE INDEX idx_events_task ON events(task_id, id);
CREATE INDEX idx_events_correlation ON events(correlation_id);

CREATE TRIGGER events_are_append_only_update BEFORE UPDATE ON events
BEGIN
  SELECT RAISE(ABORT, 'the event log is append-only: events cannot be updated');
END;
CREATE TRIGGER events_are_append_only_delete BEFORE DELETE ON events
BEGIN
  SELECT RAISE(ABORT, 'the event log is append-only: events cannot be deleted');
END;

CREATE TABLE quality_metrics (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  timestamp INTEGER NOT NULL,
  task_id TEXT REFERENCES tasks(id),
  attempt_id INTEGER REFERENCES attempts(id),
  gate TEXT,
  dimension TEXT NOT NULL,
  score REAL NOT NULL CHECK (score >= 0.0 AND score <= 1.0),
  details TEXT CHECK (details IS NULL OR json_valid(details)),
  duration_ms INTEGER,
  log_path TEXT
);
CREATE INDEX idx_quality_task ON quality_metrics(task_id);
CREATE INDEX idx_quality_timestamp ON quality_metrics(timestamp);

CREATE TABLE checkpoints (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  timestamp INTEGER NOT NULL,
  session_id TEXT NOT NULL,            -- the batch that made it
  kind TEXT NOT NULL CHECK (kind IN ('batch_start', 'merge', 'pre_rollback', 'manual')),
  task_id TEXT REFERENCES tasks(id),
  git_sha TEXT NOT NULL,
  ref_name TEXT NOT NULL,              -- refs/vane/checkpoints/<id>
  state_snapshot TEXT NOT NULL CHECK (json_valid(state_snapshot)),
  notes TEXT
);

CREATE TABLE context_entries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  timestamp INTEGER NOT NULL,
  entry_type TEXT NOT NULL CHECK (entry_type IN ('decision', 'constraint', 'hypothesis', 'learning')),
  topic TEXT NOT NULL,
  content TEXT NOT NULL,
  related_tasks TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(related_tasks)),
  confidence REAL CHECK (confidence IS NULL OR (confidence >= 0.0 AND confidence <= 1.0)),
  metadata TEXT CHECK (metadata IS NULL OR json_valid(metadata))
);
CREATE INDEX idx_context_topic ON context_entries(topic);
