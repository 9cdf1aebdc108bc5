"""v_inspections_missing_items (007): finished inspections whose checklist misses items."""

from __future__ import annotations

import json

DELETED = "2026-01-01T00:00:00+00:00"


def test_missing_answers_photos_and_checklists_are_listed(insert, migrated_db):
    prop = insert("properties", property_id=1, region_code="nashville")

    def task(task_id: int, department: str = "inspection", status: str = "finished",
             **extra) -> int:
        return insert("tasks", task_id=task_id, region_code="nashville", property_pk=prop,
                      home_id=1, type_department=department, status_code=status, **extra)

    def item(task_pk: int, position: int, *, response: str | None = "Good",
             kind: str = "condition", photo_required: bool = False) -> None:
        insert("task_requirements", task_pk=task_pk, position=position, response=response,
               type_requirement=kind, photo_required=photo_required,
               action=json.dumps(["Check"]), section_name="Kitchen")

    complete = task(1)
    item(complete, 0)
    item(complete, 1, kind="photo", response=None, photo_required=True)
    insert("task_requirement_photos", task_pk=complete, position=0, requirement_position=1,
           url="u")
    gaps = task(2)
    item(gaps, 0, response=" ")
    item(gaps, 1, photo_required=True)  # answered, but its required photo is missing
    insert("task_requirement_photos", task_pk=gaps, position=0, requirement_position=0, url="u")
    task(3)  # finished inspection without any requirement row
    open_task = task(4, status="in_progress")
    item(open_task, 0, response=None)
    housekeeping = task(5, department="housekeeping")
    item(housekeeping, 0, response=None)
    deleted = task(6, deleted_at=DELETED)
    item(deleted, 0, response=None)

    rows = migrated_db.query(
        "SELECT missing, task_id, position FROM v_inspections_missing_items ORDER BY 2, 3, 1")
    assert [tuple(row) for row in rows] == [
        ("no_response", 2, 0), ("required_photo", 2, 1), ("no_checklist", 3, None)]
