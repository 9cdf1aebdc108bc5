"""Base classes: the Breezeway REST stream and the nested-array child stream.

The SDK does the plumbing (requests, retries, pagination, state, catalog, stream maps);
this module adds what is Breezeway-specific:

- `/public/inventory/v1` under a configurable `api_url`, `JWT` auth shared by all streams;
- the paginated envelope `{page, total_pages, results}` (or a bare list) and a paginator that
  stops on `total_pages`, so no empty extra page is requested;
- retries of 429/5xx/timeouts/truncated JSON honouring Retry-After, one token renewal on 401,
  fatal 4xx carrying the API's `error`/`description`;
- children read from nested arrays, written right after their parent record, SCHEMA once.
"""

from __future__ import annotations

import random
import typing as t
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from http import HTTPStatus
from urllib.parse import urlsplit

import msgspec
import requests
from singer_sdk import Stream
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError, RetriableAPIError
from singer_sdk.helpers._typing import conform_record_data_types
from singer_sdk.helpers._util import utc_now
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.pagination import BaseAPIPaginator, PageNumberPaginator, SinglePagePaginator
from singer_sdk.singerlib import RecordMessage
from singer_sdk.singerlib.catalog import REPLICATION_FULL_TABLE
from singer_sdk.streams import RESTStream
from typing_extensions import override

from tap_breezeway import decoding, records
from tap_breezeway.auth import BreezewayAuthenticator, retry_after_seconds
from tap_breezeway.scrub import scrub
from tap_breezeway.usage import CallCounter

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context, RequestFunc

    from tap_breezeway.tap import TapBreezeway

API_PREFIX = "/public/inventory/v1"
REQUEST_TIMEOUT_S = 60
_NOT_DECODED = object()


class RefusedCallError(FatalAPIError):
    """A 4xx answer no retry can change; keeps the response, whose status names the cause."""

    def __init__(self, message: str, response: requests.Response) -> None:
        super().__init__(message)
        self.response = response


class TokenRenewedError(RetriableAPIError):
    """A 401 after which the token was renewed: retry at once, no backoff wait."""


def decoded_body(response: requests.Response) -> t.Any:
    """The response's JSON, decoded once and kept on the response.

    validate_response (inside the retry loop, so a truncated body is retried), the
    paginator and parse_response all need it; decoding three times would cost more than
    the rest of the per-page work. A page only the lenient decoder could read is marked,
    so that parse_response repairs its objects (decoding.py).
    """
    cached = response.__dict__.get("_breezeway_body", _NOT_DECODED)
    if cached is _NOT_DECODED:
        cached, lenient = decoding.decode(response.content)
        response.__dict__["_breezeway_body"] = cached
        response.__dict__["_breezeway_lenient"] = lenient
    return cached


def _decoded_leniently(response: requests.Response) -> bool:
    return bool(response.__dict__.get("_breezeway_lenient"))


class TotalPagesPaginator(PageNumberPaginator):
    """Page numbers from 1, stopping at the envelope's `total_pages` (no empty last call)."""

    def __init__(self, page_size: int) -> None:
        super().__init__(start_value=1)
        self._page_size = page_size

    def has_more(self, response: requests.Response) -> bool:
        body = decoded_body(response)
        if not isinstance(body, dict):
            return False  # a bare list is the whole collection
        total_pages = body.get("total_pages")
        if isinstance(total_pages, int):
            return self.current_value < total_pages
        # No total given: a full page may have a successor, a short one cannot.
        return len(body.get("results") or ()) >= self._page_size


@dataclass
class CrawlPart:
    """One unit of a crawl: its objects and, when its calls failed, why.

    A stream is read in parts (the whole list; or one part per property for tasks). A
    part whose calls failed has no objects and a `failure`; it is read again next run.
    """

    objects: Iterable[records.ApiObject]
    scope: str = "region"
    property_id: int | None = None
    failure: str | None = None
    window_start: datetime | None = None


