"""The streams of docs/streams.md: what each reads, its key, replication and schema."""

from __future__ import annotations

import typing as t
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta

import requests
from requests.adapters import HTTPAdapter
from singer_sdk import Stream
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from typing_extensions import override

from tap_breezeway import records, schemas
from tap_breezeway.auth import AuthUnavailableError, CredentialsRefusedError
from tap_breezeway.client import (
    BreezewayStream,
    CrawlPart,
    IncrementalStream,
    NestedChildStream,
    RefusedCallError,
    SideStream,
    failure_reason,
)
from tap_breezeway.requirements import (
    REQUIREMENT_PHOTOS,
    REQUIREMENTS,
    RequirementsCrawl,
    TaskRequirementsReader,
)

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from tap_breezeway.tap import TapBreezeway

# -- properties ----------------------------------------------------------------------------


class PropertiesStream(BreezewayStream):
    """All properties of the region, every run (the API has no updated-since filter)."""

    name = "properties"
    path = "/property"
    primary_keys = ("id",)
    replication_key = None
    schema = schemas.PROPERTIES
    record_builder = staticmethod(records.property_record)
    # Ascending creation order: properties created during the crawl land on the last
    # page instead of shifting every later page by one (the default order is `desc`).
    fixed_params = {"sort_by": "created_at", "sort_order": "asc"}

    def fetch_objects(self, context: Context | None) -> Iterator[records.ApiObject]:
        """The listing, noting each property's status and company on the way (the task
        crawl and the company-scoped lists need them, unchanged by any stream map)."""
        listed = self.breezeway_tap.listed_properties
        for obj in self.request_records(context):
            listed.note(obj)
            yield obj

    def finish_run(self, context: Context | None, ids: list[t.Any]) -> None:
        """A complete listing also gives the tasks stream its property ids (no second crawl)."""
        super().finish_run(context, ids)
        self.breezeway_tap.remember_property_ids(ids)


class PropertyPhotosStream(NestedChildStream):
    name = "property_photos"
    parent_stream_type = PropertiesStream
    primary_keys = ("property_id", "photo_id")
    schema = schemas.PROPERTY_PHOTOS
    array, parent_key, child_key = "photos", "property_id", "photo_id"
    item_builder = staticmethod(records.property_photo)


# -- reservations --------------------------------------------------------------------------


class ReservationsStream(IncrementalStream):
    """Reservations changed since the bookmark (`updated_at_ge`, always sent).

    Without a date filter the API returns only `checkout_date >= today`, which would hide
    all history; so the first run sends start_date and later runs the bookmark.
    """

    name = "reservations"
    path = "/reservation"
    primary_keys = ("id",)
    schema = schemas.RESERVATIONS
    record_builder = staticmethod(records.reservation_record)
    fixed_params = {"sort_by": "created_at", "sort_order": "asc"}

    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> dict[str, t.Any]:
        params = super().get_url_params(context, next_page_token)
        params["updated_at_ge"] = self.starting_moment(context).isoformat()
        return params


class ReservationGuestsStream(NestedChildStream):
    name = "reservation_guests"
    parent_stream_type = ReservationsStream
    primary_keys = ("reservation_id", "position")
    schema = schemas.RESERVATION_GUESTS
    array, parent_key, child_key = "guests", "reservation_id", None
    item_builder = staticmethod(records.reservation_guest)


# -- tasks ---------------------------------------------------------------------------------


