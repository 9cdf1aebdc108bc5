"""`Simulator`: data, clock, tokens, faults and counters behind one local HTTP server.

Tests drive it in-process (mutations, `advance_time`, `set_faults`, counters) and talk to
it over real HTTP; the CLI (`python -m breezeway_sim`) serves the same thing out of process,
with `/_sim/...` admin endpoints instead of method calls.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from typing import Any, TypeVar

from breezeway_sim import api, churn, reference
from breezeway_sim.api import ApiError, Reply, Request
from breezeway_sim.churn import ChurnDay, ChurnRates
from breezeway_sim.data import LISTED_KINDS, ApiObject, RegionData
from breezeway_sim.faults import DEFAULT_ERROR_STATUSES, FaultInjector, FaultProfile
from breezeway_sim.generator import MIN_PROPERTIES, RegionBuilder
from breezeway_sim.queries import Query, paginate
from breezeway_sim.regions import REGIONS, credentials_for, property_counts
from breezeway_sim.server import SimulatorHTTPServer
from breezeway_sim.tokens import TokenIssuer

T = TypeVar("T")

ONE_DAY = timedelta(days=1)
#: With a fixed `today`, a churn day's changes fall in (clock at the day's start + this,
#: one day later]: tests may spend this much real time between two days (syncing) and
#: still get byte-identical churn for the same seed.
SAME_DAY_ALLOWANCE = timedelta(hours=1)
#: What `Simulator.serve_verbatim` answers with: items (paginated as usual), a whole body as
#: bytes, or a function of the request's query returning either.
VerbatimAnswer = list[Any] | bytes | Callable[[Query], list[Any] | bytes]
#: List endpoints that answer with a bare list instead of the paginated envelope.
BARE_LIST_PATHS = ("/people", "/companies")

ERROR_TEXT = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _mutation(method: Callable[..., T]) -> Callable[..., T]:
    """Mark a data mutation: cached answers are forgotten once it is done."""

    @functools.wraps(method)
    def mutate(self: Simulator, *args: Any, **kwargs: Any) -> T:
        result = method(self, *args, **kwargs)
        self._forget_answers()
        return result

    return mutate



class Simulator:
    """A deterministic Breezeway API for tests, demos and benchmarks (see package docs)."""

    def __init__(
        self,
        scale: float = 0.02,
        seed: int = 7,
        regions: list[str] | None = None,
        today: date | None = None,
        auth_rate_limit: bool = True,
        token_ttl_s: int = 86_400,
        max_page_size: int = 250,
        reservation_timestamps: bool = False,
        response_cache: bool = False,
        inactive_share: float | None = None,
        **faults: Any,
    ) -> None:
        chosen = list(REGIONS) if regions is None else list(regions)
        unknown = [name for name in chosen if name not in REGIONS]
        if unknown or not chosen:
            raise ValueError(f"unknown or no regions {unknown}; known: {sorted(REGIONS)}")
        if scale <= 0 or max_page_size < 1 or token_ttl_s < 1:
            raise ValueError("scale, max_page_size and token_ttl_s must be positive")
        if inactive_share is not None and not 0 <= inactive_share <= 1:
            raise ValueError("inactive_share must be between 0 and 1")
        #: Share of each region's properties that is inactive (None: the generator's mix).
        self.inactive_share = inactive_share
        self.scale, self.seed, self.regions = scale, seed, chosen
        self.auth_rate_limit = auth_rate_limit
        self.token_ttl_s = token_ttl_s
        self.max_page_size = max_page_size
        self.reservation_timestamps = reservation_timestamps
        self.lock = threading.RLock()
        self._fixed_today = today
        self.today = today or datetime.now(UTC).date()
        self._day_base = datetime.combine(self.today, day_time(12), tzinfo=UTC)
        self._clock_start = time.monotonic()
        self._offset_s = 0.0
        #: One `ChurnDay` per `advance_day()`, oldest first.
        self.churn_log: list[ChurnDay] = []
        self._counts = property_counts(scale, chosen, MIN_PROPERTIES)
        self._builders: dict[str, RegionBuilder] = {}
        self.tokens = TokenIssuer()
        self.auth_calls: dict[tuple[str, str], datetime] = {}
        self._faults = FaultInjector()
        self._failed_calls: list[tuple[str, dict[str, str], int]] = []
        self._counters: Counter[str] = Counter()
        self.requests_log: list[tuple[str, str, dict[str, str], int]] = []
        self._server: SimulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""
        # Encoded answers of data GETs, for benchmarks and demos that crawl the same pages
        # more than once; cleared by every mutation. Off by default: tests may edit the
        # objects of sim.data() directly, which a cache would not see.
        self._response_cache: dict[tuple[Any, ...], tuple[int, bytes, dict[str, str]]] | None = (
            {} if response_cache else None
        )
        self._generation = 0  # bumped by every mutation: a reply computed before is not cached
        self._verbatim: dict[tuple[str, str], tuple[VerbatimAnswer, int]] = {}  # serve_verbatim
        self.set_faults(**faults)

    # -- clock --
    def clock_now(self) -> datetime:
        """Simulated now: noon of `today` (when fixed) or the real time, plus advance_time()."""
        if self._fixed_today is not None:
            base = self._day_base + timedelta(seconds=time.monotonic() - self._clock_start)
        else:
            base = datetime.now(UTC)
        return base + timedelta(seconds=self._offset_s)

    def advance_time(self, seconds: float) -> None:
        """Move the clock forward (expire tokens, lift the auth limit) without sleeping."""
        with self.lock:
            self._offset_s += seconds
        self._forget_answers()

    def _next_day_window(self) -> tuple[datetime, datetime]:
        """Move the clock one day on; the window (start, end] the day's changes fall in.

        The end is the clock afterwards, so no change lies in its future, and the start is
        after the clock before, so every change is newer than what a sync saw. With a fixed
        `today` both ends follow from the seed's history alone (the real seconds spent
        within the day are dropped), unless more than SAME_DAY_ALLOWANCE was spent.
        """
        with self.lock:
            before = self.clock_now()
            if self._fixed_today is None:
                self._offset_s += ONE_DAY.total_seconds()
                return before, before + ONE_DAY
            nominal = self._day_base + timedelta(seconds=self._offset_s)
            if before < nominal + SAME_DAY_ALLOWANCE:
                start, end = nominal + SAME_DAY_ALLOWANCE, nominal + ONE_DAY
            else:
                start, end = before, before + ONE_DAY
            self._clock_start = time.monotonic()
            self._offset_s = (end - self._day_base).total_seconds()
            return start, end

    # -- data --
    def _builder(self, region: str) -> RegionBuilder:
        if region not in self.regions:
            raise ValueError(f"region {region!r} is not simulated; simulated: {self.regions}")
        with self.lock:
            if region not in self._builders:
                builder = RegionBuilder(
                    region,
                    self.seed,
                    self._counts[region],
                    self.today,
                    self.reservation_timestamps,
                    self.inactive_share,
                )
                builder.build()
                self._builders[region] = builder
            return self._builders[region]

    def data(self, region: str) -> RegionData:
        """The region's objects exactly as the API serves them (generated on first use)."""
        return self._builder(region).data

    def task_requirements(self, region: str, task_id: int) -> list[ApiObject]:
        """What `GET /task/{id}/requirements` answers for a task now (KeyError if deleted)."""
        data = self.data(region)
        task = data.find("task", task_id)
        override = data.requirement_overrides.get(task_id)
        if override is not None:
            return override
        return reference.task_requirements(self.seed, region, task)

    def hard_cases(self, region: str) -> dict[str, list[int]]:
        """Hard-case name -> ids (see `generator.HARD_CASES` for kind and description)."""
        return {name: list(ids) for name, ids in self.data(region).hard_cases.items()}

    def credentials(self, region: str) -> tuple[str, str]:
        if region not in self.regions:
            raise ValueError(f"region {region!r} is not simulated; simulated: {self.regions}")
        return credentials_for(region)

    def region_for_credentials(self, client_id: str, client_secret: str) -> str | None:
        for region in self.regions:
            if credentials_for(region) == (client_id, client_secret):
                return region
        return None

    # -- faults and counters --
    def set_faults(
        self,
        error_rate: float = 0.0,
        error_statuses: tuple[int, ...] | list[int] = DEFAULT_ERROR_STATUSES,
        rate_limit_every: int = 0,
        retry_after_s: int = 1,
        latency_ms: int = 0,
        truncate_rate: float = 0.0,
        token_ttl_s: int | None = None,
        auth_rate_limit: bool | None = None,
        fault_seed: int | None = None,
    ) -> None:
        """Replace the fault profile (omitted faults are off); None leaves a setting as it is."""
        seed = self._faults.profile.fault_seed if fault_seed is None else fault_seed
        profile = FaultProfile(
            float(error_rate),
            tuple(error_statuses),
            int(rate_limit_every),
            int(retry_after_s),
            int(latency_ms),
            float(truncate_rate),
            seed,
        )
        self._faults.configure(profile)
        if token_ttl_s is not None:
            self.token_ttl_s = int(token_ttl_s)
        if auth_rate_limit is not None:
            self.auth_rate_limit = bool(auth_rate_limit)

    def fail_calls(self, path_suffix: str, status: int, **query: str) -> None:
        """Answer `status` to every data call whose path ends with `path_suffix` and whose
        query has these values (e.g. one property's task list: `fail_calls("/task/", 422,
        home_id="1000005")`), until `clear_failed_calls`. Upstream, some properties' task
        lists answer 422."""
        with self.lock:
            self._failed_calls.append((path_suffix, dict(query), int(status)))
        self._forget_answers()

    def clear_failed_calls(self) -> None:
        with self.lock:
            self._failed_calls.clear()
        self._forget_answers()

    def _forced_status(self, request: Request) -> int | None:
        with self.lock:
            for suffix, query, status in self._failed_calls:
                if request.path.endswith(suffix) and all(
                    request.query.get(name, [None])[-1] == value for name, value in query.items()
                ):
                    return status
        return None

    @property
    def faults(self) -> FaultProfile:
        return self._faults.profile

    @property
    def counters(self) -> dict[str, int]:
        with self.lock:
            return dict(self._counters)

    def reset_counters(self) -> None:
        with self.lock:
            self._counters.clear()
            self.requests_log.clear()

    # -- request handling --
    def handle(self, request: Request) -> tuple[int, bytes, dict[str, str]]:
        """Answer one request: route, count, authenticate, inject faults, serve."""
        truncate = False
        route = None
        try:
            route, match = api.find_route(request.method, request.path)
            if route.kind != "admin":
                self._count(f"{request.method} {route.template}")
            if route.kind != "admin" and self.faults.latency_ms:
                time.sleep(self.faults.latency_ms / 1000)
            if route.kind == "data":
                request.region = api.authenticate(self, request)
                forced = self._forced_status(request)
                if forced is not None:
                    return self._finish(request, route.kind, self._fault_reply(forced))
                decision = self._faults.decide()
                if decision.status is not None:
                    return self._finish(request, route.kind, self._fault_reply(decision.status))
                truncate = decision.truncate
            cache_key = self._cache_key(request, route.kind)
            cached = self._cached_answer(cache_key)
            if cached is not None:
                return self._finish_encoded(request, route.kind, *cached, truncate=truncate)
            with self.lock:
                generation = self._generation
                reply = self._verbatim_reply(request, route) or route.handler(self, request, match)
            if cache_key is not None and reply.status == 200:
                encoded = (reply.status, _encode(reply.payload), reply.headers)
                with self.lock:
                    if generation == self._generation:
                        self._response_cache[cache_key] = encoded
                return self._finish_encoded(request, route.kind, *encoded, truncate=truncate)
        except ApiError as error:
            if route is None:
                self._count(f"{request.method} {request.path}")
            reply = Reply(error.status, error.body, error.headers)
        return self._finish(request, route.kind if route else "unknown", reply, truncate)

    def _fault_reply(self, status: int) -> Reply:
        if status == 429:
            return api.rate_limited_reply(self.faults.retry_after_s, self.clock_now())
        return Reply(
            status,
            {
                "error": ERROR_TEXT.get(status, "Server Error"),
                "description": "injected by breezeway-sim",
            },
        )

    def _count(self, key: str) -> None:
        with self.lock:
            self._counters[key] += 1

    def _cache_key(self, request: Request, kind: str) -> tuple[Any, ...] | None:
        if self._response_cache is None or kind != "data" or request.method != "GET":
            return None
        query = tuple(sorted((name, tuple(values)) for name, values in request.query.items()))
        return (request.region, request.path, query)

    def _cached_answer(
        self, key: tuple[Any, ...] | None
    ) -> tuple[int, bytes, dict[str, str]] | None:
        if key is None:
            return None
        with self.lock:
            return self._response_cache.get(key)

    def _forget_answers(self) -> None:
        with self.lock:
            self._generation += 1
            if self._response_cache is not None:
                self._response_cache.clear()

    def _finish(
        self, request: Request, kind: str, reply: Reply, truncate: bool = False
    ) -> tuple[int, bytes, dict[str, str]]:
        return self._finish_encoded(
            request, kind, reply.status, _encode(reply.payload), reply.headers, truncate=truncate
        )

    def _finish_encoded(
        self,
        request: Request,
        kind: str,
        status: int,
        payload: bytes,
        headers: dict[str, str],
        truncate: bool = False,
    ) -> tuple[int, bytes, dict[str, str]]:
        if truncate:
            payload = payload[: len(payload) // 2]
        if kind != "admin":
            query = {name: values[-1] for name, values in request.query.items()}
            with self.lock:
                self.requests_log.append((request.method, request.path, query, status))
        return status, payload, headers

    # -- server --
    def start(self, port: int = 0) -> str:
        """Serve on 127.0.0.1 in a background thread; returns the base URL."""
        if self._server is not None:
            raise RuntimeError(f"simulator already running at {self.base_url}")
        self._server = SimulatorHTTPServer(("127.0.0.1", port), self)
        # a short poll interval makes stop() quick (shutdown waits for the next poll)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="breezeway-sim", daemon=True
        )
        self._thread.start()
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self.base_url

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Simulator:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- mutations (each makes the object newer than anything generated) --
    @_mutation
    def touch_reservation(self, region: str, reservation_id: int) -> ApiObject:
        with self.lock:
            data = self.data(region)
            reservation = data.find("reservation", reservation_id)
            data.touch("reservation", reservation, self.clock_now())
            return reservation

    @_mutation
    def touch_task(self, region: str, task_id: int) -> ApiObject:
        with self.lock:
            data = self.data(region)
            task = data.find("task", task_id)
            data.touch("task", task, self.clock_now())
            return task

    @_mutation
    def _touch_property(self, region: str, property_id: int) -> ApiObject:
        with self.lock:
            data = self.data(region)
            prop = data.find("property", property_id)
            data.touch("property", prop, self.clock_now())
            return prop

    @_mutation
    def add_property(self, region: str) -> ApiObject:
        with self.lock:
            return self._builder(region).new_property(self.clock_now())

    @_mutation
    def add_reservation(self, region: str, property_id: int) -> ApiObject:
        with self.lock:
            prop = self.data(region).find("property", property_id)
            return self._builder(region).new_reservation(prop, self.clock_now())

    @_mutation
    def add_task(self, region: str, property_id: int) -> ApiObject:
        with self.lock:
            prop = self.data(region).find("property", property_id)
            return self._builder(region).new_task(prop, self.clock_now())

    @_mutation
    def set_task_requirements(
        self, region: str, task_id: int, requirements: list[ApiObject]
    ) -> ApiObject:
        """Serve these requirements for the task from now on, and mark the task updated
        (a checklist edit shows in the task's `updated_at`: our guess)."""
        with self.lock:
            self.data(region).requirement_overrides[task_id] = requirements
            return self.touch_task(region, task_id)

    @_mutation
    def delete_property(self, region: str, property_id: int) -> None:
        """Gone from /property (the API has no tombstones); its tasks and reservations stay."""
        with self.lock:
            data = self.data(region)
            data.remove("property", [data.find("property", property_id)])

    @_mutation
    def retire_property(self, region: str, property_id: int) -> dict[str, list[int]]:
        """Gone from /property together with its reservations and tasks (lists and 404 by
        id), as when a unit leaves the company. Returns kind -> deleted ids."""
        with self.lock:
            data = self.data(region)
            prop = data.find("property", property_id)
            reservations, tasks = data.objects_of_property(property_id)
            data.remove("reservation", reservations)
            data.remove("task", tasks)
            data.remove("property", [prop])
            return {
                "property": [property_id],
                "reservation": [r["id"] for r in reservations],
                "task": [t["id"] for t in tasks],
            }

    @_mutation
    def delete_reservation(self, region: str, reservation_id: int) -> None:
        """Gone from lists; GET /reservation/{id} answers 404 (no tombstone upstream)."""
        with self.lock:
            data = self.data(region)
            data.remove("reservation", [data.find("reservation", reservation_id)])

    @_mutation
    def delete_task(self, region: str, task_id: int) -> None:
        """Gone from lists; GET /task/{id} answers 404, as upstream after a deletion."""
        with self.lock:
            data = self.data(region)
            data.remove("task", [data.find("task", task_id)])

    @_mutation
    def hide_from_lists(self, region: str, kind: str, object_id: int) -> None:
        """Leave a live reservation or task out of every list while GET by id answers 200.

        Our model of a list rule we do not know: a production ETL saw tasks missing from
        a task list that still answered 200 by id. A client must not take absence from a
        list as proof of deletion.
        """
        self._list_visibility(region, kind, object_id, hidden=True)

    @_mutation
    def show_in_lists(self, region: str, kind: str, object_id: int) -> None:
        """Undo `hide_from_lists`."""
        self._list_visibility(region, kind, object_id, hidden=False)

    def _list_visibility(self, region: str, kind: str, object_id: int, hidden: bool) -> None:
        if kind not in LISTED_KINDS:
            raise ValueError(f"kind must be one of {list(LISTED_KINDS)}, got {kind!r}")
        with self.lock:
            data = self.data(region)
            data.find(kind, object_id)  # KeyError for an unknown or deleted object
            if hidden:
                data.hidden_from_lists[kind].add(object_id)
            else:
                data.hidden_from_lists[kind].discard(object_id)

    @_mutation
    def advance_day(self, rates: ChurnRates | None = None) -> ChurnDay:
        """Move the clock one day on and apply that day's churn to every simulated region.

        Deterministic: the changes follow from (seed, region, day number) and the data as
        it stands, so the same seed and the same calls give the same days. Every change
        is stamped inside the day (after the clock before, never after the clock now).
        """
        rates = rates or ChurnRates()
        with self.lock:
            for region in self.regions:
                self.data(region)  # generate first: a region's data never depends on the clock
            start, end = self._next_day_window()
            number = len(self.churn_log) + 1
            events = {
                region: churn.churn_region(
                    self._builder(region), self.seed, number, (start, end), rates
                )
                for region in self.regions
            }
            day = ChurnDay.from_events(number, start, end, events)
            self.churn_log.append(day)
            return day

    @_mutation
    def shrink_array(
        self, region: str, kind: str, object_id: int, field: str, keep: int
    ) -> ApiObject:
        """Keep only the first `keep` elements of a nested array, and mark the object updated."""
        touch = {
            "property": self._touch_property,
            "reservation": self.touch_reservation,
            "task": self.touch_task,
        }
        if kind not in touch:
            raise ValueError(f"kind must be one of {sorted(touch)}, got {kind!r}")
        with self.lock:
            obj = self.data(region).find(kind, object_id)
            if not isinstance(obj.get(field), list):
                raise ValueError(f"{kind} {object_id} has no array field {field!r}")
            obj[field] = obj[field][:keep]
            return touch[kind](region, object_id)


    # -- verbatim answers (fuzzing a client) --
    @_mutation
    def serve_verbatim(
        self, region: str, path: str, answer: VerbatimAnswer | None, status: int = 200
    ) -> None:
        """Answer a data list endpoint of a region with exactly `answer`; None restores it.

        For fuzzing a client with objects the simulator's own filters and sorts could not
        read (an id that is an object, an `updated_at` that is a number): items are served
        unfiltered and unsorted, paginated as usual (`/people`, `/companies`: a bare list);
        bytes are served as the whole body (JSON no Python value encodes to, such as
        `1e400` or invalid UTF-8). A function gets the request's query, e.g. to answer
        `/task/` per `home_id`. `path` is the list path, e.g. "/property" or "/task/".
        A `status` other than 200 serves `answer` as an error body (an API echoing what it
        was sent, say).
        """
        template = f"{api.DATA_PREFIX}{path}"
        if not any(r.template == template and r.kind == "data" for r in api.ROUTES):
            raise ValueError(f"{path!r} is not a data endpoint of the simulator")
        self._builder(region)  # an unknown region is an error here, not a silent no-op
        with self.lock:
            if answer is None:
                self._verbatim.pop((region, template), None)
            else:
                self._verbatim[(region, template)] = (answer, status)

    def _verbatim_reply(self, request: Request, route: api.Route) -> Reply | None:
        verbatim = self._verbatim.get((request.region, route.template)) if self._verbatim else None
        if verbatim is None:
            return None
        answer, status = verbatim
        served = answer(request.query) if callable(answer) else answer
        if isinstance(served, bytes) or status != 200 or route.template.endswith(BARE_LIST_PATHS):
            return Reply(status, served)
        return Reply(200, paginate(served, request.query, self.max_page_size))


def _encode(payload: Any) -> bytes:
    """UTF-8 JSON; bytes pass as they are (verbatim answers).

    A string holding a lone UTF-16 surrogate has no UTF-8 form: such a payload is sent
    with `\\uXXXX` escapes instead, as any JSON encoder must (and as an API written in a
    language with UTF-16 strings may well send), rather than failing the request.
    """
    if isinstance(payload, bytes):
        return payload
    try:
        return json.dumps(payload, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(payload).encode("ascii")