@dataclass
class CrawlReporter:
    """Writes a `crawls` record after each part: failures always, complete parts when the
    run read the stream's whole window (docs/streams.md, "Deletions")."""

    crawls: SideStream
    region_code: str
    stream: str
    window_start: datetime
    window_end: datetime
    reports_complete: bool

    _parts: int = 0
    _failed: int = 0
    _read: int = 0
    _region_written: bool = False

    def report(self, part: CrawlPart, read: int) -> None:
        """After a part's last record: its failure, or its completeness (full window)."""
        self._parts += 1
        self._failed += part.failure is not None
        self._read += read
        self._region_written |= part.scope == "region"
        if part.failure is not None or self.reports_complete:
            self._write(part.scope, part.property_id, part.window_start, part.failure, read)

    def finish(self) -> None:
        """After the last part of a stream read in several parts (tasks, per property): the
        region's crawl ended — complete when every part was. A tap that dies midway never
        writes it, so a target can tell an ended crawl from an interrupted one."""
        if not self.reports_complete or self._region_written:
            return  # a one-part stream's part is the region (reservations): already written
        failure = f"{self._failed} of {self._parts} scopes not crawled" if self._failed else None
        self._write("region", None, None, failure, self._read)

    def _write(self, scope: str, property_id: int | None, window_start: datetime | None,
               failure: str | None, read: int) -> None:
        self.crawls.write({
            "region_code": self.region_code,
            "stream": self.stream,
            "scope": scope,
            "property_id": property_id,
            "window_start": (window_start or self.window_start).isoformat(),
            "window_end": self.window_end.isoformat(),
            "complete": failure is None,
            "reason": failure,
            "records": read,
        })


class SelectionOnceStream(Stream):
    """Decides once per selection, not per record, whether records need property pruning.

    The SDK walks every record against the catalog's selection mask, even when nothing
    is deselected: ~9 % of the tap's CPU (bench/RESULTS.md). When every property is
    selected that walk removes nothing, so records go straight on to the SDK's own
    conformance and stream maps (the rest of `Stream._generate_record_messages`, same
    order); with anything deselected the SDK's path runs unchanged.
    """

    _full_selection: tuple[t.Any, bool] | None = None

    @override
    def get_batch_config(self, config: t.Mapping) -> None:
        """Never BATCH (see TapBreezeway.capabilities)."""
        refuse_batch_config(config)

    def _selects_every_property(self) -> bool:
        mask = self.mask  # the SDK builds a new mask object when the selection changes
        if self._full_selection is None or self._full_selection[0] is not mask:
            # A breadcrumb missing from the mask takes its parent's value (the stream's
            # defaults to True): all entries True means every lookup answers True.
            self._full_selection = (mask, all(mask.values()))
        return self._full_selection[1]

    def _generate_record_messages(
        self, record: records.Record
    ) -> Generator[RecordMessage, None, None]:
        if not self._selects_every_property():
            yield from super()._generate_record_messages(record)
            return
        record = conform_record_data_types(
            stream_name=self.name,
            record=record,
            schema=self.effective_schema,
            level=self.TYPE_CONFORMANCE_LEVEL,
            logger=self.logger,
        )
        for stream_map in self.stream_maps:
            mapped_record = stream_map.transform(record)
            if mapped_record is not None:
                yield RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped_record,
                    version=self._stream_version,
                    time_extracted=utc_now(),
                )