class TasksStream(IncrementalStream):
    """Tasks per property (`home_id` is required), changed within a day range.

    The range runs from the bookmark's day minus one (day granularity, so the day of the
    bookmark is read again) or start_date, to tomorrow (UTC): a date filter is ALWAYS
    sent, because without one the API leaves out finished tasks, and "tomorrow" keeps
    tasks updated late today in time zones ahead of UTC.

    One call per property dominates a run against the real API (~150 ms each), so the
    calls run on `max_workers` threads under the run's rate budget, while the records are
    yielded in property order (deterministic output). The bookmark is one per region,
    not per property, so state does not grow with the number of properties.

    A property whose calls fail (some answer 422 upstream; or retries run out) is skipped,
    never the region: it is reported in `crawls` and kept in the state's
    `retry_properties` with the day its range must start from, so the next run reads its
    missed changes while the region's bookmark moves on. Only when more properties fail
    than `max_skipped_properties_ratio` allows (something systemic) does the run fail.
    """

    name = "tasks"
    path = "/task/"
    primary_keys = ("id",)
    schema = schemas.TASKS
    record_builder = staticmethod(records.task_record)

    _skipped: dict[int, date]

    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> dict[str, t.Any]:
        assert context is not None  # always called with a property's context
        params = super().get_url_params(context, next_page_token)
        params["home_id"] = context["home_id"]
        params["updated_at"] = context["updated_range"]
        return params

    def crawl_window_start(self, context: Context | None) -> datetime:
        return datetime.combine(self._first_day(context), time(0), tzinfo=UTC)

    def _first_day(self, context: Context | None) -> date:
        return (self.starting_moment(context) - timedelta(days=1)).date()

    def crawl_parts(self, context: Context | None) -> Iterator[CrawlPart]:
        first_day = self._first_day(context)
        last_day = datetime.now(UTC).date() + timedelta(days=1)
        retry_from = self._retry_days(context)
        home_ids = self.properties_to_call(context, retry_from)
        self._skipped = {}
        tolerated = max(2, int(float(self.config["max_skipped_properties_ratio"]) * len(home_ids)))
        workers = max(1, int(self.config["max_workers"]))
        self._size_connection_pool(workers)
        checklists = self.requirements_crawl()
        crawls = self.breezeway_tap.crawls_stream()

        def crawl(home_id: t.Any) -> CrawlPart:
            since = min(first_day, retry_from.get(home_id, first_day))
            part = self._crawl_property(context, home_id, since, last_day)
            if checklists is not None and part.failure is None:
                checklists.read_for(part)
            return part

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tasks") as pool:
            for part in _in_submission_order(pool, home_ids, crawl, window=workers * 2):
                if part.failure is not None:
                    self._skip(part, first_day, retry_from, tolerated, len(home_ids))
                elif checklists is not None:
                    checklists.report(part, crawls, self.logger)
                yield part

    # -- which properties get task calls (issue 18) ---------------------------------------
    _listed_count: int | None = None
    _called_count: int | None = None

    def properties_to_call(self, context: Context | None, retry_from: dict[t.Any, date]
                           ) -> list[t.Any]:
        """Every listed property on a full-window run; on an incremental run those whose
        status is in `task_property_statuses`, plus any a failed call left to read again.

        `/property` lists inactive units too (one region listed >5,000 for 524 active), and a
        task list per property is most of a run's calls. What an incremental run skips, the
        next full-window run reads; it never reports a skipped property as crawled.
        """
        listed = self.breezeway_tap.property_ids()
        chosen = listed
        wanted = {str(s).lower() for s in self.config.get("task_property_statuses") or ()}
        if wanted and "*" not in wanted and not self.reads_full_window(context):
            chosen = [home_id for home_id in listed
                      if home_id in retry_from or _status_wanted(
                          self.breezeway_tap.property_status(home_id), wanted)]
            self.logger.info(
                "tasks of region '%s': %d of %d listed properties get task calls (statuses "
                "%s; the next full-window run reads the other %d)", self.region_code,
                len(chosen), len(listed), ", ".join(sorted(wanted)), len(listed) - len(chosen))
        self._listed_count, self._called_count = len(listed), len(chosen)
        return chosen

    # -- requirements (issue 18) ---------------------------------------------------------
    _checklists: RequirementsCrawl | None = None

    def requirements_crawl(self) -> RequirementsCrawl | None:
        """The run's requirement calls, when task_requirements (or their photos) are selected."""
        wanted = [c for c in self.nested_children()
                  if c.name in (TaskRequirementsStream.name, TaskRequirementPhotosStream.name)]
        if not any(child.selected for child in wanted):
            return None
        self._checklists = RequirementsCrawl(TaskRequirementsReader(self.breezeway_tap),
                                             self.region_code, self._run_started())
        return self._checklists

    def report_upstream_calls(self, context: Context | None) -> None:
        """Task-list calls with the properties they covered; requirement calls apart."""
        tap, full_window = self.breezeway_tap, self.reads_full_window(context)
        tap.report_upstream_calls(self.name, self.api_calls.value, full_window=full_window,
                                  properties_listed=self._listed_count,
                                  properties_called=self._called_count)
        if self._checklists is not None:
            tap.report_upstream_calls(TaskRequirementsStream.name,
                                      self._checklists.reader.api_calls.value,
                                      full_window=full_window)

    def _crawl_property(
        self, context: Context | None, home_id: t.Any, since: date, until: date
    ) -> CrawlPart:
        part_context = {**(context or {}), "home_id": home_id, "updated_range": f"{since},{until}"}
        window_start = datetime.combine(since, time(0), tzinfo=UTC)
        scope = f"property:{home_id}"
        try:
            objects = list(self.request_records(part_context))
        except (CredentialsRefusedError, AuthUnavailableError):
            raise  # the region's credentials, not this property: fail the run
        except (FatalAPIError, RetriableAPIError, requests.RequestException) as error:
            return CrawlPart((), scope, home_id, failure_reason(error), window_start)
        return CrawlPart(objects, scope, home_id, None, window_start)

    def _skip(
        self, part: CrawlPart, first_day: date, retry_from: dict[t.Any, date], tolerated: int,
        total: int,
    ) -> None:
        home_id = part.property_id
        self._skipped[home_id] = min(first_day, retry_from.get(home_id, first_day))
        self.logger.warning(
            "tasks of property %s skipped in region '%s' (%s): read again next run",
            home_id, self.region_code, part.failure,
        )
        if len(self._skipped) > tolerated:
            raise FatalAPIError(
                f"Task calls failed for {len(self._skipped)} of {total} properties in region "
                f"'{self.region_code}' (more than {tolerated} tolerated; last: property "
                f"{home_id}, {part.failure}): something systemic, the run stops"
            )

    def _retry_days(self, context: Context | None) -> dict[t.Any, date]:
        """Properties skipped by earlier runs, with the day their range must start from."""
        saved = self.get_context_state(context).get(RETRY_PROPERTIES) or {}
        days: dict[t.Any, date] = {}
        for key, day in saved.items() if isinstance(saved, dict) else ():
            try:
                days[int(key)] = date.fromisoformat(str(day))
            except ValueError:
                self.logger.warning("ignoring unreadable retry_properties entry in state")
        return days

    def finish_run(self, context: Context | None, ids: list[t.Any]) -> None:
        """Keep the skipped properties (and their start day) for the next run, with those
        whose tasks' requirements could not be read."""
        super().finish_run(context, ids)
        state = self.get_context_state(context)
        retry = dict(self._skipped)
        for home_id, day in (self._checklists.retry_days if self._checklists else {}).items():
            retry[home_id] = min(day, retry.get(home_id, day))
        if retry:
            state[RETRY_PROPERTIES] = {str(k): v.isoformat() for k, v in retry.items()}
        else:
            state.pop(RETRY_PROPERTIES, None)

    def _size_connection_pool(self, workers: int) -> None:
        """requests keeps 10 connections per host; parallel workers need one each."""
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(10, workers))
        for prefix in ("http://", "https://"):
            self.requests_session.mount(prefix, adapter)


