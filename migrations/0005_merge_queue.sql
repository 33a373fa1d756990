-- Merge queue v2: the paths tasks declare and attempts touched (conflict-aware scheduling), how a
-- task starts again after a conflict, and landings of several candidates in one move (batches).

-- The paths a task expects to touch, as a JSON array of globs (`vane task add --paths`, `paths:`
-- in a roadmap); NULL when none were declared.
ALTER TABLE tasks ADD COLUMN paths TEXT;

-- The paths an attempt changed, as a JSON array, learned when its branch is committed.
ALTER TABLE attempts ADD COLUMN touched TEXT;

-- 1 when the task's next attempt after a conflict starts from the new base instead of from the
-- merge with its conflict markers in place (`vane task retry --fresh`).
ALTER TABLE tasks ADD COLUMN fresh_start INTEGER NOT NULL DEFAULT 0 CHECK (fresh_start IN (0, 1));

-- The candidates a ref move lands, in order, as a JSON array of {task, attempt, sha}: a batch of
-- several lands with one compare-and-swap. NULL for a move of one task (task_id, attempt_id).
ALTER TABLE ref_moves ADD COLUMN members TEXT;
