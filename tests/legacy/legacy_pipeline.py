"""The real pipeline for the legacy tests: tap → target against the simulator, and a way to
pause a sync half-way (unique module name: helpers of other test folders share sys.path)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from contextlib import redirect_stdout
from typing import Any

from breezeway_sim import Simulator
from tap_breezeway.tap import TapBreezeway
from target_breezeway_postgres.target import TargetBreezewayPostgres


def tap_lines(sim: Simulator, region: str) -> list[str]:
    """A full sync of one region by the real tap, as Singer lines."""
    client_id, client_secret = sim.credentials(region)
    tap = TapBreezeway(config={
        "client_id": client_id, "client_secret": client_secret, "region_code": region,
        "api_url": sim.base_url, "max_requests_per_second": 0, "backoff_factor_s": 0.01})
    buffer = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with redirect_stdout(buffer):
        tap.sync_all()
    buffer.seek(0)
    return buffer.read().splitlines(keepends=True)


def run_target(db: Any, lines: Iterable[str], region: str) -> None:
    """Load Singer lines with the real target (its stdout, the STATE lines, discarded)."""
    target = TargetBreezewayPostgres(config={
        "sqlalchemy_url": db.url, "schema": db.schema, "region_code": region})
    try:
        with redirect_stdout(io.StringIO()):
            target.listen(iter(lines))
    finally:
        target.session.close()


def sync(sim: Simulator, db: Any, region: str) -> None:
    run_target(db, tap_lines(sim, region), region)


def pausing(lines: list[str], before_stream: str, action: Callable[[], None]) -> Iterator[str]:
    """The lines, running `action` once when the target asks for the first message of
    `before_stream`: the sync is under way (earlier streams read, units committed or being
    written, the run still open) while `action` runs."""
    paused = False
    for line in lines:
        if not paused and f'"stream":"{before_stream}"' in line.replace(" ", ""):
            paused = True
            action()
        yield line
    assert paused, f"no {before_stream} message in the tap output"