#: Key of the tasks state partition: property id -> first day its next read must cover.
RETRY_PROPERTIES = "retry_properties"


def _status_wanted(status: t.Any, wanted: set[str]) -> bool:
    """A property without a status is called (unknown is not inactive)."""
    return not isinstance(status, str) or status.lower() in wanted


def _in_submission_order(
    pool: ThreadPoolExecutor,
    keys: Iterable[t.Any],
    fetch: t.Callable[[t.Any], CrawlPart],
    *,
    window: int,
) -> Iterator[CrawlPart]:
    """`fetch(key)` for every key, results in key order, at most `window` in flight.

    The window bounds memory (a fetched property waits only for slower predecessors).
    On an error or an early stop the calls not yet started are cancelled.
    """
    pending: deque[Future[CrawlPart]] = deque()
    remaining = iter(keys)
    try:
        for key in remaining:
            pending.append(pool.submit(fetch, key))
            if len(pending) >= window:
                break
        while pending:
            result = pending.popleft().result()
            next_key = next(remaining, _DONE)
            if next_key is not _DONE:
                pending.append(pool.submit(fetch, next_key))
            yield result
    finally:
        for future in pending:
            future.cancel()


_DONE = object()


class TaskAssignmentsStream(NestedChildStream):
    name = "task_assignments"
    parent_stream_type = TasksStream
    primary_keys = ("task_id", "assignment_id")
    schema = schemas.TASK_ASSIGNMENTS
    array, parent_key, child_key = "assignments", "task_id", "assignment_id"
    item_builder = staticmethod(records.task_assignment)


