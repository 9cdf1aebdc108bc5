-- 009: regions as data. Migration 001 seeds the eight regions of the operator this project
-- started with; a user who runs only some of them must not be told by `breezeway-status
-- --check` that the others "never synced". A region is active once it has run (its first
-- run activates it), and retiring one is explicit and sticks (docs/operations.md).

ALTER TABLE regions ADD COLUMN retired_at TIMESTAMPTZ;
COMMENT ON COLUMN regions.is_active IS
    'The region is synced and judged by breezeway-status --check: set by its first run, '
    'cleared by breezeway-db region retire (which also sets retired_at).';
COMMENT ON COLUMN regions.retired_at IS
    'When the region was retired (breezeway-db region retire): its runs no longer activate it.';

-- Seeded regions that never ran are not active until they do.
UPDATE regions g SET is_active = false, updated_at = now()
 WHERE NOT EXISTS (SELECT 1 FROM sync_runs s WHERE s.region_code = g.region_code)
   AND NOT EXISTS (SELECT 1 FROM properties p WHERE p.region_code = g.region_code);
