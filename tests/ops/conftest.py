"""A sync history with every case the operators care about, in a migrated schema.

Evaluated at NOW (2026-11-25 06:00 UTC):
- nashville: two successful runs, the last finished 04:10 (1.8 h ago), open rejects;
- austin: a successful run yesterday, then a run whose `tasks` stream failed with an error
  text that still carries secrets (the status tool must scrub them again);
- smoky: last success 34 h ago (stale for 26 h);
- mammoth: only a run still in progress (never synced);
- every other region inactive; a few properties for the region statistics.
"""

from __future__ import annotations

import http.server
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
NOW_ARG = "2026-11-25T06:00:00+00:00"
URL_PASSWORD = "hunter2pw"
CLIENT_SECRET = "s3cr3tXYZ"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlX2hlcmU"
LEAKY_ERROR = (
    f"HTTP 500 from https://svc:{URL_PASSWORD}@api.example/x "
    f"client_secret={CLIENT_SECRET} header Authorization: JWT {JWT}"
)
SECRETS = (URL_PASSWORD, CLIENT_SECRET, JWT)

# (run_id, region, stream, status, started, finished, read, loaded, rejected, error)
RUNS = [
    ("n-1", "nashville", "properties", "succeeded", "2026-11-24 04:00", "2026-11-24 04:02",
     9, 9, 0, None),
    ("n-1", "nashville", "tasks", "succeeded", "2026-11-24 04:02", "2026-11-24 04:09",
     40, 40, 0, None),
    ("n-2", "nashville", "properties", "succeeded", "2026-11-25 04:00", "2026-11-25 04:03",
     10, 10, 0, None),
    ("n-2", "nashville", "tasks", "succeeded", "2026-11-25 04:03", "2026-11-25 04:10",
     50, 48, 2, None),
    ("a-1", "austin", "properties", "succeeded", "2026-11-24 05:00", "2026-11-24 05:01",
     5, 5, 0, None),
    ("a-1", "austin", "tasks", "succeeded", "2026-11-24 05:01", "2026-11-24 05:05",
     20, 20, 0, None),
    ("a-2", "austin", "properties", "succeeded", "2026-11-25 03:00", "2026-11-25 03:01",
     6, 6, 0, None),
    ("a-2", "austin", "tasks", "failed", "2026-11-25 03:01", "2026-11-25 03:02",
     3, 0, 0, LEAKY_ERROR),
    ("s-1", "smoky", "properties", "succeeded", "2026-11-23 20:00", "2026-11-23 20:30",
     7, 7, 0, None),
    ("m-1", "mammoth", "properties", "running", "2026-11-25 05:30", None, 0, 0, 0, None),
]

# (region, stream, natural key, reason, resolved)
REJECTS = [
    ("nashville", "tasks", {"id": 1}, "unknown property (home_id 77)", False),
    ("nashville", "tasks", {"id": 2}, "unknown property (home_id 77)", False),
    ("nashville", "properties", {"id": 3}, "latitude out of range", False),
    ("austin", "properties", {"id": 4}, "latitude out of range", False),
    ("austin", "tasks", {"id": 5}, "resolved long ago", True),
]

INACTIVE = ["breckenridge", "hill_country", "hilton_head", "sea_ranch"]


def execute(db, sql: str, rows: list[dict[str, object]] | dict[str, object] | None = None) -> None:
    """Write into the test schema (the fixture's .query() is for reading)."""
    with db.engine.begin() as connection:
        connection.exec_driver_sql(f'SET LOCAL search_path TO "{db.schema}", public')
        connection.execute(sa.text(sql), rows or {})


def insert_runs(db, runs: list[tuple]) -> None:
    execute(
        db,
        "INSERT INTO sync_runs (run_id, region_code, stream, status, started_at, finished_at,"
        " records_read, records_loaded, records_rejected, error_text)"
        " VALUES (:run_id, :region, :stream, :status, CAST(:started AS timestamptz),"
        " CAST(:finished AS timestamptz), :read, :loaded, :rejected, :error)",
        [
            dict(zip(["run_id", "region", "stream", "status", "started", "finished", "read",
                      "loaded", "rejected", "error"], run, strict=True))
            | {"started": f"{run[4]}+00", "finished": run[5] and f"{run[5]}+00"}
            for run in runs
        ],
    )


def set_active(db, regions: list[str], active: bool) -> None:
    execute(db, "UPDATE regions SET is_active = :active WHERE region_code = ANY(:regions)",
            {"active": active, "regions": regions})


@pytest.fixture
def status_db(migrated_db):
    """The migrated schema filled with the history described in the module docstring."""
    insert_runs(migrated_db, RUNS)
    execute(
        migrated_db,
        "INSERT INTO load_rejects (region_code, stream, natural_key, reason, record, run_id,"
        " resolved_at) VALUES (:region, :stream, CAST(:key AS jsonb), :reason,"
        " CAST(:record AS jsonb), 'r', CASE WHEN :resolved THEN now() END)",
        [
            {"region": r, "stream": s, "key": json.dumps(k), "reason": why,
             "record": json.dumps(k | {"region_code": r}), "resolved": resolved}
            for r, s, k, why, resolved in REJECTS
        ],
    )
    # Two live properties in nashville, one live and one soft-deleted in austin.
    execute(
        migrated_db,
        "INSERT INTO properties (property_id, region_code, deleted_at) VALUES"
        " (1, 'nashville', NULL), (2, 'nashville', NULL), (3, 'austin', NULL),"
        " (4, 'austin', now())",
    )
    # The fixture's history is of regions that ran: active (as their first run makes them),
    # but the one the tests retire.
    execute(migrated_db, "UPDATE regions SET is_active = true")
    set_active(migrated_db, INACTIVE, False)
    return migrated_db


def cli_args(db, *extra: str) -> list[str]:
    return ["--url", db.url, "--schema", db.schema, "--now", NOW_ARG, *extra]


@pytest.fixture
def ops():
    """This module's scenario constants and helpers: under --import-mode=importlib a test
    module cannot import its conftest, so the tests receive it as a fixture."""
    return sys.modules[__name__]


@dataclass
class Receiver:
    """A local webhook: records the JSON bodies it receives, answers per `behaviour`."""

    behaviour: Callable[[int], tuple[int, float]]  # attempt number -> (status, delay seconds)
    bodies: list[dict] = field(default_factory=list)
    url: str = ""
    gets: int = 0  # GET requests: what a followed redirect of the POST turns into


@pytest.fixture
def receiver_factory() -> Iterator[Callable[[Callable[[int], tuple[int, float]]], Receiver]]:
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(behaviour: Callable[[int], tuple[int, float]]) -> Receiver:
        receiver = Receiver(behaviour)

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                status, delay = receiver.behaviour(len(receiver.bodies))
                time.sleep(delay)
                try:
                    self.send_response(status)
                    if 300 <= status < 400:
                        self.send_header("Location", "/landing")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test): nothing left to answer

            def do_GET(self) -> None:
                receiver.gets += 1
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"landing page")

            def log_message(self, *args: object) -> None:
                """Keep the test output quiet."""

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        receiver.url = f"http://127.0.0.1:{server.server_port}/services/T0/B0/HOOKSECRETPATH"
        return receiver

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