class TaskPhotosStream(NestedChildStream):
    name = "task_photos"
    parent_stream_type = TasksStream
    primary_keys = ("task_id", "photo_id")
    schema = schemas.TASK_PHOTOS
    array, parent_key, child_key = "photos", "task_id", "photo_id"
    item_builder = staticmethod(records.task_photo)


class TaskCostsStream(NestedChildStream):
    name = "task_costs"
    parent_stream_type = TasksStream
    primary_keys = ("task_id", "cost_id")
    schema = schemas.TASK_COSTS
    array, parent_key, child_key = "costs", "task_id", "cost_id"
    item_builder = staticmethod(records.task_cost)


class TaskSuppliesStream(NestedChildStream):
    name = "task_supplies"
    parent_stream_type = TasksStream
    primary_keys = ("task_id", "usage_id")
    schema = schemas.TASK_SUPPLIES
    array, parent_key, child_key = "supplies", "task_id", "usage_id"
    item_builder = staticmethod(records.task_supply)


# -- people and companies ------------------------------------------------------------------


class PeopleStream(BreezewayStream):
    """All staff of the region, every run; no status filter, so every status is listed.

    Documented as a bare list, but one client pages it: `limit`/`page` are sent, and the
    paginator stops after a bare list or follows `total_pages` of an envelope.
    """

    name = "people"
    path = "/people"
    primary_keys = ("id",)
    replication_key = None
    schema = schemas.PEOPLE
    record_builder = staticmethod(records.person_record)


class CompaniesNotAvailableError(FatalAPIError):
    """The credentials may not list companies (only cross-company keys can)."""


class CompaniesStream(BreezewayStream):
    """Companies visible to the credentials, where the API allows listing them.

    Only cross-company (partner) keys may list companies. A refusal (403/404) ends this
    stream with a warning instead of failing the region's run. It emits no
    ACTIVATE_VERSION: a refused listing is not a complete one, and a start-of-sync
    ACTIVATE_VERSION would already have told targets to retire every known company.
    """

    name = "companies"
    path = "/companies"
    primary_keys = ("id",)
    replication_key = None
    schema = schemas.COMPANIES
    record_builder = staticmethod(records.company_record)
    paginated = False

    @property
    def emit_activate_version_messages(self) -> bool:
        return False

    def validate_response(self, response: requests.Response) -> None:
        if response.status_code in (403, 404):
            raise CompaniesNotAvailableError(self.response_error_message(response))
        super().validate_response(response)

    def fetch_objects(self, context: Context | None) -> Iterator[records.ApiObject]:
        try:
            yield from self.request_records(context)
        except CompaniesNotAvailableError as refusal:
            self.logger.warning(
                "Stream 'companies' has no records for region '%s': the API refused the "
                "listing (%s). Only cross-company credentials may list companies.",
                self.region_code, refusal,
            )


