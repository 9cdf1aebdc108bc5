-- 005: the lifecycle of a reject, and skipped records in the run bookkeeping.
--
-- Open rejects are fed again at every run of their region, a page at a time, oldest first
-- (target setting refeed_batch_size). `attempts` counts the runs that tried a reject: the
-- first failure, then every run that fed it again. A reject tried reject_max_attempts times
-- is given up on: `dead_at` is set and it is not fed again. It stays open (resolved_at IS
-- NULL): breezeway-status shows it, and a fresh record with its key that loads still
-- resolves it. To try one again:
--   UPDATE load_rejects SET dead_at = NULL, attempts = 0 WHERE id = ...;

ALTER TABLE load_rejects ADD COLUMN dead_at TIMESTAMPTZ;
COMMENT ON COLUMN load_rejects.dead_at IS
    'Set when the reject was tried reject_max_attempts times: no longer fed again, still open.';
COMMENT ON COLUMN load_rejects.attempts IS
    'Runs that tried this record: the first failure, then each run that fed it again.';

-- The re-feed reads the live open rejects of one region and stream by id, page by page.
CREATE INDEX idx_load_rejects_refeed ON load_rejects (region_code, stream, id)
    WHERE resolved_at IS NULL AND dead_at IS NULL;

-- Records of a stream the schema has no table for (unknown_stream_policy skip) are counted
-- per run, region and stream: a skip is visible in breezeway-status, never silent.
ALTER TABLE sync_runs ADD COLUMN records_skipped BIGINT NOT NULL DEFAULT 0;
COMMENT ON COLUMN sync_runs.records_skipped IS
    'Records of a stream without a table, read and skipped (unknown_stream_policy skip).';
