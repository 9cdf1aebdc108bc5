-- Rollback without a restore: drop everything schema v2 created in the schema, keep the
-- legacy tables (the legacy migration only reads them) and the Guesty listings table.
-- The cube/earthdistance extensions stay in schema public: other schemas may use them.
--
--   PGOPTIONS='-c search_path=api_integrations,public' psql "$DB" -v ON_ERROR_STOP=1 \
--       --single-transaction -f sql/legacy/rollback_v2.sql
DROP VIEW IF EXISTS v_inspections_missing_items, v_reconcile_status, v_guesty_linked_properties, v_sync_status, v_region_stats,
    v_orphaned_tasks, v_orphaned_reservations, v_properties_without_photos;
DROP TABLE IF EXISTS task_requirement_photos, task_requirements, task_tags, property_tags,
    reservation_tags, task_tag_definitions, property_tag_definitions,
    reservation_tag_definitions, supplies, task_supplies, task_costs, task_photos,
    task_assignments, tasks, task_templates, task_subdepartments, reservation_guests,
    reservations, property_photos, properties, people, sync_runs, deletion_candidates,
    crawl_windows, load_rejects, legacy_loads, regions, schema_migrations, schema_repeatables;
DROP FUNCTION IF EXISTS properties_within_km(numeric, numeric, numeric), install_gis(),
    property_earth_point(numeric, numeric), bigint_or_null(text);
