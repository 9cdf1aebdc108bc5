-- Legacy tasks → tasks. A task whose home (property) is not loaded is an orphan and is
-- rejected with reason orphan. An unknown linked reservation is not an error: the task
-- loads with reservation_pk NULL (v_orphaned_tasks lists it as reservation_unknown).

CREATE TEMP TABLE legacy_task ON COMMIT DROP AS
SELECT l.id AS legacy_id,
       l.region_code,
       pg_temp.to_bigint(l.task_id) AS task_id,
       pg_temp.to_bigint(l.home_id) AS home_id,
       pg_temp.to_bigint(l.linked_reservation_id) AS linked_reservation_id,
       pg_temp.to_date(l.scheduled_date) AS scheduled_date,
       pg_temp.to_timestamptz(l.created_at) AS source_created_at,
       pg_temp.to_timestamptz(l.finished_at) AS finished_at,
       pg_temp.to_numeric(l.total_cost) AS total_cost,
       NULL::bigint AS property_pk,
       NULL::text AS reason,
       to_jsonb(l) AS record
  FROM breezeaway_tasks_gw l;

UPDATE legacy_task lt SET property_pk = p.id
  FROM properties p
 WHERE p.property_id = lt.home_id AND p.region_code = lt.region_code;

UPDATE legacy_task lt SET reason = CASE
    WHEN NOT EXISTS (SELECT 1 FROM regions r WHERE r.region_code = lt.region_code)
        THEN format('orphan: region_code %L is not a known region', lt.region_code)
    WHEN lt.task_id IS NULL
        THEN format('bad_value: task_id %L is not an integer id', lt.record ->> 'task_id')
    WHEN lt.home_id IS NULL
        THEN format('bad_value: home_id %L is not an integer id', lt.record ->> 'home_id')
    WHEN lt.property_pk IS NULL
        THEN pg_temp.orphan_of_property('home (property)', lt.home_id, lt.region_code)
    WHEN NOT pg_temp.absent(lt.record ->> 'linked_reservation_id')
         AND lt.linked_reservation_id IS NULL
        THEN format('bad_value: linked_reservation_id %L is not an integer id',
                    lt.record ->> 'linked_reservation_id')
    WHEN NOT pg_temp.absent(lt.record ->> 'scheduled_date') AND lt.scheduled_date IS NULL
        THEN format('bad_value: scheduled_date %L is not a date', lt.record ->> 'scheduled_date')
    WHEN NOT pg_temp.absent(lt.record ->> 'created_at') AND lt.source_created_at IS NULL
        THEN format('bad_value: created_at %L is not a timestamp', lt.record ->> 'created_at')
    WHEN NOT pg_temp.absent(lt.record ->> 'finished_at') AND lt.finished_at IS NULL
        THEN format('bad_value: finished_at %L is not a timestamp', lt.record ->> 'finished_at')
    WHEN NOT pg_temp.absent(lt.record ->> 'total_cost')
         AND (lt.total_cost IS NULL OR abs(lt.total_cost) >= 1e12)
        THEN format('bad_value: total_cost %L is not an amount', lt.record ->> 'total_cost')
END;

UPDATE legacy_task lt
   SET reason = format('duplicate: task %s in region %s is also legacy row %s, which is loaded',
                       lt.task_id, lt.region_code, d.kept)
  FROM (SELECT legacy_id,
               max(legacy_id) OVER (PARTITION BY task_id, region_code) AS kept
          FROM legacy_task WHERE reason IS NULL) d
 WHERE d.legacy_id = lt.legacy_id AND d.kept <> d.legacy_id;

INSERT INTO legacy_reject (stream, legacy_id, region_code, reason, record)
SELECT 'legacy_tasks', legacy_id, region_code, reason, record
  FROM legacy_task WHERE reason IS NOT NULL;

INSERT INTO tasks (
    task_id, region_code, property_pk, home_id, reservation_pk, linked_reservation_id,
    name, description, status_code, type_department, type_priority, scheduled_date,
    source_created_at, finished_at, total_cost)
SELECT lt.task_id, lt.region_code, lt.property_pk, lt.home_id, r.id,
       lt.linked_reservation_id, pg_temp.clean(l.task_name), pg_temp.clean(l.task_description),
       pg_temp.clean(l.task_status), pg_temp.clean(l.type_department),
       pg_temp.clean(l.type_priority), lt.scheduled_date, lt.source_created_at,
       lt.finished_at, lt.total_cost
  FROM legacy_task lt
  JOIN breezeaway_tasks_gw l ON l.id = lt.legacy_id
  LEFT JOIN reservations r
    ON r.reservation_id = lt.linked_reservation_id AND r.region_code = lt.region_code
 WHERE lt.reason IS NULL
ON CONFLICT ON CONSTRAINT uq_tasks_natural_key DO NOTHING;
