"""The streams of docs/streams.md: what each reads, its key, replication and schema."""

from __future__ import annotations

import typing as t
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import requests
from requests.adapters import HTTPAdapter
from singer_sdk.exceptions import FatalAPIError

from tap_breezeway import records, schemas
from tap_breezeway.client import BreezewayStream, IncrementalStream, NestedChildStream

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
    """

    name = "tasks"
    path = "/task/"
    primary_keys = ("id",)
    schema = schemas.TASKS
    record_builder = staticmethod(records.task_record)

    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> dict[str, t.Any]:
        assert context is not None  # always called with a property's context
        params = super().get_url_params(context, next_page_token)
        params["home_id"] = context["home_id"]
        params["updated_at"] = context["updated_range"]
        return params

    def fetch_objects(self, context: Context | None) -> Iterator[records.ApiObject]:
        home_ids = self.breezeway_tap.property_ids()
        first_day = (self.starting_moment(context) - timedelta(days=1)).date()
        last_day = datetime.now(UTC).date() + timedelta(days=1)
        base = {**(context or {}), "updated_range": f"{first_day},{last_day}"}
        workers = max(1, int(self.config["max_workers"]))
        self._size_connection_pool(workers)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tasks") as pool:
            yield from _in_submission_order(
                pool, home_ids, lambda home_id: self._tasks_of({**base, "home_id": home_id}),
                window=workers * 2,
            )

    def _tasks_of(self, context: Context) -> list[records.ApiObject]:
        return list(self.request_records(context))

    def _size_connection_pool(self, workers: int) -> None:
        """requests keeps 10 connections per host; parallel workers need one each."""
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(10, workers))
        for prefix in ("http://", "https://"):
            self.requests_session.mount(prefix, adapter)


def _in_submission_order(
    pool: ThreadPoolExecutor,
    keys: Iterable[t.Any],
    fetch: t.Callable[[t.Any], list[records.ApiObject]],
    *,
    window: int,
) -> Iterator[records.ApiObject]:
    """Results of `fetch(key)` for every key, in key order, at most `window` in flight.

    The window bounds memory (a fetched property waits only for slower predecessors).
    On an error or an early stop the calls not yet started are cancelled.
    """
    pending: deque[Future[list[records.ApiObject]]] = deque()
    remaining = iter(keys)
    try:
        for key in remaining:
            pending.append(pool.submit(fetch, key))
            if len(pending) >= window:
                break
        while pending:
            batch = pending.popleft().result()
            next_key = next(remaining, _DONE)
            if next_key is not _DONE:
                pending.append(pool.submit(fetch, next_key))
            yield from batch
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


STREAM_TYPES: tuple[type[BreezewayStream | NestedChildStream], ...] = (
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
