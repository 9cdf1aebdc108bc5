"""The task list: home_id required, finished tasks hidden without a date range, ranges."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import ApiClient

FINISHED = {"finished", "closed", "approved"}
WIDE = "2000-01-01,2100-01-01"


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    value = datetime.fromisoformat(text)
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).date()


def _busiest_home(client: ApiClient) -> int:
    tasks = client.simulator.data("nashville").tasks
    homes = [t["home_id"] for t in tasks]
    return max(set(homes), key=homes.count)


def _ids(client: ApiClient, **params: Any) -> set[int]:
    return {t["id"] for t in client.all_pages("/task/", limit=250, **params)}


def test_home_id_or_reference_property_id_is_required(nashville: ApiClient) -> None:
    answer = nashville.get("/task/")
    assert answer.status_code == 400
    assert answer.json() == {"error": "home_id or reference_property_id is required"}
    assert nashville.get("/task/", home_id="x").status_code == 400


def test_without_date_filter_finished_tasks_are_omitted(nashville: ApiClient) -> None:
    home = _busiest_home(nashville)
    tasks = [t for t in nashville.simulator.data("nashville").tasks if t["home_id"] == home]
    open_ids = {t["id"] for t in tasks if t["type_task_status"]["code"] not in FINISHED}
    assert _ids(nashville, home_id=home) == open_ids
    assert len(open_ids) < len(tasks), "most tasks are finished"
    assert _ids(nashville, home_id=home, updated_at=WIDE) == {t["id"] for t in tasks}


def test_most_generated_tasks_are_finished(nashville: ApiClient) -> None:
    tasks = nashville.simulator.data("nashville").tasks
    finished = [t for t in tasks if t["type_task_status"]["code"] in FINISHED]
    assert len(finished) > len(tasks) / 2


@pytest.mark.parametrize("field", ["updated_at", "created_at", "scheduled_date", "finished_at"])
def test_date_ranges_are_inclusive_days(nashville: ApiClient, field: str) -> None:
    home = _busiest_home(nashville)
    tasks = [t for t in nashville.simulator.data("nashville").tasks if t["home_id"] == home]
    days = sorted(d for t in tasks if (d := _day(t[field])) is not None)
    low, high = days[len(days) // 4], days[3 * len(days) // 4]
    expected = {t["id"] for t in tasks if (d := _day(t[field])) is not None and low <= d <= high}
    got = _ids(nashville, home_id=home, **{field: f"{low},{high}"})
    assert got == expected
    assert got and len(got) < len(tasks)


def test_reference_property_id_selects_the_property(nashville: ApiClient) -> None:
    data = nashville.simulator.data("nashville")
    prop = next(p for p in data.properties if p["reference_property_id"])
    expected = {t["id"] for t in data.tasks if t["home_id"] == prop["id"]}
    assert (
        _ids(nashville, reference_property_id=prop["reference_property_id"], updated_at=WIDE)
        == expected
    )


def test_type_department_filter(nashville: ApiClient) -> None:
    home = _busiest_home(nashville)
    tasks = nashville.all_pages(
        "/task/", home_id=home, updated_at=WIDE, type_department="housekeeping"
    )
    assert tasks and {t["type_department"] for t in tasks} == {"housekeeping"}


def test_malformed_ranges_are_400(nashville: ApiClient) -> None:
    home = _busiest_home(nashville)
    for value in (
        "2026-01-01",
        "2026-01-01,2026-13-01",
        "2026-02-01,2026-01-01",
        "a,b",
        "2026-01-01T00:00:00,2026-01-02",
    ):
        answer = nashville.get("/task/", home_id=home, updated_at=value)
        assert answer.status_code == 400, value
        assert answer.json()["error"] == "invalid updated_at"


def test_unknown_home_gives_an_empty_page(nashville: ApiClient) -> None:
    envelope = nashville.get_json("/task/", home_id=1)
    assert envelope["results"] == [] and envelope["total_results"] == 0
