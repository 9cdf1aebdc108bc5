"""Harness for tap tests: run the real tap in-process against the simulator over HTTP.

Expected answers are computed from `sim.data(region)` (what the API serves), applying the
tap's documented rules (nested-array dedup: first occurrence of a child id wins).
"""

from __future__ import annotations

import io
import json
import math
from collections import Counter, defaultdict
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from breezeway_sim import Simulator
from singer_sdk.contrib.msgspec import MsgSpecReader
from singer_sdk.singerlib.json import deserialize_json
from tap_breezeway.streams import STREAM_TYPES
from tap_breezeway.tap import TapBreezeway

#: (child stream, parent stream, array in the API object, child id key in the API item)
NESTED = (
    ("property_photos", "properties", "photos", "id"),
    ("reservation_guests", "reservations", "guests", None),
    ("task_assignments", "tasks", "assignments", "id"),
    ("task_photos", "tasks", "photos", "id"),
    ("task_costs", "tasks", "costs", "id"),
    ("task_supplies", "tasks", "supplies", "id"),
    ("property_tags", "properties", "tags", "id"),
    ("reservation_tags", "reservations", "tags", "id"),
    ("task_tags", "tasks", "task_tags", "id"),
)
#: Reference lists: stream -> attribute of RegionData holding what the API lists.
REFERENCE_LISTS = {
    "task_templates": "templates",
    "task_subdepartments": "subdepartments",
    "supplies": "supplies",
    "task_tag_definitions": "task_tags",
    "property_tag_definitions": "property_tags",
    "reservation_tag_definitions": "reservation_tags",
}
#: One call each per run (supplies are paginated: see minimum_calls).
REFERENCE_PATHS = ("/companies/templates", "/companies/subdepartments", "/task/tags",
                   "/property/tags", "/reservation/tags")
#: Streams that report their API calls in `upstream_calls` after a full run (task_requirements
#: through tasks).
USAGE_STREAMS = ("properties", "reservations", "tasks", "task_requirements", "people",
                 "companies", *REFERENCE_LISTS)
PARENT_KEY = {"properties": "property_id", "reservations": "reservation_id", "tasks": "task_id"}
DATA_PREFIX = "/public/inventory/v1"


@dataclass
class TapOutput:
    """Parsed Singer messages of one run."""

    messages: list[dict[str, Any]]
    records: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        for message in self.messages:
            if message["type"] == "RECORD":
                self.records[message["stream"]].append(message["record"])

    def of_type(self, kind: str, stream: str | None = None) -> list[dict[str, Any]]:
        return [m for m in self.messages
                if m["type"] == kind and (stream is None or m.get("stream") == stream)]

    @property
    def final_state(self) -> dict[str, Any]:
        return self.of_type("STATE")[-1]["value"]

    def counts(self) -> dict[str, int]:
        return {stream: len(rows) for stream, rows in self.records.items()}


def tap_config(sim: Simulator, region: str, **overrides: Any) -> dict[str, Any]:
    client_id, client_secret = sim.credentials(region)
    config: dict[str, Any] = {
        "client_id": client_id,
        "client_secret": client_secret,
        "region_code": region,
        "api_url": sim.base_url,
        "max_requests_per_second": 0,
        "backoff_factor_s": 0.01,
    }
    config.update(overrides)
    return config


#: Streams whose deselection saves one call per task: tests about something else (retries,
#: pacing, latency) leave them out to stay fast.
REQUIREMENT_STREAMS = ("task_requirements", "task_requirement_photos")


def catalog_without(config: dict[str, Any], streams: tuple[str, ...]) -> dict:
    """The tap's catalog with these streams deselected."""
    catalog = TapBreezeway(config=config).catalog_dict
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == [] and entry["tap_stream_id"] in streams:
                metadata["metadata"]["selected"] = False
    return catalog


def run_tap(
    sim: Simulator,
    region: str,
    *,
    state: dict | None = None,
    catalog: dict | None = None,
    without: tuple[str, ...] = (),
    **overrides: Any,
) -> TapOutput:
    """Run a full sync in this process; stdout (bytes, as the msgspec writer writes) parsed.
    `without`: streams to deselect."""
    lines = run_tap_lines(sim, region, state=state, catalog=catalog, without=without,
                          **overrides)
    return TapOutput([json.loads(line) for line in lines])


def run_tap_lines(
    sim: Simulator,
    region: str,
    *,
    state: dict | None = None,
    catalog: dict | None = None,
    without: tuple[str, ...] = (),
    **overrides: Any,
) -> list[bytes]:
    """Run a full sync in this process; the raw lines it wrote to stdout."""
    config = tap_config(sim, region, **overrides)
    if without:
        catalog = catalog_without(config, without)
    tap = TapBreezeway(config=config, state=state, catalog=catalog)
    buffer = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with redirect_stdout(buffer):
        tap.sync_all()
    buffer.flush()
    return [line for line in buffer.buffer.getvalue().split(b"\n") if line]


def deselect(catalog: dict, keep: set[str]) -> dict:
    """The catalog with only the streams in `keep` selected."""
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = entry["tap_stream_id"] in keep
    return catalog


def sdk_messages(lines: list[bytes]) -> TapOutput:
    """Each line parsed by both SDK readers (msgspec's and the default one), which agree.

    The messages returned hold floats as Python reads them (the readers make every
    fraction a Decimal); only numbers beyond float range stay Decimal.
    """
    reader = MsgSpecReader()
    messages = []
    for line in lines:
        text = line.decode("utf-8")  # strict: every line must be UTF-8
        assert reader.deserialize_json(text) == deserialize_json(text)
        messages.append(json.loads(text, parse_float=_float_or_decimal))
    return TapOutput(messages)


