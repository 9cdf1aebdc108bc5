-- This run's rejects → load_rejects, keyed by the legacy row (stream legacy_<table>,
-- natural_key {"legacy_id": n}), so every rejected legacy row is exactly one open reject.
-- Seen again: attempts + 1 (the reason follows the row: a fixed newest copy turns the
-- copy loaded before into a duplicate). An open legacy reject this run did not produce is
-- resolved, never deleted: its row is now the copy loaded, or the pipeline owns its key
-- (the API row supersedes every legacy copy), or the row is gone from the legacy table.

INSERT INTO load_rejects (region_code, stream, natural_key, reason, record, run_id)
SELECT region_code, stream, jsonb_build_object('legacy_id', legacy_id), reason, record,
       current_setting('breezeway.legacy_run_id', true)
  FROM legacy_reject
ON CONFLICT (stream, natural_key) WHERE resolved_at IS NULL DO UPDATE
   SET reason = EXCLUDED.reason,
       record = EXCLUDED.record,
       region_code = EXCLUDED.region_code,
       run_id = EXCLUDED.run_id,
       attempts = load_rejects.attempts + 1,
       last_seen_at = now();

UPDATE load_rejects lr
   SET resolved_at = now()
 WHERE lr.resolved_at IS NULL
   AND lr.stream IN ('legacy_properties', 'legacy_property_photos', 'legacy_reservations',
                     'legacy_tasks')
   AND NOT EXISTS (SELECT 1 FROM legacy_reject r
                    WHERE r.stream = lr.stream
                      AND jsonb_build_object('legacy_id', r.legacy_id) = lr.natural_key);
