-- The cost ledger and budgets: where each figure of an attempt's cost came from, the model it ran,
-- the cached share of its input, what planners spent outside attempts, and a batch's budget.

-- Input tokens read from the model's cache (a part of input_tokens, priced lower).
ALTER TABLE attempts ADD COLUMN cached_input_tokens INTEGER;
-- The model the agent said it used, or the profile's `model`; NULL when neither is known.
ALTER TABLE attempts ADD COLUMN model TEXT;
-- Where cost_usd came from: 'agent' (the agent reported it, as Claude Code's total_cost_usd),
-- 'prices' (tokens times vane's price table or vane.toml's [prices]); NULL when no cost is known.
ALTER TABLE attempts ADD COLUMN cost_source TEXT CHECK (cost_source IS NULL OR cost_source IN ('agent', 'prices'));

-- The batch's budget in USD (`[budget] batch_usd`, `vane work --budget`); NULL for none.
ALTER TABLE batches ADD COLUMN budget_usd REAL CHECK (budget_usd IS NULL OR budget_usd >= 0);

-- Spending that is not an attempt: a planner's run for `vane plan` or the roadmap's extension.
CREATE TABLE costs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('plan', 'extension')),
  batch_id INTEGER REFERENCES batches(id),  -- the batch it was spent in; NULL for `vane plan`
  task_id TEXT REFERENCES tasks(id),        -- the epic planned
  profile TEXT,
  model TEXT,
  input_tokens INTEGER,
  cached_input_tokens INTEGER,
  output_tokens INTEGER,
  cost_usd REAL,
  cost_source TEXT CHECK (cost_source IS NULL OR cost_source IN ('agent', 'prices')),
  correlation_id TEXT
);
CREATE INDEX idx_costs_batch ON costs(batch_id);
CREATE INDEX idx_attempts_batch ON attempts(batch_id);

-- The whole ledger, one row per spending: every attempt and every planner run.
CREATE VIEW cost_ledger AS
  SELECT 'attempt' AS kind, started_at AS at, batch_id, task_id, id AS attempt_id, profile, model,
         input_tokens, cached_input_tokens, output_tokens, cost_usd, cost_source, correlation_id
  FROM attempts
  UNION ALL
  SELECT kind, at, batch_id, task_id, NULL, profile, model,
         input_tokens, cached_input_tokens, output_tokens, cost_usd, cost_source, correlation_id
  FROM costs;
