-- 006: provenance of the parent rows the legacy migration wrote (docs/legacy-migration.md).
--
-- The legacy migration and the pipeline load the same tables. A parent row belongs to the
-- legacy migration while legacy_loads holds its key with the row's current synced_at: the
-- migration stamps both with the same value in one transaction, and every pipeline upsert
-- sets synced_at = now() of its own transaction, which takes the row over for good (the
-- API is newer than any legacy row). No column of the pipeline's tables is needed for it.
-- Children (photos, guests) belong to whoever owns their parent.

CREATE TABLE legacy_loads (
    stream       TEXT        NOT NULL CHECK (stream IN ('properties', 'reservations', 'tasks')),
    region_code  VARCHAR(32) NOT NULL,
    -- The Breezeway id: property_id, reservation_id or task_id.
    natural_id   BIGINT      NOT NULL,
    -- The legacy row (breezeaway_*_gw.id) whose values the v2 row holds.
    legacy_id    BIGINT      NOT NULL,
    run_id       TEXT        NOT NULL,
    -- The v2 row's synced_at as the migration wrote it.
    synced_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (stream, region_code, natural_id)
);
COMMENT ON TABLE legacy_loads IS
    'Rows written by breezeway-db migrate-legacy: a v2 parent row is legacy-owned while its '
    'synced_at equals legacy_loads.synced_at; otherwise the pipeline owns it.';