class CrawlsStream(SideStream):
    """Reports of the crawls of reservations and tasks (docs/streams.md, "Deletions").

    Written by those streams as they read: a record after each complete full-window crawl
    of a scope (the region's reservations; one property's tasks), and after every scope
    whose calls failed — task requirement calls included (`task_requirements`, before the
    task concerned; see requirements.py). It is synced first only to send its SCHEMA
    early; its records come later, from the streams it reports on. No ACTIVATE_VERSION: a
    run reports only what it crawled, not the complete set of crawls.
    """

    name = "crawls"
    primary_keys = ("region_code", "stream", "scope")
    replication_key = None
    schema = schemas.CRAWLS

    @property
    def emit_activate_version_messages(self) -> bool:
        return False

    def get_records(self, context: Context | None) -> Iterable[dict]:
        """No records of its own; the SDK has just sent this stream's SCHEMA."""
        self._schema_sent = True
        return ()


# -- coverage (issue 18): tag links, requirements, reference lists, API usage ---------------


class PropertyTagsStream(NestedChildStream):
    """A property's tags, from its inline `tags` array when the API sends one (no sample
    shows it on properties; reservations and tasks do carry theirs)."""

    name = "property_tags"
    parent_stream_type = PropertiesStream
    primary_keys = ("property_id", "tag_id")
    schema = schemas.PROPERTY_TAGS
    array, parent_key, child_key = "tags", "property_id", "tag_id"
    item_builder = staticmethod(records.tag_link)


class ReservationTagsStream(NestedChildStream):
    name = "reservation_tags"
    parent_stream_type = ReservationsStream
    primary_keys = ("reservation_id", "tag_id")
    schema = schemas.RESERVATION_TAGS
    array, parent_key, child_key = "tags", "reservation_id", "tag_id"
    item_builder = staticmethod(records.tag_link)


class TaskTagsStream(NestedChildStream):
    """A task's `task_tags` (`{id, name}`, the ones `/task/tags` defines); the task's other
    `tags` array (strings or objects) stays JSON on the task."""

    name = "task_tags"
    parent_stream_type = TasksStream
    primary_keys = ("task_id", "tag_id")
    schema = schemas.TASK_TAGS
    array, parent_key, child_key = "task_tags", "task_id", "tag_id"
    item_builder = staticmethod(records.tag_link)


class TaskRequirementsStream(NestedChildStream):
    """A task's checklist, read with one call per task (requirements.py) and written after
    the task like a nested array: keyed by position (the items have no id)."""

    name = "task_requirements"
    parent_stream_type = TasksStream
    primary_keys = ("task_id", "position")
    schema = schemas.TASK_REQUIREMENTS
    array, parent_key, child_key = REQUIREMENTS, "task_id", None
    item_builder = staticmethod(records.task_requirement)


class TaskRequirementPhotosStream(NestedChildStream):
    """The photos of a task's requirements (bare URLs upstream), one record each."""

    name = "task_requirement_photos"
    parent_stream_type = TasksStream
    primary_keys = ("task_id", "position")
    schema = schemas.TASK_REQUIREMENT_PHOTOS
    array, parent_key, child_key = REQUIREMENT_PHOTOS, "task_id", None
    item_builder = staticmethod(records.requirement_photo)


class ReferenceListStream(BreezewayStream):
    """A company's reference list: one call per region, a bare list, full table every run
    (ACTIVATE_VERSION at its start and end: a target retires what the list dropped).

    The list is read before its version opens. A list the API refuses (4xx: not allowed
    for these credentials, a parameter missing) is skipped with a warning and opens no
    version at all — a start marker would make some targets retire every row of it, and
    ours would wait for an end that never comes — and the region's run goes on: a reference
    list is never worth the tasks that sort after it.
    """

    primary_keys = ("id",)
    replication_key = None
    paginated = False

    _listed: list[records.ApiObject] | None = None
    _skipped = False

    def reference_list(self) -> list[records.ApiObject]:
        """The list, read once per run (empty when skipped)."""
        if self._listed is None:
            reason = self.skip_reason()
            if reason is None:
                try:
                    self._listed = list(self.request_records(None))
                except RefusedCallError as refusal:
                    reason = str(refusal)
            if reason is not None:
                self.logger.warning("Stream '%s' skipped in region '%s': %s", self.name,
                                    self.region_code, reason)
                self._listed, self._skipped = [], True
        return self._listed

    def skip_reason(self) -> str | None:
        """Why the list cannot be asked for at all (None: it can)."""
        return None

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        if not super().emit_activate_version_messages:
            return False
        self.reference_list()  # read first: no version for a list that was not read
        return not self._skipped

    @override
    def fetch_objects(self, context: Context | None) -> Iterable[records.ApiObject]:
        return self.reference_list()


