-- The work loop: batches, the intent log of ref moves, and more on each attempt.

-- One row per `vane work` run.
CREATE TABLE batches (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  pid INTEGER NOT NULL,
  base_branch TEXT NOT NULL,
  outcome TEXT                         -- finished, interrupted; NULL while running or after a crash
);

-- Every move of a ref that matters (base, for a landing or a rollback) is written here before git is
-- asked to make it, and marked done after; on start, open intents are reconciled with git.
CREATE TABLE ref_moves (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  created_at INTEGER NOT NULL,
  finished_at INTEGER,
  refname TEXT NOT NULL,
  old_sha TEXT NOT NULL,
  new_sha TEXT NOT NULL,
  purpose TEXT NOT NULL CHECK (purpose IN ('land', 'rollback')),
  task_id TEXT REFERENCES tasks(id),
  attempt_id INTEGER REFERENCES attempts(id),
  checkpoint_id INTEGER REFERENCES checkpoints(id),
  state TEXT NOT NULL DEFAULT 'intent' CHECK (state IN ('intent', 'done', 'abandoned'))
);
CREATE INDEX idx_ref_moves_open ON ref_moves(state) WHERE state = 'intent';

ALTER TABLE attempts ADD COLUMN batch_id INTEGER REFERENCES batches(id);
ALTER TABLE attempts ADD COLUMN message TEXT;          -- the agent's final words, when it reports them
CREATE INDEX idx_attempts_task ON attempts(task_id, number);
CREATE INDEX idx_attempts_open ON attempts(finished_at) WHERE finished_at IS NULL;
