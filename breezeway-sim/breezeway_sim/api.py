"""Request routing and the endpoint handlers, independent of the HTTP server.

`handle()` turns (method, path, query, headers, body) into a `Reply`; the server in
`server.py` only moves bytes. Paths are those of our API notes §3: auth under
`/public/auth/v1/`, data under `/public/inventory/v1`, plus the simulator's own `/_sim/`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from breezeway_sim import reference
from breezeway_sim.churn import ChurnRates
from breezeway_sim.data import RegionData
from breezeway_sim.queries import (
    ApiError,
    Query,
    filter_reservations,
    filter_tasks,
    int_param,
    paginate,
    single,
    sort_objects,
)
from breezeway_sim.tokens import TokenError

if TYPE_CHECKING:
    from breezeway_sim.simulator import Simulator

AUTH_PREFIX = "/public/auth/v1"
DATA_PREFIX = "/public/inventory/v1"
AUTH_WINDOW_S = 60


@dataclass
class Request:
    method: str
    path: str
    query: Query
    headers: Mapping[str, str]
    body: bytes = b""
    region: str = ""  # set from the access token before a data handler runs


@dataclass
class Reply:
    status: int
    payload: Any
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[["Simulator", Request, "re.Match[str]"], Reply]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    template: str
    kind: str  # "auth", "data" or "admin"
    handler: Handler


def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        raise ApiError(400, "invalid request", "the body must be JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid request", "the body must be a JSON object")
    return body


# -- auth --
def _auth_throttle(sim: Simulator, endpoint: str, client: str) -> None:
    """1 call per minute per client and endpoint; over it, 429 with the expiry in both places."""
    if not sim.auth_rate_limit:
        return
    now = sim.clock_now()
    with sim.lock:
        last = sim.auth_calls.get((endpoint, client))
        if last is None or (now - last).total_seconds() >= AUTH_WINDOW_S:
            sim.auth_calls[(endpoint, client)] = now
            return
    retry_at = last + timedelta(seconds=AUTH_WINDOW_S)
    wait_s = max(1, int((retry_at - now).total_seconds() + 0.999))
    message = f"Request was throttled. Expected available in {wait_s} seconds."
    raise ApiError(
        429,
        "Too many requests",
        headers={"Retry-After": str(wait_s)},
        body={
            "error": "Too many requests",
            "details": {
                "message": message,
                "retry_after": retry_at.replace(tzinfo=None).isoformat(timespec="seconds"),
            },
        },
    )


def obtain_tokens(sim: Simulator, request: Request, match: re.Match[str]) -> Reply:
    body = _json_body(request)
    client_id, client_secret = body.get("client_id"), body.get("client_secret")
    if not isinstance(client_id, str) or not isinstance(client_secret, str):
        raise ApiError(400, "invalid request", "client_id and client_secret are required")
    _auth_throttle(sim, "token", client_id)
    region = sim.region_for_credentials(client_id, client_secret)
    if region is None:
        return Reply(200, {"error": "inactive client"})  # upstream answers 200, not 401
    return Reply(200, sim.tokens.issue_pair(region, sim.clock_now().timestamp(), sim.token_ttl_s))


def refresh_tokens(sim: Simulator, request: Request, match: re.Match[str]) -> Reply:
    token = _jwt_from_header(request)
    now = sim.clock_now().timestamp()
    try:
        claims = sim.tokens.verify(token, "refresh", now)
        _auth_throttle(sim, "refresh", claims.region)
        _, pair = sim.tokens.rotate(token, now, sim.token_ttl_s)
    except TokenError as error:
        raise ApiError(
            401, "token expired" if error.expired else "invalid token", str(error)
        ) from None
    return Reply(200, pair)


def _jwt_from_header(request: Request) -> str:
    header = request.headers.get("Authorization")
    if not header:
        raise ApiError(401, "authentication required", "send 'Authorization: JWT <access_token>'")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "jwt" or not token.strip():
        raise ApiError(
            401,
            "invalid authorization header",
            f"scheme {scheme!r} is not accepted; send 'Authorization: JWT <token>'",
        )
    return token.strip()


def authenticate(sim: Simulator, request: Request) -> str:
    """The region whose access token the request carries, or a 401."""
    token = _jwt_from_header(request)
    try:
        return sim.tokens.verify(token, "access", sim.clock_now().timestamp()).region
    except TokenError as error:
        if error.expired:
            raise ApiError(401, "token expired") from None
        raise ApiError(401, "invalid token", str(error)) from None


# -- data --
def _region_data(sim: Simulator, request: Request) -> RegionData:
    data = sim.data(request.region)
    company_id = int_param(request.query, "company_id")
    if company_id is not None and company_id != data.company_id:
        raise ApiError(
            403, "permission denied", f"these credentials have no access to company {company_id}"
        )
    return data


def list_properties(sim: Simulator, request: Request, match: re.Match[str]) -> Reply:
    data = _region_data(sim, request)
    items = sort_objects(data, "property", data.properties, request.query)
    return Reply(200, paginate(items, request.query, sim.max_page_size))


def list_reservations(sim: Simulator, request: Request, match: re.Match[str]) -> Reply:
    data = _region_data(sim, request)
    items = filter_reservations(data, request.query, sim.clock_now().date())
    items = data.listed("reservation", items)
    items = sort_objects(data, "reservation", items, request.query)
    return Reply(200, paginate(items, request.query, sim.max_page_size))


def list_tasks(sim: Simulator, request: Request, match: re.Match[str]) -> Reply:
    data = _region_data(sim, request)
    items = data.listed("task", filter_tasks(data, request.query))
    items = sort_objects(data, "task", items, request.query)
    return Reply(200, paginate(items, request.query, sim.max_page_size))


def list_supplies(sim: Simulator, request: Request, match: re.Match[str]) -> Reply:
    data = _region_data(sim, request)
    items = sort_objects(data, "supply", data.supplies, request.query)
    return Reply(200, paginate(items, request.query, sim.max_page_size))


def list_people(sim: Simulator, request: Request, match: re.Match[str]) -> Reply:
    data = _region_data(sim, request)
    status = single(request.query, "status")
    if status is not None and status not in ("active", "invited", "inactive"):
        raise ApiError(400, "invalid status", "status must be active, invited or inactive")
    people = [p for p in data.people if status is None or data.person_status[p["id"]] == status]
    return Reply(200, people)


def list_companies(sim: Simulator, request: Request, match: re.Match[str]) -> Reply:
    return Reply(200, _region_data(sim, request).companies)


def _reference_list(attribute: str) -> Handler:
    """A bare-list reference endpoint (tags of a kind, templates): one call per region."""

    def list_reference(sim: Simulator, request: Request, match: re.Match[str]) -> Reply:
        return Reply(200, getattr(_region_data(sim, request), attribute))

    return list_reference


def list_subdepartments(sim: Simulator, request: Request, match: re.Match[str]) -> Reply:
    """Needs `company_id` or `reference_company_id` (our notes §3): 400 without either."""
    data = _region_data(sim, request)
    reference_id = single(request.query, "reference_company_id")
    if single(request.query, "company_id") is None and reference_id is None:
        raise ApiError(400, "invalid request", "company_id or reference_company_id is required")
    own = data.companies[0]["reference_company_id"] if data.companies else None
    if reference_id is not None and reference_id != own:
        raise ApiError(
            403, "permission denied", "these credentials have no access to that company"
        )
    return Reply(200, data.subdepartments)


def task_requirements(sim: Simulator, request: Request, match: re.Match[str]) -> Reply:
    """The checklist of one task: a bare list whose items have no `id` (our notes §4.8)."""
    data = _region_data(sim, request)
    task_id = int(match["id"])
    try:
        task = data.find("task", task_id)
    except KeyError:
        raise ApiError(404, "not found", f"no task with id {task_id}") from None
    override = data.requirement_overrides.get(task_id)
    if override is not None:
        return Reply(200, override)
    return Reply(200, reference.task_requirements(sim.seed, data.region, task))


def _one(kind: str) -> Handler:
    def get_one(sim: Simulator, request: Request, match: re.Match[str]) -> Reply:
        data = _region_data(sim, request)
        try:
            return Reply(200, data.find(kind, int(match["id"])))
        except KeyError:
            raise ApiError(404, "not found", f"no {kind} with id {match['id']}") from None

    return get_one


def reservation_tasks(sim: Simulator, request: Request, match: re.Match[str]) -> Reply:
    data = _region_data(sim, request)
    reservation_id = int(match["id"])
    try:
        data.find("reservation", reservation_id)
    except KeyError:
        raise ApiError(404, "not found", f"no reservation with id {reservation_id}") from None
    linked = [
        t
        for t in data.tasks
        if t["linked_reservation"] and t["linked_reservation"]["id"] == reservation_id
    ]
    return Reply(200, data.listed("task", linked))


# -- simulator admin (no auth: the simulator's own control surface) --
def admin_counters(sim: Simulator, request: Request, match: re.Match[str]) -> Reply:
    return Reply(200, sim.counters)


def admin_reset_counters(sim: Simulator, request: Request, match: re.Match[str]) -> Reply:
    sim.reset_counters()
    return Reply(200, {"ok": True})


def admin_faults(sim: Simulator, request: Request, match: re.Match[str]) -> Reply:
    try:
        sim.set_faults(**_json_body(request))
    except (TypeError, ValueError) as error:
        raise ApiError(400, "invalid faults", str(error)) from None
    return Reply(200, {"ok": True})


def admin_advance_time(sim: Simulator, request: Request, match: re.Match[str]) -> Reply:
    seconds = _json_body(request).get("seconds")
    if not isinstance(seconds, int | float):
        raise ApiError(400, "invalid request", "seconds must be a number")
    sim.advance_time(seconds)
    return Reply(200, {"now": sim.clock_now().isoformat()})


def admin_advance_day(sim: Simulator, request: Request, match: re.Match[str]) -> Reply:
    """One day of churn; the optional JSON body overrides rates (`ChurnRates` fields)."""
    overrides = _json_body(request) if request.body.strip() else {}
    try:
        rates = ChurnRates.from_mapping(overrides)
    except (TypeError, ValueError) as error:
        raise ApiError(400, "invalid churn rates", str(error)) from None
    return Reply(200, sim.advance_day(rates).to_json())


def admin_hard_cases(sim: Simulator, request: Request, match: re.Match[str]) -> Reply:
    region = single(request.query, "region")
    if region not in sim.regions:
        raise ApiError(400, "invalid region", f"region must be one of {sim.regions}")
    return Reply(200, sim.hard_cases(region))


def _route(method: str, template: str, kind: str, handler: Handler) -> Route:
    pattern = re.escape(template).replace(re.escape("{id}"), r"(?P<id>\d+)")
    return Route(method, re.compile(pattern + r"\Z"), template, kind, handler)


ROUTES: tuple[Route, ...] = (
    _route("POST", f"{AUTH_PREFIX}/", "auth", obtain_tokens),
    _route("POST", f"{AUTH_PREFIX}/refresh", "auth", refresh_tokens),
    _route("GET", f"{DATA_PREFIX}/property", "data", list_properties),
    _route("GET", f"{DATA_PREFIX}/property/tags", "data", _reference_list("property_tags")),
    _route("GET", f"{DATA_PREFIX}/property/{{id}}", "data", _one("property")),
    _route("GET", f"{DATA_PREFIX}/reservation", "data", list_reservations),
    _route("GET", f"{DATA_PREFIX}/reservation/tags", "data", _reference_list("reservation_tags")),
    _route("GET", f"{DATA_PREFIX}/reservation/{{id}}", "data", _one("reservation")),
    _route("GET", f"{DATA_PREFIX}/reservation/{{id}}/tasks", "data", reservation_tasks),
    _route("GET", f"{DATA_PREFIX}/task/", "data", list_tasks),
    _route("GET", f"{DATA_PREFIX}/task/{{id}}", "data", _one("task")),
    _route("GET", f"{DATA_PREFIX}/task/{{id}}/requirements", "data", task_requirements),
    _route("GET", f"{DATA_PREFIX}/task/tags", "data", _reference_list("task_tags")),
    _route("GET", f"{DATA_PREFIX}/people", "data", list_people),
    _route("GET", f"{DATA_PREFIX}/people/{{id}}", "data", _one("person")),
    _route("GET", f"{DATA_PREFIX}/supplies", "data", list_supplies),
    _route("GET", f"{DATA_PREFIX}/companies", "data", list_companies),
    _route("GET", f"{DATA_PREFIX}/companies/templates", "data", _reference_list("templates")),
    _route("GET", f"{DATA_PREFIX}/companies/subdepartments", "data", list_subdepartments),
    _route("GET", "/_sim/counters", "admin", admin_counters),
    _route("POST", "/_sim/reset-counters", "admin", admin_reset_counters),
    _route("POST", "/_sim/faults", "admin", admin_faults),
    _route("POST", "/_sim/advance-time", "admin", admin_advance_time),
    _route("POST", "/_sim/advance-day", "admin", admin_advance_day),
    _route("GET", "/_sim/hard-cases", "admin", admin_hard_cases),
)


def find_route(method: str, path: str) -> tuple[Route, re.Match[str]]:
    """The route for a request, or 404 (unknown path) / 405 (known path, other method)."""
    path_known = False
    for route in ROUTES:
        match = route.pattern.match(path)
        if match:
            if route.method == method:
                return route, match
            path_known = True
    if path_known:
        raise ApiError(405, "method not allowed", f"{method} is not allowed on {path}")
    raise ApiError(404, "not found", f"no endpoint at {path}")


def rate_limited_reply(retry_after_s: int, now: datetime) -> Reply:
    """The 429 an injected data-endpoint throttle answers with (same shape as auth's)."""
    retry_at = (now + timedelta(seconds=retry_after_s)).astimezone(UTC).replace(tzinfo=None)
    return Reply(
        429,
        {
            "error": "Too many requests",
            "details": {
                "message": f"Request was throttled. Expected available in {retry_after_s} seconds.",
                "retry_after": retry_at.isoformat(timespec="seconds"),
            },
        },
        {"Retry-After": str(retry_after_s)},
    )