def _float_or_decimal(token: str) -> float | Decimal:
    value = float(token)
    return value if math.isfinite(value) else Decimal(token)


def queries_of(sim: Simulator, path_suffix: str) -> list[dict[str, str]]:
    """Query parameters of the logged data calls whose path ends with `path_suffix`."""
    return [query for _, path, query, _ in sim.requests_log if path.endswith(path_suffix)]


def ids_by_stream(output: TapOutput) -> dict[str, set[tuple]]:
    """Each stream's primary-key tuples, to compare two runs record for record."""
    keys = {stream_type.name: stream_type.primary_keys for stream_type in STREAM_TYPES}
    return {stream: {tuple(row[key] for key in keys[stream]) for row in rows}
            for stream, rows in output.records.items()
            if stream != "upstream_calls"}  # keyed by the run's start: new in every run


# -- expectations from the simulator's data ---------------------------------------------------
def unique_children(items: list[dict], id_key: str | None) -> list[dict]:
    """The tap's dedup rule: the first occurrence of a child id wins."""
    if id_key is None:
        return list(items)
    seen: set[Any] = set()
    kept = []
    for item in items:
        if item[id_key] not in seen:
            seen.add(item[id_key])
            kept.append(item)
    return kept


def expected_counts(sim: Simulator, region: str, tasks: list[dict] | None = None,
                    reservations: list[dict] | None = None, *,
                    full_window: bool | None = None,
                    without: tuple[str, ...] = ()) -> dict[str, int]:
    """Records per stream of a full first run (or of the given tasks/reservations).

    A full-window run (default: when neither tasks nor reservations are given, i.e. a
    first run) reports the region's reservations, one complete crawl per property's tasks and
    the end of the tasks crawl in stream `crawls`.
    """
    data = sim.data(region)
    parents = {
        "properties": data.properties,
        "reservations": data.reservations if reservations is None else reservations,
        "tasks": data.tasks if tasks is None else tasks,
    }
    counts = {name: len(objs) for name, objs in parents.items()}
    for child, parent, array, id_key in NESTED:
        counts[child] = sum(len(unique_children(obj.get(array) or [], id_key))
                            for obj in parents[parent])
    checklists = [sim.task_requirements(region, task["id"]) for task in parents["tasks"]]
    counts["task_requirements"] = sum(len(items) for items in checklists)
    counts["task_requirement_photos"] = sum(len(item["photos"]) for items in checklists
                                            for item in items)
    counts["people"] = len(data.people)
    counts["companies"] = len(data.companies)
    for stream, attribute in REFERENCE_LISTS.items():
        counts[stream] = len(getattr(data, attribute))
    no_requirements = set(REQUIREMENT_STREAMS) <= set(without)
    counts["upstream_calls"] = len(USAGE_STREAMS) - no_requirements
    if full_window is None:
        full_window = tasks is None and reservations is None
    # reservations' region, each property's tasks, then the tasks' region (crawl ended)
    counts["crawls"] = len(data.properties) + 2 if full_window else 0
    return {name: count for name, count in counts.items() if count and name not in without}


#: The tap's default `task_property_statuses`.
CALLED_STATUSES = ("active", "pending_delete")


def called_properties(sim: Simulator, region: str, *, full_window: bool = True) -> list[dict]:
    """The properties a run gives task calls: all on a full-window run, else those whose
    status is one of the default `task_property_statuses`."""
    properties = sim.data(region).properties
    if full_window:
        return list(properties)
    return [p for p in properties if p["status"] in CALLED_STATUSES]


def minimum_calls(sim: Simulator, region: str, page_size: int,
                  reservations: int | None = None, tasks: list[dict] | None = None,
                  without: tuple[str, ...] = ()) -> Counter[str]:
    """The fewest API calls a run can make: pages, one task list per property (on an
    incremental run, i.e. with `tasks` given, per called property), one requirements call
    per task read, one call per reference list, 1 token."""
    data = sim.data(region)
    res = len(data.reservations) if reservations is None else reservations
    homes = called_properties(sim, region, full_window=tasks is None)
    per_home = Counter(t["home_id"] for t in (data.tasks if tasks is None else tasks))
    task_pages = sum(max(1, math.ceil(per_home[p["id"]] / page_size)) for p in homes)
    calls = Counter({
        "POST /public/auth/v1/": 1,
        f"GET {DATA_PREFIX}/property": max(1, math.ceil(len(data.properties) / page_size)),
        f"GET {DATA_PREFIX}/reservation": max(1, math.ceil(res / page_size)),
        f"GET {DATA_PREFIX}/task/": task_pages,
        f"GET {DATA_PREFIX}/task/{{id}}/requirements": sum(per_home.values()),
        f"GET {DATA_PREFIX}/people": 1,
        f"GET {DATA_PREFIX}/companies": 1,
        f"GET {DATA_PREFIX}/supplies": max(1, math.ceil(len(data.supplies) / page_size)),
    })
    calls.update({f"GET {DATA_PREFIX}{path}": 1 for path in REFERENCE_PATHS})
    if set(REQUIREMENT_STREAMS) <= set(without):
        del calls[f"GET {DATA_PREFIX}/task/{{id}}/requirements"]
    return calls
