"""Turning Breezeway API objects into stream records (contract: docs/streams.md).

Pure functions, no I/O: the streams call them, the tests call them directly. Values the tap
cannot interpret (an unparsable datetime, say) are passed through unchanged so the target
validates and quarantines the record with its reason, instead of the tap failing a whole
region's run or silently dropping a field. What cannot be passed on at all (an array item
that is not an object) is skipped with a warning naming stream, key and field: log lines
carry ids and field names, never a value (door codes and guest contacts are in the data).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

ApiObject = dict[str, Any]
Record = dict[str, Any]

logger = logging.getLogger(__name__)


# -- values -------------------------------------------------------------------------------
def utc_datetime(value: Any) -> Any:
    """An API datetime as ISO 8601 in UTC with `+00:00` (naive API values mean UTC).

    One textual form for every datetime also keeps bookmarks comparable as strings.
    """
    if value == "":
        return None
    if not isinstance(value, str):
        return value
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if _is_plain_utc_form(value):
        # Already the output form but for a naive value's offset: converting through
        # `isoformat` would cost ~10x the parse and yield the same characters.
        return value if len(value) == _PLAIN_UTC_LEN else value + "+00:00"
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC).isoformat()
    try:
        return moment.astimezone(UTC).isoformat()
    except OverflowError:
        return value  # e.g. 0001-01-01T00:00+01:00: before year 1 in UTC, the target judges


def is_utc_datetime(value: Any) -> bool:
    """Whether a record value is a datetime in the tap's output form (UTC, `+00:00`).

    Only such values may move a bookmark: a raw value passed on (`9999-12-31T23:00-05:00`,
    a number, text) is not comparable with one and would stall or crash the next run.
    """
    if not isinstance(value, str) or not value.endswith("+00:00"):
        return False
    try:
        return datetime.fromisoformat(value).isoformat() == value
    except ValueError:
        return False


_PLAIN_LEN = len("2024-01-31T10:00:00")
_PLAIN_UTC_LEN = len("2024-01-31T10:00:00+00:00")


def _is_plain_utc_form(value: str) -> bool:
    """Whether a value `fromisoformat` accepted is 'YYYY-MM-DDTHH:MM:SS', naive or '+00:00'.

    These are the two forms the API sends. The separators pin the layout (a week date
    such as '2024-W01-1T10:00:00' has a 'W' where '-' must be; fractions and other
    offsets change the length), and ASCII rules out other digits the parser accepts.
    """
    size = len(value)
    return (
        (size == _PLAIN_LEN or (size == _PLAIN_UTC_LEN and value.endswith("+00:00")))
        and value[4] == "-" and value[7] == "-" and value[10] == "T"
        and value[13] == ":" and value[16] == ":" and value.isascii()
    )


# -- ids -----------------------------------------------------------------------------------
def id_key(value: Any) -> int | str | None:
    """The key an id is de-duplicated under, or None: that id is never a duplicate.

    Breezeway ids are integers (a few are strings). Anything else (an object, a list, a
    float, a bool, null) is passed on as it is for the target to judge; comparing such
    values could crash (unhashable) or merge different ones (`True == 1 == 1.0`).
    """
    return value if type(value) is int or type(value) is str else None


def is_numeric_id(value: Any) -> bool:
    """An id the API takes back as a number (`home_id=`): an int, or a string of digits."""
    return type(value) is int or (type(value) is str and value.isascii() and value.isdecimal())


_ID_TEXT_MAX = 40


def describe_id(value: Any) -> str:
    """An id as log text: ints and strings (keys, bounded), otherwise only the type."""
    if type(value) is int:
        text = str(value) if value.bit_length() < 128 else f"<int of {len(str(value))} digits>"
    elif type(value) is str:
        text = repr(value[:_ID_TEXT_MAX]) + ("..." if len(value) > _ID_TEXT_MAX else "")
    elif value is None:
        text = "None"
    else:
        text = f"<{type(value).__name__}>"
    return text


#: Fields that identify a record of some stream (parents' ids, children's keys).
KEY_FIELDS = ("id", "property_id", "reservation_id", "task_id", "photo_id", "assignment_id",
              "cost_id", "usage_id", "position")


def describe_keys(record: Record) -> str:
    """`task_id=5 photo_id=7`: the keys a log line may show for a record, never its values."""
    keys = [f"{name}={describe_id(record[name])}" for name in KEY_FIELDS if name in record]
    return " ".join(keys) or "(no key)"


def kind_of(value: Any) -> str:
    """`a str`, `an int`: the JSON-ish type of a value, for log lines that must not show it."""
    name = "null" if value is None else type(value).__name__
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


def _part(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else None


def name_of(value: Any) -> Any:
    """A string field that is sometimes an `{id, name}` object upstream: keep the name."""
    return value.get("name") if isinstance(value, dict) else value


def code_of(value: Any) -> Any:
    """A string field that is sometimes a `{code, name}` object upstream: keep the code."""
    return (value.get("code") or value.get("name")) if isinstance(value, dict) else value


def note_of(value: Any) -> Any:
    """`summary` is a string in some accounts and an object with `note` in others."""
    return value.get("note") if isinstance(value, dict) else value


def _copy(obj: ApiObject, names: Iterable[str]) -> Record:
    return {name: obj.get(name) for name in names}


def _datetimes(obj: ApiObject, names: Iterable[str]) -> Record:
    return {name: utc_datetime(obj.get(name)) for name in names}


def _flat(obj: ApiObject, key: str, prefix: str, parts: tuple[str, ...]) -> Record:
    nested = obj.get(key)
    return {f"{prefix}_{part}": _part(nested, part) for part in parts}


# -- parents ------------------------------------------------------------------------------
PROPERTY_FIELDS = (
    "id", "company_id", "name", "status", "display", "address1", "address2", "building",
    "city", "state", "zipcode", "country", "latitude", "longitude", "notes", "groups",
    "wifi_name", "wifi_password", "reference_company_id", "reference_external_property_id",
    "reference_property_id", "bedrooms", "bathrooms", "living_area", "year_built",
)


def property_record(obj: ApiObject) -> Record:
    return _copy(obj, PROPERTY_FIELDS)


RESERVATION_FIELDS = (
    "id", "property_id", "reference_property_id", "reference_external_property_id",
    "reference_reservation_id", "status", "access_code", "guide_url", "note", "checkin_date",
    "checkin_time", "checkin_early", "checkout_date", "checkout_time", "checkout_late",
    "adults", "children", "pets", "source", "tags", "flags",
)


def reservation_record(obj: ApiObject) -> Record:
    record = _copy(obj, RESERVATION_FIELDS)
    for kind in ("type_guest", "type_stay", "type_reservation"):
        record.update(_flat(obj, kind, kind, ("code", "name")))
    record.update(_datetimes(obj, ("created_at", "updated_at")))
    return record


TASK_FIELDS = (
    "id", "home_id", "reference_property_id", "name", "description", "type_department",
    "scheduled_date", "scheduled_time", "template_id", "paused", "report_url", "rate_type",
    "rate_paid", "bill_to", "total_cost", "estimated_rate", "total_time", "estimated_time",
    "billable", "itemized_cost", "task_series_id", "parent_task_id", "checkin_date",
    "checkout_date", "tags", "task_tags",
)


def task_record(obj: ApiObject) -> Record:
    record = _copy(obj, TASK_FIELDS)
    record["type_priority"] = code_of(obj.get("type_priority"))
    record.update(_flat(obj, "type_task_status", "status", ("code", "name", "stage")))
    record["template_name"] = _part(obj.get("template"), "name")
    for kind in ("subdepartment", "created_by", "finished_by"):
        record.update(_flat(obj, kind, kind, ("id", "name")))
    record.update(_datetimes(obj, ("created_at", "updated_at", "started_at", "finished_at")))
    record["requested_by"] = name_of(obj.get("requested_by"))
    record["summary"] = note_of(obj.get("summary"))
    linked = obj.get("linked_reservation")
    record["linked_reservation_id"] = _part(linked, "id")
    record["linked_reservation_external_id"] = _part(linked, "external_reservation_id")
    return record


PERSON_FIELDS = (
    "id", "name", "first_name", "last_name", "active", "employee_code", "emails",
    "type_departments", "groups",
)


def person_record(obj: ApiObject) -> Record:
    record = _copy(obj, PERSON_FIELDS)
    record["type_role"] = code_of(obj.get("type_role"))
    if record["name"] is None:
        parts = [p for p in (obj.get("first_name"), obj.get("last_name")) if isinstance(p, str)]
        record["name"] = " ".join(p for p in parts if p) or None
    return record


def company_record(obj: ApiObject) -> Record:
    return _copy(obj, ("id", "name", "reference_company_id"))


# -- children -----------------------------------------------------------------------------
ChildBuilder = Callable[[ApiObject], Record]


def child_records(
    parent: ApiObject,
    *,
    stream: str,
    array: str,
    parent_key: str,
    child_key: str | None,
    build: ChildBuilder,
) -> list[Record]:
    """The records of one nested array, each with its parent id and 0-based position.

    Dedup rule: an item whose id already appeared earlier in the same array (the API does
    repeat photos) is dropped with a warning; the first occurrence keeps its original
    position, so positions always index the upstream array. Guests have no id
    (`child_key=None`): they are keyed by position and never deduplicated. Only int and
    string ids are compared (`id_key`); other ids are passed on for the target to judge.

    An item that is not an object has no fields to emit: it is skipped with a warning
    (stream, parent id, position, type), and so is an array that is not a list.
    """
    items = parent.get(array)
    if items is None:
        return []
    parent_id = parent.get("id")
    if not isinstance(items, list):
        logger.warning(
            "%s: `%s` of %s=%s is %s, not a list; no records read from it",
            stream, array, parent_key, describe_id(parent_id), kind_of(items),
        )
        return []
    records: list[Record] = []
    seen: set[int | str] = set()
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            logger.warning(
                "%s: skipping item at position %d of `%s` of %s=%s: %s, not an object",
                stream, position, array, parent_key, describe_id(parent_id), kind_of(item),
            )
            continue
        record = build(item)
        if child_key is not None:
            key = id_key(record[child_key])
            if key is not None and key in seen:
                logger.warning(
                    "%s: dropping duplicate item %s=%s of %s=%s (position %d)",
                    stream, child_key, describe_id(key), parent_key, describe_id(parent_id),
                    position,
                )
                continue
            if key is not None:
                seen.add(key)
        record[parent_key] = parent_id
        record["position"] = position
        records.append(record)
    return records


def property_photo(item: ApiObject) -> Record:
    return {
        "photo_id": item.get("id"),
        "url": item.get("url"),
        "original_url": item.get("original_url"),
        "caption": item.get("caption"),
        "is_default": item.get("default"),
    }


def reservation_guest(item: ApiObject) -> Record:
    return _copy(item, ("first_name", "last_name", "emails", "phone_numbers"))


def task_assignment(item: ApiObject) -> Record:
    return {
        "assignment_id": item.get("id"),
        "assignee_id": item.get("assignee_id"),
        "assignee_name": item.get("name"),
        "employee_code": item.get("employee_code"),
        "expires_at": utc_datetime(item.get("expires_at")),
        "type_task_user_status": code_of(item.get("type_task_user_status")),
    }


def task_photo(item: ApiObject) -> Record:
    return {"photo_id": item.get("id"), "url": item.get("url")}


def task_cost(item: ApiObject) -> Record:
    record = {
        "cost_id": item.get("id"),
        "cost": item.get("cost"),
        "description": item.get("description"),
        "bill_to": item.get("bill_to"),
    }
    record.update(_flat(item, "type_cost", "type_cost", ("id", "code", "name")))
    record.update(_datetimes(item, ("created_at", "updated_at")))
    return record


SUPPLY_FIELDS = (
    "supply_id", "name", "description", "size", "quantity", "unit_cost", "total_price",
    "bill_to", "billable", "markup_pricing_type", "markup_rate",
)


def task_supply(item: ApiObject) -> Record:
    record = _copy(item, SUPPLY_FIELDS)
    record["usage_id"] = item.get("id")
    return record


# -- coverage (issue 18): requirements, tags, reference lists ------------------------------
def _as_text(value: Any) -> Any:
    """A free-form answer as text: strings as they are, numbers and booleans as JSON."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