class BreezewayStream(SelectionOnceStream, RESTStream):
    """A stream read from one Breezeway list endpoint."""

    # Records are built by records.py from decoded JSON, so every value is already a JSON
    # type; the SDK's per-field conformance walk cost ~40% of the tap's CPU (measured).
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    #: Builds the contract record from one API object (see records.py).
    record_builder: t.ClassVar[Callable[[records.ApiObject], records.Record]]
    #: Whether the endpoint answers with the paginated envelope.
    paginated: t.ClassVar[bool] = True
    #: Fixed query parameters of every call (sorting, status filters).
    fixed_params: t.ClassVar[dict[str, t.Any]] = {}

    @property
    def breezeway_tap(self) -> TapBreezeway:
        return t.cast("TapBreezeway", self._tap)

    @cached_property
    def api_calls(self) -> CallCounter:
        """Requests this stream made in this run (all threads, retries included)."""
        return CallCounter()

    @property
    def region_code(self) -> str:
        return str(self.config["region_code"])

    @property
    def url_base(self) -> str:
        return f"{self.config['api_url'].rstrip('/')}{API_PREFIX}"

    @property
    def authenticator(self) -> BreezewayAuthenticator:
        """One authenticator per run: Breezeway allows one token call per minute."""
        return self.breezeway_tap.api_authenticator

    @property
    def timeout(self) -> int:
        return REQUEST_TIMEOUT_S

    # -- requests ---------------------------------------------------------------------
    def get_new_paginator(self) -> BaseAPIPaginator:
        if self.paginated:
            return TotalPagesPaginator(int(self.config["page_size"]))
        return SinglePagePaginator()

    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> dict[str, t.Any]:
        params: dict[str, t.Any] = dict(self.fixed_params)
        if self.paginated:
            params["limit"] = self.config["page_size"]
            params["page"] = next_page_token or 1
        if self.config.get("company_id") is not None:
            params["company_id"] = self.config["company_id"]
        return params

    def request_decorator(self, func: RequestFunc) -> RequestFunc:
        """Every attempt, retries included, waits for its turn in the run's rate budget
        (and is counted: stream `upstream_calls`)."""
        pacer = self.breezeway_tap.request_pacer
        calls = self.api_calls

        def paced(*args: t.Any, **kwargs: t.Any) -> requests.Response:
            pacer.wait_turn()
            calls.count()
            return func(*args, **kwargs)

        return super().request_decorator(paced)

    def validate_response(self, response: requests.Response) -> None:
        status = response.status_code
        if status == HTTPStatus.UNAUTHORIZED:
            self.authenticator.on_unauthorized(response.request)
            raise TokenRenewedError(self.response_error_message(response), response)
        if status == HTTPStatus.TOO_MANY_REQUESTS or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            raise RetriableAPIError(self.response_error_message(response), response)
        if status >= HTTPStatus.BAD_REQUEST:
            raise RefusedCallError(self.response_error_message(response), response)
        try:
            decoded_body(response)
        except decoding.NestingTooDeepError as error:
            raise FatalAPIError(
                f"Breezeway sent JSON nested too deeply to decode ({len(response.content)} "
                f"bytes) for {self._where(response)}: no object of this page can be read"
            ) from error
        except msgspec.DecodeError as error:
            message = (
                f"Breezeway sent an incomplete or invalid JSON body ({len(response.content)} "
                f"bytes) for {self._where(response)}: {error}"
            )
            raise RetriableAPIError(message, response) from error

    def response_error_message(self, response: requests.Response) -> str:
        """Status, path and the API's own `error`/`description`; never headers or tokens."""
        return (
            f"Breezeway answered HTTP {response.status_code} for {self._where(response)}: "
            f"{_api_error_text(response, self.authenticator.known_secrets())}"
        )

    def _where(self, response: requests.Response) -> str:
        """The call, with its query (ids, filters, page), scrubbed all the same.

        No secret of ours travels in a query, but the text ends up in logs and stored
        errors: whatever a misconfigured `api_url` carries must not.
        """
        url = urlsplit(response.url or "")
        query = f"?{url.query}" if url.query else ""
        where = f"GET {url.path}{query} (stream '{self.name}', region '{self.region_code}')"
        return scrub(where, self.authenticator.known_secrets(), limit=400)

    # -- retries ----------------------------------------------------------------------
    def backoff_max_tries(self) -> int:
        return int(self.config["backoff_max_tries"])

    def backoff_wait_generator(self) -> Generator[float, t.Any, None]:  # type: ignore[override]
        """Waits from Retry-After when given, else exponential; none after a token renewal.

        The backoff library sends each caught exception into this generator.
        """
        attempt = 0
        exception = yield 0.0
        while True:
            attempt += 1
            exception = yield self._retry_wait(exception, attempt)

    def _retry_wait(self, exception: BaseException, attempt: int) -> float:
        if isinstance(exception, TokenRenewedError):
            return 0.0
        max_wait = float(self.config["backoff_max_wait_s"])
        response = getattr(exception, "response", None)
        if isinstance(response, requests.Response):
            hinted = retry_after_seconds(response, datetime.now(UTC).timestamp())
            if hinted is not None:
                return min(hinted, max_wait)
        base = float(self.config["backoff_factor_s"]) * 2 ** (attempt - 1)
        return min(base * (1 + 0.1 * random.random()), max_wait)

    def backoff_jitter(self, value: float) -> float:
        """Jitter is already in `_retry_wait`; a Retry-After is honoured as given."""
        return value

    # -- records ----------------------------------------------------------------------
    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        body = decoded_body(response)
        if isinstance(body, list):
            items = body
        elif isinstance(body, dict) and isinstance(body.get("results"), list):
            items = body["results"]
        else:
            raise FatalAPIError(
                f"Unexpected response shape for {self._where(response)}: expected a list or a "
                f"paginated envelope with `results`, got {type(body).__name__} "
                f"({_api_error_text(response, self.authenticator.known_secrets())})"
            )
        return self._readable_objects(items, response)

    def _readable_objects(
        self, items: list[t.Any], response: requests.Response
    ) -> Iterator[records.ApiObject]:
        """The page's objects; an item that is not an object has nothing to emit (logged).

        Objects of a page only the lenient decoder read are repaired first, and each
        repaired field is named in a warning (decoding.py says what and why).
        """
        lenient = _decoded_leniently(response)
        for position, item in enumerate(items):
            if not isinstance(item, dict):
                self.logger.warning(
                    "Skipping item %d of %s: %s, not an object", position,
                    self._where(response), records.kind_of(item),
                )
                continue
            if lenient:
                self._log_repairs(item, decoding.repair(item))
            yield item

    def _log_repairs(self, obj: records.ApiObject, repairs: dict[str, set[str]]) -> None:
        for field, reasons in repairs.items():
            self.logger.warning(
                "%s id=%s: field %r held %s", self.name, records.describe_id(obj.get("id")),
                field[:40], " and ".join(sorted(reasons)),
            )

    def fetch_objects(self, context: Context | None) -> Iterable[records.ApiObject]:
        """The API objects of this stream, in API order (tasks override this)."""
        return self.request_records(context)

    def get_records(self, context: Context | None) -> Iterator[records.ApiObject]:
        """API objects, each followed by its nested children; then the completion hooks.

        Code after a `yield` runs once the SDK has written the record just yielded, which
        is what puts every child record right after its parent in the output, and a crawl
        report (stream `crawls`) right after the last record of the part it reports.
        """
        seen: dict[t.Any, None] = {}  # ids in API order
        with ExitStack() as open_side_streams:
            children = [c for c in self.nested_children() if c.selected]
            for child in children:
                child.start_run(open_side_streams)
            reporter = self.crawl_reporter(context, open_side_streams)
            for part in self.crawl_parts(context):
                read = 0
                for obj in part.objects:
                    read += 1
                    object_id = records.id_key(obj.get("id"))  # None: never a repeat, see id_key
                    if object_id is not None and object_id in seen:
                        self.logger.info(
                            "Skipping %s id=%s: already read in this run (a page boundary "
                            "shifted)", self.name, records.describe_id(object_id),
                        )
                        continue
                    if object_id is not None:
                        seen[object_id] = None  # an object without an id goes on: the target judges
                    yield obj
                    for child in children:
                        child.write_children_of(obj)
                if reporter is not None:
                    reporter.report(part, read)
            if reporter is not None:
                reporter.finish()
        self.finish_run(context, list(seen))

    def crawl_parts(self, context: Context | None) -> Iterator[CrawlPart]:
        """The stream's reads, in the order they are written: one part, the whole list."""
        yield CrawlPart(self.fetch_objects(context))

    def crawl_reporter(self, context: Context | None, stack: ExitStack) -> CrawlReporter | None:
        """Who reports this stream's crawls (only incremental streams do, see there)."""
        return None

    def _sync_records(
        self, context: Context | None = None, *, write_messages: bool = True
    ) -> Generator[dict, t.Any, t.Any]:
        """The SDK's sync loop, then the output buffer written out, even when it fails.

        The writer holds messages until a chunk is full or a STATE arrives (output.py);
        records read before an error must still reach the target, as unbuffered ones did.
        """
        try:
            yield from super()._sync_records(context, write_messages=write_messages)
        finally:
            self.breezeway_tap.flush_output()

    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        if records.id_key(row.get("id")) is None:
            self.logger.warning(
                "%s: an object whose id is %s is passed on for the target to judge (never "
                "taken for a repeat; a property's tasks are read only for a numeric id)",
                self.name, records.kind_of(row.get("id")),
            )
        record = type(self).record_builder(row)
        record["region_code"] = self.region_code
        return record

    def generate_child_contexts(
        self, record: dict, context: Context | None
    ) -> Iterable[Context | None]:
        """None: nested children are written by `get_records`, not by SDK child syncs.

        An SDK child sync per parent record would write its children BEFORE the parent
        record, re-send SCHEMA, a log line and a STATE message per parent (~175k times at
        the legacy scale), and emit ACTIVATE_VERSION for children of incremental parents.
        """
        return ()

    def nested_children(self) -> list[NestedChildStream]:
        return [c for c in self.child_streams if isinstance(c, NestedChildStream)]

    def finish_run(self, context: Context | None, ids: list[t.Any]) -> None:
        """After the last record: tell targets that a full-table sync is complete.

        The SDK emits ACTIVATE_VERSION only before a full-table sync; repeating the same
        version after the last record is the Singer signal that rows of other versions are
        gone upstream (targets soft-delete them).
        """
        if (
            self.selected
            and self.replication_method == REPLICATION_FULL_TABLE
            and self.emit_activate_version_messages
        ):
            self._write_activate_version_message(self._stream_version)
        self.report_upstream_calls(context)

    def report_upstream_calls(self, context: Context | None) -> None:
        """The requests this stream made, for stream `upstream_calls`."""
        self.breezeway_tap.report_upstream_calls(self.name, self.api_calls.value)


