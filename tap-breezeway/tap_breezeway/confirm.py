"""Asking the API whether an object a complete crawl did not return still exists.

Absence from a list is a candidate for deletion, not proof: a production client found
tasks missing from a task list that still answered 200 on `GET /task/{id}`. Only the
object's own endpoint settles it — 404: deleted upstream; 2xx: alive (the list missed it);
anything else: unknown, ask again later. The calls go through the tap's own machinery (JWT
auth, the run's request budget, retries of 429/5xx/timeouts), one per id, on `max_workers`
threads. Used by `breezeway-db confirm-deletions`; not a stream of the tap's catalog.
"""

from __future__ import annotations

import typing as t
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus

import requests
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from typing_extensions import override

from tap_breezeway.auth import AuthUnavailableError, CredentialsRefusedError
from tap_breezeway.client import BreezewayStream, failure_reason

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from tap_breezeway.tap import TapBreezeway

#: Object kinds whose existence can be asked: stream name -> API path of one object.
OBJECT_PATHS = {"reservations": "/reservation/{id}", "tasks": "/task/{id}"}


@dataclass(frozen=True)
class Existence:
    """The answer for one id: `status` is the HTTP status, or None when no answer came
    (`reason` then names the error class)."""

    source_id: int
    status: int | None
    reason: str | None = None

    @property
    def deleted(self) -> bool:
        return self.status == HTTPStatus.NOT_FOUND

    @property
    def alive(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class ObjectStatusStream(BreezewayStream):
    """`GET <path>/{id}` answered by one record `{"status": <HTTP status>}`: 404 is an
    answer here, not an error."""

    paginated = False

    def __init__(self, tap: TapBreezeway, stream: str) -> None:
        self.path = OBJECT_PATHS[stream]
        super().__init__(tap, name=f"{stream}_existence",
                         schema={"type": "object", "properties": {"status": {"type": "integer"}}})

    @override
    def validate_response(self, response: requests.Response) -> None:
        if response.status_code != HTTPStatus.NOT_FOUND:
            super().validate_response(response)

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        return [{"status": response.status_code}]

    def existence_of(self, source_id: int) -> Existence:
        context: Context = {"id": source_id}
        try:
            answer = next(iter(self.request_records(context)))
        except (CredentialsRefusedError, AuthUnavailableError):
            raise  # the credentials, not this object: stop
        except (FatalAPIError, RetriableAPIError, requests.RequestException) as error:
            response = getattr(error, "response", None)
            status = response.status_code if isinstance(response, requests.Response) else None
            return Existence(source_id, status, failure_reason(error))
        return Existence(source_id, int(answer["status"]))


def check_existence(tap: TapBreezeway, stream: str, ids: Iterable[int]) -> Iterator[Existence]:
    """One answer per id, in order; calls in parallel under the tap's request budget."""
    asker = ObjectStatusStream(tap, stream)
    workers = max(1, int(tap.config["max_workers"]))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="confirm") as pool:
        yield from pool.map(asker.existence_of, ids)
