-- Faults: what vane needs to charge a task only for what its agent did, and to finish bringing a person's checkout along after a crash.

-- Whether an attempt counts toward max_attempts: 0 for one cut short by vane's own crash, an
-- interrupt, a broken environment or a broken gate.
ALTER TABLE attempts ADD COLUMN charged INTEGER NOT NULL DEFAULT 1 CHECK (charged IN (0, 1));

-- `vane task retry` gives a task a fresh budget: attempts numbered up to this one no longer count.
ALTER TABLE tasks ADD COLUMN budget_from INTEGER NOT NULL DEFAULT 0;

-- A person's checkout being brought from one commit to another, written before vane touches its
-- files and marked done after, so that a crash in between is finished by the next run.
CREATE TABLE checkout_moves (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  created_at INTEGER NOT NULL,
  finished_at INTEGER,
  workdir TEXT NOT NULL,
  old_sha TEXT NOT NULL,
  new_sha TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'intent' CHECK (state IN ('intent', 'done', 'abandoned'))
);
CREATE INDEX idx_checkout_moves_open ON checkout_moves(state) WHERE state = 'intent';

-- A verdict is taken from the cache only when vane sealed it: a keyed hash of its tree, gate,
-- score and outcome, with a key kept in vane's state directory (`verdict.key`), never in a
-- worktree. A row without a valid seal (one an agent wrote into the database) is never trusted.
ALTER TABLE quality_metrics ADD COLUMN seal TEXT;

-- A candidate that changes a protected path (vane.toml, a gate's script, `protected` in vane.toml)
-- waits in needs_review for a person: 'waiting' until `vane approve` or `vane reject`.
ALTER TABLE tasks ADD COLUMN approval TEXT CHECK (approval IS NULL OR approval IN ('waiting', 'approved'));