def _as_list_of_text(value: Any) -> Any:
    """`action` is a string or a list of strings upstream: always a list here."""
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return value  # a list, or something else the target validates


def task_requirement(item: ApiObject) -> Record:
    """One checklist item. Items carry no id upstream (keyed by position); the type lives in
    `type_requirement` (a client reading `type` got only NULLs)."""
    return {
        "section_name": item.get("section_name"),
        "action": _as_list_of_text(item.get("action")),
        "response": _as_text(item.get("response")),
        "type_requirement": item.get("type_requirement"),
        "photo_required": item.get("photo_required"),
        "note": item.get("note"),
        "home_element_name": item.get("home_element_name"),
    }


def requirement_photos(requirements: Iterable[Any]) -> list[ApiObject]:
    """The photos of a task's requirements, flattened in order: `{requirement_position, url}`
    (upstream they are bare URLs inside each requirement)."""
    photos: list[ApiObject] = []
    for position, item in enumerate(requirements):
        urls = item.get("photos") if isinstance(item, dict) else None
        for url in urls if isinstance(urls, list) else ():
            photos.append({"requirement_position": position, "url": url})
    return photos


def requirement_photo(item: ApiObject) -> Record:
    return {"requirement_position": item.get("requirement_position"), "url": item.get("url")}


def tag_link(item: Any) -> Record:
    """A tag of an object's inline array: `{id, name, ...}` (a bare string has no id)."""
    if isinstance(item, dict):
        return {"tag_id": item.get("id"), "name": item.get("name")}
    return {"tag_id": None, "name": item}


def tag_definition(obj: ApiObject) -> Record:
    return _copy(obj, ("id", "name", "company_id"))


def task_template(obj: ApiObject) -> Record:
    return _copy(obj, ("id", "template_name", "department_code"))


def task_subdepartment(obj: ApiObject) -> Record:
    return _copy(obj, ("id", "name"))


SUPPLY_LIST_FIELDS = (
    "id", "company_id", "name", "description", "size", "internal_id", "unit_cost",
    "stock_count", "low_stock_alert", "low_stock_count", "supply_category_id",
)


def supply_record(obj: ApiObject) -> Record:
    record = _copy(obj, SUPPLY_LIST_FIELDS)
    record.update(_flat(obj, "type_stock_status", "stock_status", ("code", "name")))
    record.update(_datetimes(obj, ("created_at", "updated_at")))
    return record
