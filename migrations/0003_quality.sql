-- Quality gates with scores: each gate result keeps the candidate tree it scored and a key of the
-- gate's configuration, so that the same tree is never gated twice by the same gate; a result
-- taken from that cache points at the row it came from. Attempts keep their overall score and why
-- their agent was chosen (escalation).
ALTER TABLE quality_metrics ADD COLUMN tree TEXT;
ALTER TABLE quality_metrics ADD COLUMN gate_key TEXT;
ALTER TABLE quality_metrics ADD COLUMN passed INTEGER CHECK (passed IS NULL OR passed IN (0, 1));
ALTER TABLE quality_metrics ADD COLUMN cached_from INTEGER REFERENCES quality_metrics(id);
CREATE INDEX idx_quality_verdict ON quality_metrics(tree, gate_key);
CREATE INDEX idx_quality_dimension ON quality_metrics(dimension, timestamp);

ALTER TABLE attempts ADD COLUMN score REAL CHECK (score IS NULL OR (score >= 0.0 AND score <= 1.0));
ALTER TABLE attempts ADD COLUMN agent_reason TEXT;