class TaskTagDefinitionsStream(ReferenceListStream):
    name = "task_tag_definitions"
    path = "/task/tags"
    schema = schemas.TAG_DEFINITIONS
    record_builder = staticmethod(records.tag_definition)


class PropertyTagDefinitionsStream(ReferenceListStream):
    name = "property_tag_definitions"
    path = "/property/tags"
    schema = schemas.TAG_DEFINITIONS
    record_builder = staticmethod(records.tag_definition)


class ReservationTagDefinitionsStream(ReferenceListStream):
    name = "reservation_tag_definitions"
    path = "/reservation/tags"
    schema = schemas.TAG_DEFINITIONS
    record_builder = staticmethod(records.tag_definition)


class TaskTemplatesStream(ReferenceListStream):
    name = "task_templates"
    path = "/companies/templates"
    schema = schemas.TASK_TEMPLATES
    record_builder = staticmethod(records.task_template)


class TaskSubdepartmentsStream(ReferenceListStream):
    """`/companies/subdepartments` answers 400 without `company_id` (or
    `reference_company_id`): the config's `company_id`, else the one company the region's
    properties name; without either the stream is skipped (see ReferenceListStream)."""

    name = "task_subdepartments"
    path = "/companies/subdepartments"
    schema = schemas.TASK_SUBDEPARTMENTS
    record_builder = staticmethod(records.task_subdepartment)

    def skip_reason(self) -> str | None:
        if self.breezeway_tap.company_id() is None:
            return ("the API needs a company id, and neither the config's company_id nor "
                    "the property listing gives one (set company_id)")
        return None

    @override
    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> dict[str, t.Any]:
        params = super().get_url_params(context, next_page_token)
        params.setdefault("company_id", self.breezeway_tap.company_id())
        return params


class SuppliesStream(ReferenceListStream):
    """Supplies with their stock levels: the one paginated reference list (a company's
    supplies are few: all pages are read before the version opens, as for the others)."""

    name = "supplies"
    path = "/supplies"
    paginated = True
    schema = schemas.SUPPLIES
    record_builder = staticmethod(records.supply_record)
    fixed_params = {"sort_by": "created_at", "sort_order": "asc"}


class UpstreamCallsStream(Stream):
    """The requests each stream made in this run (usage.py): one record per stream.

    Streams report when they end; this stream writes the reports. It must therefore run
    after every stream that calls the API: the SDK syncs streams in name order, and
    `upstream_calls` sorts after all of them (tests/tap/test_coverage.py checks it). A name
    sorting first would also put a STATE ahead of the run's first API call, which a target
    takes as a tap that got going (wrong credentials fail at that first call).
    """

    name = "upstream_calls"
    primary_keys = ("region_code", "stream", "run_started_at")
    replication_key = None
    schema = schemas.UPSTREAM_CALLS

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        return False

    @override
    def get_records(self, context: Context | None) -> Iterable[dict]:
        tap = t.cast("TapBreezeway", self._tap)
        return list(tap.upstream_calls)


STREAM_TYPES: tuple[type[Stream], ...] = (
    CrawlsStream,
    PropertiesStream,
    PropertyPhotosStream,
    PropertyTagsStream,
    ReservationsStream,
    ReservationGuestsStream,
    ReservationTagsStream,
    TasksStream,
    TaskAssignmentsStream,
    TaskPhotosStream,
    TaskCostsStream,
    TaskSuppliesStream,
    TaskTagsStream,
    TaskRequirementsStream,
    TaskRequirementPhotosStream,
    PeopleStream,
    CompaniesStream,
    TaskTemplatesStream,
    TaskSubdepartmentsStream,
    SuppliesStream,
    TaskTagDefinitionsStream,
    PropertyTagDefinitionsStream,
    ReservationTagDefinitionsStream,
    UpstreamCallsStream,
)
