"""The anchor for the tap: a plain `requests` loop over the same pages, writing JSON lines.

It asks for exactly what the tap asks for (same endpoints, filters, page size) and writes one
line per API object and per nested child, so its record count must equal the tap's. No SDK,
no retries, no schema: what is left is HTTP, JSON decoding and writing — the floor of the
tap's per-record cost.
"""

from __future__ import annotations

import json
import math
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import requests

from bench.procs import run_measured

DATA_PREFIX = "/public/inventory/v1"
#: parent list -> its nested arrays (docs/streams.md: children come from these arrays).
NESTED = {
    "properties": ("photos", "tags"),
    "reservations": ("guests", "tags"),
    "tasks": ("assignments", "photos", "costs", "supplies", "task_tags"),
}
#: Reference lists, one call each (supplies are paginated): stream -> path.
REFERENCE_LISTS = {
    "task_templates": "/companies/templates",
    "task_subdepartments": "/companies/subdepartments",
    "task_tag_definitions": "/task/tags",
    "property_tag_definitions": "/property/tags",
    "reservation_tag_definitions": "/reservation/tags",
}


@dataclass
class LoopResult:
    records: Counter[str] = field(default_factory=Counter)
    calls: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.records.values())


class PlainLoop:
    """One region's full sync with nothing but `requests` and `json`."""

    def __init__(self, config: dict[str, Any], page_size: int, out: TextIO) -> None:
        self.config, self.page_size, self.out = config, page_size, out
        self.session = requests.Session()
        self.result = LoopResult()
        self.base = f"{config['api_url']}{DATA_PREFIX}"

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        params = {**params, "company_id": self.config["company_id"]}
        response = self.session.get(f"{self.base}{path}", params=params, timeout=60)
        response.raise_for_status()
        self.result.calls += 1
        return response.json()

    def _login(self) -> None:
        response = self.session.post(
            f"{self.config['api_url']}/public/auth/v1/",
            json={"client_id": self.config["client_id"],
                  "client_secret": self.config["client_secret"]},
            timeout=60,
        )
        response.raise_for_status()
        token = response.json().get("access_token")
        if not token:
            raise RuntimeError(f"simulator refused the bench credentials: {response.text[:200]}")
        self.session.headers["Authorization"] = f"JWT {token}"
        self.result.calls += 1

    def _pages(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        objects: list[dict[str, Any]] = []
        page, total_pages = 1, 1
        while page <= total_pages:
            body = self._get(path, {**params, "limit": self.page_size, "page": page})
            objects += body["results"]
            total_pages = body["total_pages"]
            page += 1
        return objects

    def _write(self, stream: str, objects: list[dict[str, Any]]) -> None:
        region = self.config["region_code"]
        for obj in objects:
            self.out.write(json.dumps({"stream": stream, "region_code": region, **obj}) + "\n")
            self.result.records[stream] += 1
            for array in NESTED.get(stream, ()):
                for position, child in enumerate(obj.get(array) or ()):
                    line = {"stream": f"{stream}.{array}", "parent_id": obj["id"],
                            "position": position, "region_code": region, **child}
                    self.out.write(json.dumps(line) + "\n")
                    self.result.records[f"{stream}.{array}"] += 1

    def run(self) -> LoopResult:
        self._login()
        asc = {"sort_by": "created_at", "sort_order": "asc"}
        start = self.config["start_date"]
        properties = self._pages("/property", asc)
        self._write("properties", properties)
        self._write("reservations", self._pages("/reservation", {**asc, "updated_at_ge": start}))
        first = (datetime.fromisoformat(start) - timedelta(days=1)).date()
        last = datetime.now(UTC).date() + timedelta(days=1)
        for prop in properties:
            tasks = self._pages("/task/", {"home_id": prop["id"], "updated_at": f"{first},{last}"})
            self._write("tasks", tasks)
            for task in tasks:
                self._write_requirements(task["id"])
        self._write("people", self._get("/people", {}))
        self._write("companies", self._get("/companies", {}))
        for stream, path in REFERENCE_LISTS.items():
            self._write(stream, self._get(path, {}))
        self._write("supplies", self._pages("/supplies", asc))
        return self.result

    def _write_requirements(self, task_id: int) -> None:
        """A task's checklist (one call per task, as the tap): a line per item and per
        photo URL."""
        region = self.config["region_code"]
        for position, item in enumerate(self._get(f"/task/{task_id}/requirements", {})):
            self.out.write(json.dumps({"stream": "task_requirements", "task_id": task_id,
                                       "position": position, "region_code": region,
                                       **item}) + "\n")
            self.result.records["task_requirements"] += 1
            for url in item.get("photos") or ():
                self.out.write(json.dumps({"stream": "task_requirement_photos",
                                           "task_id": task_id, "url": url}) + "\n")
                self.result.records["task_requirement_photos"] += 1


def run_plain_loop(config: dict[str, Any], page_size: int, out_path: Path,
                   work: Path) -> LoopResult:
    """One region in its own process, like the tap: start-up counts on both sides."""
    config_path = work / f"plain-{config['region_code']}.json"
    config_path.write_text(json.dumps(config))
    counts_path = out_path.with_suffix(".counts.json")
    measured = run_measured(
        [sys.executable, "-m", "bench.plain_loop", str(config_path), str(page_size),
         str(out_path), str(counts_path)],
        stderr_path=out_path.with_suffix(".log"), cwd=Path(__file__).resolve().parents[1],
    )
    counts = json.loads(counts_path.read_text())
    return LoopResult(Counter(counts["records"]), counts["calls"], measured.seconds,
                      measured.cpu_seconds)


def main(argv: list[str]) -> int:
    """`python -m bench.plain_loop CONFIG PAGE_SIZE OUT.jsonl COUNTS.json`"""
    config = json.loads(Path(argv[0]).read_text())
    with Path(argv[2]).open("w", encoding="utf-8") as out:
        result = PlainLoop(config, int(argv[1]), out).run()
    Path(argv[3]).write_text(json.dumps({"records": result.records, "calls": result.calls}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


def minimum_calls(page_size: int, properties: int, reservations: int,
                  tasks_per_property: list[int], people_and_companies: int = 2,
                  supplies: int = 0) -> int:
    """Fewest calls a full or incremental sync can make: one token call, every page of
    properties, reservations and supplies (at least one call even when empty), one task
    call per property called (the API requires `home_id`; more pages only when a property
    has more tasks than a page holds), one requirements call per task read, and one call
    each for the bare lists (people, companies, the five reference lists)."""
    def pages(count: int) -> int:
        return max(1, math.ceil(count / page_size))

    task_calls = sum(pages(count) for count in tasks_per_property)
    requirement_calls = sum(tasks_per_property)
    lists = people_and_companies + len(REFERENCE_LISTS) + pages(supplies)
    return 1 + pages(properties) + pages(reservations) + task_calls + requirement_calls + lists
