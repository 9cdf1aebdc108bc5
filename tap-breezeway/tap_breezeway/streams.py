"""The streams of docs/streams.md: what each reads, its key, replication and schema."""

from __future__ import annotations

import typing as t
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta

import requests
from requests.adapters import HTTPAdapter
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

from tap_breezeway import records, schemas
from tap_breezeway.auth import AuthUnavailableError, CredentialsRefusedError
from tap_breezeway.client import (
    BreezewayStream,
    CrawlPart,
    IncrementalStream,
    NestedChildStream,
    SideStream,
    failure_reason,
)

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

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
        home_ids = self.breezeway_tap.property_ids()
        first_day = self._first_day(context)
        last_day = datetime.now(UTC).date() + timedelta(days=1)
        retry_from = self._retry_days(context)
        self._skipped = {}
        tolerated = max(2, int(float(self.config["max_skipped_properties_ratio"]) * len(home_ids)))
        workers = max(1, int(self.config["max_workers"]))
        self._size_connection_pool(workers)

        def crawl(home_id: t.Any) -> CrawlPart:
            since = min(first_day, retry_from.get(home_id, first_day))
            return self._crawl_property(context, home_id, since, last_day)

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tasks") as pool:
            for part in _in_submission_order(pool, home_ids, crawl, window=workers * 2):
                if part.failure is not None:
                    self._skip(part, first_day, retry_from, tolerated, len(home_ids))
                yield part

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
        """Keep the skipped properties (and their start day) for the next run."""
        super().finish_run(context, ids)
        state = self.get_context_state(context)
        if self._skipped:
            state[RETRY_PROPERTIES] = {str(k): v.isoformat() for k, v in self._skipped.items()}
        else:
            state.pop(RETRY_PROPERTIES, None)

    def _size_connection_pool(self, workers: int) -> None:
        """requests keeps 10 connections per host; parallel workers need one each."""
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(10, workers))
        for prefix in ("http://", "https://"):
            self.requests_session.mount(prefix, adapter)


#: Key of the tasks state partition: property id -> first day its next read must cover.
RETRY_PROPERTIES = "retry_properties"


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
    whose calls failed. It is synced first only to send its SCHEMA early; its records come
    later, from the streams it reports on. No ACTIVATE_VERSION: a run reports only what it
    crawled, not the complete set of crawls.
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


STREAM_TYPES: tuple[type[BreezewayStream | SideStream], ...] = (
    CrawlsStream,
    PropertiesStream,
    PropertyPhotosStream,
    ReservationsStream,
    ReservationGuestsStream,
    TasksStream,
    TaskAssignmentsStream,
    TaskPhotosStream,
    TaskCostsStream,
    TaskSuppliesStream,
    PeopleStream,
    CompaniesStream,
)
