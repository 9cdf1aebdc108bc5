-- Legacy tasks → tasks, with the outcomes of 020_properties.sql. A task whose home
-- (property) is not loaded is an orphan. An unknown linked reservation is not an error: the
-- task loads with reservation_pk NULL (v_orphaned_tasks lists it as reservation_unknown)
-- and the pipeline links it when the reservation arrives.

CREATE TEMP TABLE legacy_task ON COMMIT DROP AS
SELECT v.*,
       p.id AS property_pk,
       CASE WHEN NOT EXISTS (SELECT 1 FROM regions r WHERE r.region_code = v.region_code)
            THEN format('orphan: region_code %L is not a known region', v.region_code)
            WHEN v.problem IS NOT NULL THEN v.problem
            WHEN p.id IS NULL
            THEN pg_temp.orphan_of_property('home (property)', v.home_id, v.region_code)
       END AS reason,
       NULL::text AS outcome,
       NULL::bigint AS task_pk
  FROM legacy_task_values v
  LEFT JOIN properties p ON p.property_id = v.home_id AND p.region_code = v.region_code;

CREATE UNIQUE INDEX ON legacy_task (legacy_id);
CREATE INDEX ON legacy_task (task_id, region_code);
ANALYZE legacy_task;

UPDATE legacy_task lt SET outcome = 'pipeline'
  FROM legacy_v2_tasks t
 WHERE t.task_id = lt.task_id AND t.region_code = lt.region_code
   AND t.owner_legacy_id IS NULL;

UPDATE legacy_task lt SET outcome = 'loaded'
  FROM (SELECT DISTINCT ON (task_id, region_code) legacy_id
          FROM legacy_task
         WHERE reason IS NULL AND outcome IS NULL
         ORDER BY task_id, region_code, legacy_id DESC) w
 WHERE lt.legacy_id = w.legacy_id;

UPDATE legacy_task lt
   SET outcome = 'rejected',
       reason = coalesce(lt.reason, format(
           'duplicate: task %s in region %s: legacy row %s is the copy loaded (the highest '
           'legacy id among loadable copies)', lt.task_id, lt.region_code, w.legacy_id))
  FROM legacy_task w
 WHERE lt.outcome IS NULL
   AND w.outcome = 'loaded' AND w.task_id = lt.task_id AND w.region_code = lt.region_code;
UPDATE legacy_task SET outcome = 'rejected' WHERE outcome IS NULL;

INSERT INTO legacy_reject (stream, legacy_id, region_code, reason, record)
SELECT 'legacy_tasks', legacy_id, region_code, reason, record
  FROM legacy_task WHERE outcome = 'rejected';

WITH written AS (
    INSERT INTO tasks AS t (
        task_id, region_code, property_pk, home_id, reservation_pk, linked_reservation_id,
        name, description, status_code, type_department, type_priority, scheduled_date,
        source_created_at, finished_at, total_cost, synced_at)
    SELECT lt.task_id, lt.region_code, lt.property_pk, lt.home_id, r.id,
           lt.linked_reservation_id, lt.name, lt.description, lt.status_code,
           lt.type_department, lt.type_priority, lt.scheduled_date, lt.source_created_at,
           lt.finished_at, lt.total_cost, now()
      FROM legacy_task lt
      LEFT JOIN reservations r
        ON r.reservation_id = lt.linked_reservation_id AND r.region_code = lt.region_code
     WHERE lt.outcome = 'loaded'
    ON CONFLICT ON CONSTRAINT uq_tasks_natural_key DO UPDATE
       SET property_pk = EXCLUDED.property_pk, home_id = EXCLUDED.home_id,
           reservation_pk = EXCLUDED.reservation_pk,
           linked_reservation_id = EXCLUDED.linked_reservation_id,
           name = EXCLUDED.name, description = EXCLUDED.description,
           status_code = EXCLUDED.status_code, type_department = EXCLUDED.type_department,
           type_priority = EXCLUDED.type_priority, scheduled_date = EXCLUDED.scheduled_date,
           source_created_at = EXCLUDED.source_created_at,
           finished_at = EXCLUDED.finished_at, total_cost = EXCLUDED.total_cost,
           updated_at = CASE WHEN (t.property_pk, t.home_id, t.reservation_pk,
                                   t.linked_reservation_id, t.name, t.description,
                                   t.status_code, t.type_department, t.type_priority,
                                   t.scheduled_date, t.source_created_at, t.finished_at,
                                   t.total_cost)
                                  IS DISTINCT FROM
                                  (EXCLUDED.property_pk, EXCLUDED.home_id,
                                   EXCLUDED.reservation_pk, EXCLUDED.linked_reservation_id,
                                   EXCLUDED.name, EXCLUDED.description, EXCLUDED.status_code,
                                   EXCLUDED.type_department, EXCLUDED.type_priority,
                                   EXCLUDED.scheduled_date, EXCLUDED.source_created_at,
                                   EXCLUDED.finished_at, EXCLUDED.total_cost)
                             THEN now() ELSE t.updated_at END,
           synced_at = EXCLUDED.synced_at
     WHERE EXISTS (SELECT 1 FROM legacy_loads lo
                    WHERE lo.stream = 'tasks' AND lo.region_code = t.region_code
                      AND lo.natural_id = t.task_id AND lo.synced_at = t.synced_at)
    RETURNING t.id, t.task_id, t.region_code
)
UPDATE legacy_task lt SET task_pk = w.id
  FROM written w
 WHERE lt.outcome = 'loaded' AND w.task_id = lt.task_id AND w.region_code = lt.region_code;

INSERT INTO legacy_loads (stream, region_code, natural_id, legacy_id, run_id, synced_at)
SELECT 'tasks', region_code, task_id, legacy_id, current_setting('breezeway.legacy_run_id'),
       now()
  FROM legacy_task WHERE task_pk IS NOT NULL
ON CONFLICT (stream, region_code, natural_id) DO UPDATE
   SET legacy_id = EXCLUDED.legacy_id, run_id = EXCLUDED.run_id,
       synced_at = EXCLUDED.synced_at;
