"""Task requirements (inspection checklists): one `GET /task/{id}/requirements` per task.

The checklist is not nested in the task object: every task the run reads (incremental: the
tasks changed since the bookmark; a full-window run: all of them) costs one call. The calls
run on the task crawl's worker threads, right after the property's task list and under the
run's request budget, so a property's part carries its tasks' checklists when the main
thread writes it; the records then follow each task record like any nested child.

A requirement call that fails must neither kill the region nor let a target believe the
task's checklist is empty (a target replaces a task's requirements as a set). So:

- the task is written as usual, without requirement records, and *before* it a `crawls`
  record `{stream: task_requirements, scope: task:<id>, complete: false, reason}` says that
  its requirements were not read: a target keeps the ones it has;
- when the call may succeed later (retries ran out on 429/5xx/timeouts) the property goes
  into `retry_properties`, so the next run reads its tasks, and their checklists, again from
  the same day; a refusal (4xx: the task was deleted meanwhile, no permission) is not
  retried — the checklist is read again when the task next changes or at the next
  full-window run;
- after BREAKER_FAILURES failed calls in a row (no success in between) the endpoint is taken
  as unavailable: no more requirement calls this run, and one `crawls` record
  `{stream: task_requirements, scope: region, complete: false}` tells a target to keep
  every checklist of the region for the rest of the run.
"""

from __future__ import annotations

import threading
import typing as t
from dataclasses import dataclass, field
from datetime import date, datetime

import requests
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

from tap_breezeway import records
from tap_breezeway.auth import AuthUnavailableError, CredentialsRefusedError
from tap_breezeway.client import BreezewayStream, CrawlPart, RefusedCallError, failure_reason

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from tap_breezeway.client import SideStream
    from tap_breezeway.tap import TapBreezeway

#: Keys under which a task object carries what was read for it (never a Breezeway field).
REQUIREMENTS = "_breezeway_requirements"
REQUIREMENT_PHOTOS = "_breezeway_requirement_photos"
FAILURE = "_breezeway_requirements_failure"
#: The stream name requirement failures are reported under in `crawls`.
STREAM = "task_requirements"
#: Failed requirement calls in a row after which the run stops asking.
BREAKER_FAILURES = 10


class TaskRequirementsReader(BreezewayStream):
    """`GET /task/{id}/requirements`: a bare list. Not a stream of the catalog: the tasks
    stream asks it per task; its own requests are counted apart (`upstream_calls`)."""

    path = "/task/{id}/requirements"
    paginated = False

    def __init__(self, tap: TapBreezeway) -> None:
        super().__init__(tap, name=f"{STREAM}_calls",
                         schema={"type": "object", "properties": {}})

    def items_of(self, task_id: int) -> list[records.ApiObject]:
        context: Context = {"id": task_id}
        return list(self.request_records(context))


@dataclass
class RequirementFailure:
    """A task whose checklist was not read, why, and whether the next run should retry."""

    task_id: int
    property_id: t.Any
    reason: str
    retry: bool


@dataclass
class RequirementsCrawl:
    """The requirement calls of one tasks run: read per part, reported before its records."""

    reader: TaskRequirementsReader
    region_code: str
    window_end: datetime
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _failed_in_a_row: int = 0
    tripped: str | None = None
    _trip_reported: bool = False
    retry_days: dict[t.Any, date] = field(default_factory=dict)

    # -- on a worker thread, after the property's task list --------------------------------
    def read_for(self, part: CrawlPart) -> None:
        """Attach each task's checklist (or why there is none) to the task object."""
        for obj in part.objects:
            task_id = obj.get("id")
            if self.tripped or not isinstance(task_id, int):
                continue  # no id: the target rejects the task itself; tripped: see module
            try:
                items = self.reader.items_of(task_id)
            except (CredentialsRefusedError, AuthUnavailableError):
                raise  # the region's credentials, not this task: fail the run
            except (FatalAPIError, RetriableAPIError, requests.RequestException) as error:
                obj[FAILURE] = RequirementFailure(task_id, part.property_id,
                                                  failure_reason(error),
                                                  retry=not isinstance(error, RefusedCallError))
                self._count(failed=True)
                continue
            obj[REQUIREMENTS] = items
            obj[REQUIREMENT_PHOTOS] = records.requirement_photos(items)
            self._count(failed=False)

    def _count(self, *, failed: bool) -> None:
        with self._lock:
            self._failed_in_a_row = self._failed_in_a_row + 1 if failed else 0
            if self._failed_in_a_row >= BREAKER_FAILURES and not self.tripped:
                self.tripped = (f"{BREAKER_FAILURES} requirement calls in a row failed: no more "
                                "requirement calls in this run")

    # -- on the main thread, before the part's records ------------------------------------
    def report(self, part: CrawlPart, crawls: SideStream | None, logger: t.Any) -> None:
        """`crawls` records for what was not read, ahead of the tasks they concern."""
        if self.tripped and not self._trip_reported:
            self._trip_reported = True
            logger.error("task requirements in region '%s': %s", self.region_code, self.tripped)
            self._write(crawls, "region", None, part, self.tripped)
        for obj in part.objects:
            failure = obj.get(FAILURE)
            if not isinstance(failure, RequirementFailure):
                continue
            logger.warning("requirements of task %s (property %s) not read in region '%s' "
                           "(%s): %s", failure.task_id, failure.property_id, self.region_code,
                           failure.reason, "read again next run" if failure.retry
                           else "kept as they are until the task changes")
            self._write(crawls, f"task:{failure.task_id}", failure.property_id, part,
                        failure.reason)
            if failure.retry and part.window_start is not None:
                day = part.window_start.date()
                self.retry_days[part.property_id] = min(
                    day, self.retry_days.get(part.property_id, day))

    def _write(self, crawls: SideStream | None, scope: str, property_id: t.Any,
               part: CrawlPart, reason: str) -> None:
        if crawls is None:
            return  # nowhere to say it: a target must then not replace checklists at all
        crawls.write({
            "region_code": self.region_code,
            "stream": STREAM,
            "scope": scope,
            "property_id": property_id,
            "window_start": part.window_start.isoformat() if part.window_start else None,
            "window_end": self.window_end.isoformat(),
            "complete": False,
            "reason": reason,
            "records": 0,
        })