#: Stream-map options that drop, rename, duplicate or re-key records (singer-sdk mapper).
RECORD_CHANGING_MAP_KEYS = ("__filter__", "__alias__", "__source__", "__else__",
                            "__key_properties__")

#: Key of an incremental stream's state partition: when it last read its whole window.
LAST_FULL_WINDOW = "last_full_window_at"


class IncrementalStream(BreezewayStream):
    """`updated_at` bookmarks, one per region; sync-start fallback when upstream omits it."""

    replication_key = "updated_at"
    is_sorted = False

    @property
    def partitions(self) -> list[dict]:
        """One state partition per region.

        The bookmark lives under `{"region_code": ...}`, so a state that ends up shared
        between regions (one state id, a copied file) never applies one region's bookmark
        to another; and it does not grow with properties (tasks are read per property but
        keep ONE bookmark per region).
        """
        return [{"region_code": self.region_code}]

    def starting_moment(self, context: Context | None) -> datetime:
        """The bookmark; start_date when this run reads the whole window.

        Both reservations and tasks must always send a date filter: without one the API
        hides history (reservations) or finished tasks.
        """
        if self.reads_full_window(context):
            return datetime.fromisoformat(str(self.config["start_date"]))
        moment = self.get_starting_timestamp(context)
        if moment is None:
            raise ValueError(f"'{self.name}' needs start_date or a bookmark to filter on")
        return moment

    def reads_full_window(self, context: Context | None) -> bool:
        """Whether this run reads everything from start_date (and so can prove deletions):
        `reconcile: true`; no bookmark yet (a first run, `--full-refresh`); or the last
        full-window run of this stream is older than `reconcile_every_days`."""
        state = self.get_context_state(context)
        if self.config.get("reconcile") or state.get("replication_key_value") is None:
            return True
        every = float(self.config.get("reconcile_every_days") or 0)
        last = state.get(LAST_FULL_WINDOW)
        if not every or not isinstance(last, str):
            return bool(every)  # due at once when never done (state from an older tap)
        try:
            done = datetime.fromisoformat(last)
        except ValueError:
            return True
        return self._run_started() - done >= timedelta(days=every)

    def _run_started(self) -> datetime:
        return datetime.fromtimestamp(self._initialized_at / 1000, tz=UTC)

    def crawl_window_start(self, context: Context | None) -> datetime:
        """The `updated_at` lower bound this run sends (what a crawl report covers)."""
        return self.starting_moment(context)

    def crawl_reporter(self, context: Context | None, stack: ExitStack) -> CrawlReporter | None:
        crawls = self.breezeway_tap.crawls_stream()
        if crawls is None:
            return None
        crawls.start_run(stack)
        full_window = self.reads_full_window(context)
        unchanged = self.records_reach_targets_unchanged()
        if full_window and not unchanged:
            self.logger.warning(
                "'%s' is read over its whole window, but not reported complete: a stream map "
                "filters, renames or re-keys its records, so a target could not tell a "
                "deletion from a filtered record", self.name,
            )
        return CrawlReporter(
            crawls, self.region_code, self.name, self.crawl_window_start(context),
            self._run_started(), reports_complete=full_window and unchanged,
        )

    def report_upstream_calls(self, context: Context | None) -> None:
        self.breezeway_tap.report_upstream_calls(
            self.name, self.api_calls.value, full_window=self.reads_full_window(context))

    def records_reach_targets_unchanged(self) -> bool:
        """Every record read reaches the target, under this stream's name and with its id:
        no stream map filters, aliases, duplicates or re-keys it. A map that only drops or
        rewrites other fields (e.g. `access_code: __NULL__`) keeps deletions provable."""
        maps = self.stream_maps
        if len(maps) != 1 or maps[0].stream_alias != self.name:
            return False
        if type(maps[0]) is SameRecordTransform:
            return True
        definition = (self.config.get("stream_maps") or {}).get(self.name)
        return isinstance(definition, dict) and not (
            set(definition) & {*RECORD_CHANGING_MAP_KEYS, *self.primary_keys})

    def finish_run(self, context: Context | None, ids: list[t.Any]) -> None:
        """Advance the bookmark to sync start minus the overlap when records lack updated_at.

        Without an `updated_at` in the objects (reservations in some accounts), the
        newest change the API could have returned is "now"; the overlap covers clock skew
        between us and the API. The SDK caps bookmarks at the sync start anyway.
        """
        super().finish_run(context, ids)
        if self.reads_full_window(context):
            # Read before the bookmark moves (a bookmark-less run is a full-window run too).
            self.get_context_state(context)[LAST_FULL_WINDOW] = self._run_started().isoformat()
        if not self._saw_record_without_rk:
            return
        overlap = timedelta(seconds=float(self.config["bookmark_overlap_s"]))
        fallback = (self._run_started() - overlap).isoformat()
        self.logger.info(
            "Records of '%s' carry no %s; bookmark falls back to sync start minus %s",
            self.name, self.replication_key, overlap,
        )
        self.state_manager.increment_state(
            {self.replication_key: fallback},
            context=context,
            replication_key=str(self.replication_key),
        )

    _saw_record_without_rk = False

    def _increment_stream_state(
        self, latest_record: dict, *, context: Context | None = None
    ) -> None:
        """A record without updated_at cannot move the bookmark; `finish_run` then sets it.

        (The SDK would log a warning per such record: one per reservation in some accounts.)
        A value that is not a datetime in the tap's UTC form (passed on raw: a number, text,
        `9999-12-31T23:00-05:00`) is treated the same: compared with a bookmark it would
        crash the run or leave a bookmark the next run cannot read.
        """
        value = latest_record.get(str(self.replication_key))
        if not records.is_utc_datetime(value):
            if value is not None:
                self.logger.warning(
                    "%s id=%s: %s is %s that is not a readable datetime; the record is "
                    "emitted as it is and does not move the bookmark", self.name,
                    records.describe_id(latest_record.get("id")), self.replication_key,
                    records.kind_of(value),
                )
            self._saw_record_without_rk = True
            return
        super()._increment_stream_state(latest_record, context=context)


