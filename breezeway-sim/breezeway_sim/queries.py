"""List semantics of the API: filters, sorting and page-number pagination.

Pure functions over `RegionData`; a bad parameter raises `ApiError` (400) with the parameter
named, as a client would need to see it. Rules follow our API notes §2, §5.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from breezeway_sim import timefmt
from breezeway_sim.data import FINISHED_TASK_CODES, ApiObject, RegionData

Query = dict[str, list[str]]

DEFAULT_LIMIT = 100
SORT_FIELDS = ("created_at", "updated_at", "id")
COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
RESERVATION_DATETIME_FIELDS = ("created_at", "updated_at")
RESERVATION_DATE_FIELDS = ("checkin_date", "checkout_date")
TASK_RANGE_FIELDS = ("updated_at", "created_at", "scheduled_date", "finished_at")


class ApiError(Exception):
    """An error answer: HTTP status plus the JSON body the API would send."""

    def __init__(
        self,
        status: int,
        error: str,
        description: str | None = None,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {error}: {description or ''}")
        self.status = status
        self.body = body if body is not None else {"error": error}
        if description is not None and body is None:
            self.body["description"] = description
        self.headers = headers or {}


def single(query: Query, name: str) -> str | None:
    """The last value of a parameter (as Django's QueryDict.get does), or None."""
    values = query.get(name)
    return values[-1] if values else None


def int_param(query: Query, name: str) -> int | None:
    raw = single(query, name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, f"invalid {name}", f"{name} must be an integer, got {raw!r}") from None


# -- sorting and pagination --
def sort_objects(
    data: RegionData, kind: str, items: list[ApiObject], query: Query
) -> list[ApiObject]:
    """Order by sort_by (created_at default) and sort_order (desc default), ties by id."""
    sort_by = single(query, "sort_by") or "created_at"
    sort_order = single(query, "sort_order") or "desc"
    if sort_by not in SORT_FIELDS:
        raise ApiError(400, "invalid sort_by", f"sort_by must be one of {', '.join(SORT_FIELDS)}")
    if sort_order not in ("asc", "desc"):
        raise ApiError(400, "invalid sort_order", "sort_order must be asc or desc")
    key: Callable[[ApiObject], tuple[Any, int]]
    if sort_by == "id":
        key = lambda obj: (obj["id"], obj["id"])  # noqa: E731
    elif sort_by == "created_at":
        key = lambda obj: (data.created_at(kind, obj), obj["id"])  # noqa: E731
    else:
        key = lambda obj: (data.updated_at(kind, obj), obj["id"])  # noqa: E731
    return sorted(items, key=key, reverse=sort_order == "desc")


def paginate(items: list[ApiObject], query: Query, max_page_size: int) -> dict[str, Any]:
    """The DRF-style envelope; a limit above the maximum is clamped and reported as such."""
    limit = int_param(query, "limit")
    limit = DEFAULT_LIMIT if limit is None else limit
    page = int_param(query, "page")
    page = 1 if page is None else page
    if limit < 1:
        raise ApiError(400, "invalid limit", "limit must be at least 1")
    if page < 1:
        raise ApiError(400, "invalid page", "page must be at least 1")
    limit = min(limit, max_page_size)
    start = (page - 1) * limit
    return {
        "limit": limit,
        "page": page,
        "total_pages": math.ceil(len(items) / limit),
        "total_results": len(items),
        "results": items[start : start + limit],
    }


# -- reservations --
def _parse_date(name: str, raw: str) -> date:
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise ApiError(
            400, f"invalid {name}", f"{name} must be a date YYYY-MM-DD, got {raw!r}"
        ) from None


def _parse_moment(name: str, raw: str) -> date | datetime:
    """A date (compared by day) or an ISO datetime (naive = UTC) for created/updated filters."""
    if len(raw) == 10:
        return _parse_date(name, raw)
    try:
        return timefmt.parse(raw)
    except ValueError:
        raise ApiError(
            400,
            f"invalid {name}",
            f"{name} must be an ISO datetime or date, got {raw!r} "
            "(a '+' in a query string must be sent as %2B)",
        ) from None


def _property_ids(query: Query) -> set[int] | None:
    if "property_id" not in query:
        return None
    ids: set[int] = set()
    for raw in query["property_id"]:
        for part in raw.split(","):
            try:
                ids.add(int(part))
            except ValueError:
                raise ApiError(
                    400, "invalid property_id", f"property_id must be integers, got {raw!r}"
                ) from None
    return ids


def filter_reservations(data: RegionData, query: Query, today: date) -> list[ApiObject]:
    """Apply the reservation filters; with no date filter, only checkout_date >= today."""
    tests: list[Callable[[ApiObject], bool]] = []
    for field in RESERVATION_DATE_FIELDS:
        for op_name, op in COMPARISONS.items():
            raw = single(query, f"{field}_{op_name}")
            if raw is not None:
                bound = _parse_date(f"{field}_{op_name}", raw)
                tests.append(lambda r, f=field, o=op, b=bound: o(date.fromisoformat(r[f]), b))
    for field in RESERVATION_DATETIME_FIELDS:
        for op_name, op in COMPARISONS.items():
            raw = single(query, f"{field}_{op_name}")
            if raw is not None:
                tests.append(_time_test(data, field, op, _parse_moment(f"{field}_{op_name}", raw)))
    if not tests:
        tests.append(lambda r: date.fromisoformat(r["checkout_date"]) >= today)
    wanted = _property_ids(query)
    if wanted is not None:
        tests.append(lambda r: r["property_id"] in wanted)
    return [r for r in data.reservations if all(test(r) for test in tests)]


def _time_test(
    data: RegionData, field: str, op: Callable[[Any, Any], bool], bound: date | datetime
) -> Callable[[ApiObject], bool]:
    read = data.created_at if field == "created_at" else data.updated_at
    if isinstance(bound, datetime):
        return lambda r: op(read("reservation", r), bound)
    return lambda r: op(read("reservation", r).date(), bound)


# -- tasks --
def _parse_range(name: str, raw: str) -> tuple[date, date]:
    parts = raw.split(",")
    if len(parts) != 2:
        raise ApiError(
            400, f"invalid {name}", f"{name} must be 'YYYY-MM-DD,YYYY-MM-DD', got {raw!r}"
        )
    start, end = (_parse_date(name, part.strip()) for part in parts)
    if start > end:
        raise ApiError(400, f"invalid {name}", f"{name} starts after it ends: {raw!r}")
    return start, end


def _task_day(task: ApiObject, field: str) -> date | None:
    value = task[field]
    if value is None:
        return None
    if field == "scheduled_date":
        return date.fromisoformat(value)
    return timefmt.parse(value).date()


def filter_tasks(data: RegionData, query: Query) -> list[ApiObject]:
    """Tasks of one property; without a date range, finished/closed/approved are left out."""
    home_id = int_param(query, "home_id")
    reference = single(query, "reference_property_id")
    if home_id is None and not reference:
        raise ApiError(400, "home_id or reference_property_id is required")
    candidates = _tasks_for_property(data, home_id, reference)
    ranges = {
        field: _parse_range(field, raw)
        for field in TASK_RANGE_FIELDS
        if (raw := single(query, field)) is not None
    }
    department = single(query, "type_department")
    return [task for task in candidates if _task_matches(task, ranges, department)]


def _task_matches(
    task: ApiObject, ranges: dict[str, tuple[date, date]], department: str | None
) -> bool:
    """Whether a task is in the list; without a date range the API omits finished tasks."""
    if department and task["type_department"] != department:
        return False
    if not ranges:
        return task["type_task_status"]["code"] not in FINISHED_TASK_CODES
    return all(_in_range(_task_day(task, f), lo, hi) for f, (lo, hi) in ranges.items())


def _in_range(day: date | None, low: date, high: date) -> bool:
    return day is not None and low <= day <= high


def _tasks_for_property(
    data: RegionData, home_id: int | None, reference: str | None
) -> Iterable[ApiObject]:
    if home_id is not None:
        tasks = data.tasks_of_home(home_id)
        return [t for t in tasks if not reference or t["reference_property_id"] == reference]
    homes = {p["id"] for p in data.properties if p["reference_property_id"] == reference}
    return [t for home in sorted(homes) for t in data.tasks_of_home(home)]