class SideStream(SelectionOnceStream):
    """A stream whose records another stream writes, as it reads (no API call of its own).

    SCHEMA goes out once per run, before the first record; each writing stream's run gets
    a record counter (the SDK's metrics).
    """

    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE  # see BreezewayStream

    _record_counter: t.Any = None
    _schema_sent = False

    def start_run(self, stack: ExitStack) -> None:
        """SCHEMA once, before the first record; a record counter for the writer's run."""
        if not self._schema_sent:
            self._write_schema_message()
            self._schema_sent = True
        self._record_counter = stack.enter_context(self.get_record_counter())

    def write(self, record: records.Record) -> None:
        self._write_record_message(record)
        self._record_counter.increment()


class NestedChildStream(SideStream):
    """Records of an array nested in the parent's API object: no API call of their own.

    Written by the parent (`BreezewayStream.get_records`) right after each parent record,
    through the SDK's own record writer (selection, stream maps, type conformance), with
    its SCHEMA sent once per run. The parent's child set is complete in every parent record,
    so a target replaces each parent's children as a set.

    No state of their own (no partitions, no bookmark): children are exactly as fresh as
    the parent records they arrive with, so the parent's bookmark covers them and state
    stays the same size however many parents there are.
    """

    #: The parent's array the records come from.
    array: t.ClassVar[str]
    #: Name of the parent id field in the child record.
    parent_key: t.ClassVar[str]
    #: Name of the child's own id field in the record (None: keyed by position).
    child_key: t.ClassVar[str | None]
    item_builder: t.ClassVar[Callable[[records.ApiObject], records.Record]]

    def write_children_of(self, parent: records.ApiObject) -> None:
        region_code = self.config["region_code"]
        for record in records.child_records(
            parent,
            stream=self.name,
            array=self.array,
            parent_key=self.parent_key,
            child_key=self.child_key,
            build=type(self).item_builder,
        ):
            record["region_code"] = region_code
            self.write(record)

    def get_records(self, context: Context | None) -> Iterable[dict]:
        """Never called: the parent stream writes these records (see class docstring)."""
        raise NotImplementedError(
            f"'{self.name}' records are written by its parent stream, not synced alone"
        )


def _api_error_text(response: requests.Response, secrets: t.Iterable[str]) -> str:
    """The API's own words (`error`, `description`, `message`, `details.message`).

    Scrubbed and bounded: an API may echo what it was sent, credentials included.
    """
    try:
        body = decoded_body(response)
    except (msgspec.DecodeError, decoding.NestingTooDeepError):
        return f"non-JSON body of {len(response.content)} bytes"
    if not isinstance(body, dict):
        return "no error message"
    parts = [_text_of(body[key]) for key in ("error", "description", "message") if body.get(key)]
    details = body.get("details")
    if isinstance(details, dict) and details.get("message"):
        parts.append(_text_of(details["message"]))
    return scrub("; ".join(parts), secrets) or "no error message"


def failure_reason(error: BaseException) -> str:
    """Why calls failed, without any value (ids, bodies): the HTTP status or error class."""
    response = getattr(error, "response", None)
    if isinstance(response, requests.Response):
        return f"HTTP {response.status_code}"
    return type(error).__name__


def refuse_batch_config(config: t.Mapping) -> None:
    """A `batch_config` fails loudly: BATCH files of parents would reach a target after the
    children written as the parents are read."""
    if config.get("batch_config"):
        raise ConfigValidationError(
            "tap-breezeway does not write BATCH messages: remove `batch_config` (child "
            "records must follow their parent record, which BATCH files cannot keep)")


def _text_of(value: t.Any) -> str:
    """An error field as text: strings as they are, anything else as (bounded) JSON."""
    if isinstance(value, str):
        return value
    try:
        return msgspec.json.encode(value).decode()[:2000]
    except (TypeError, ValueError, RecursionError, msgspec.EncodeError):
        return f"<{type(value).__name__}>"
