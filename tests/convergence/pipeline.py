"""One region's tap → target → confirm-deletions run in this process, as a region's Meltano
job chains them.

The real tap reads the simulator over HTTP; its Singer output goes to the real target,
which loads PostgreSQL; the state the target emits (after it committed) is what the next
run starts from; then the job's confirm step settles the deletion candidates.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from contextlib import redirect_stdout
from typing import Any

from breezeway_sim import Simulator
from tap_breezeway.tap import TapBreezeway
from target_breezeway_postgres.deletions import api_asker, confirm_deletions
from target_breezeway_postgres.target import TargetBreezewayPostgres


def tap_config(sim: Simulator, region: str, **overrides: Any) -> dict[str, Any]:
    client_id, client_secret = sim.credentials(region)
    return {
        "client_id": client_id,
        "client_secret": client_secret,
        "region_code": region,
        "api_url": sim.base_url,
        "max_requests_per_second": 0,
        "backoff_factor_s": 0.01,
        **overrides,
    }


def sync_region(
    sim: Simulator, region: str, db: Any, state: dict[str, Any] | None = None,
    target_overrides: dict[str, Any] | None = None, **tap_overrides: Any
) -> dict[str, Any]:
    """Run tap | target | confirm for one region; returns the target's last state (None
    state: a first or full-refresh run)."""
    tap = TapBreezeway(config=tap_config(sim, region, **tap_overrides), state=state)
    singer = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with redirect_stdout(singer):
        tap.sync_all()
    singer.seek(0)
    target = TargetBreezewayPostgres(config={"sqlalchemy_url": db.url, "schema": db.schema,
                                             "region_code": region, **(target_overrides or {})})
    emitted = io.StringIO()
    try:
        with redirect_stdout(emitted):
            target.listen(io.StringIO(singer.read()))
    finally:
        target.session.close()
    states = [json.loads(line) for line in emitted.getvalue().splitlines() if line.strip()]
    if not states:
        raise AssertionError(f"the target emitted no state for region {region}")
    confirm(sim, region, db, **tap_overrides)
    return states[-1]


def confirm(sim: Simulator, region: str, db: Any, **tap_overrides: Any) -> Counter[Any]:
    """breezeway-db confirm-deletions for the region: 404s soft-deleted."""
    raw = db.engine.raw_connection()
    try:
        connection = raw.driver_connection
        with connection.cursor() as cursor:
            cursor.execute(f'SET search_path TO "{db.schema}", public')
        connection.commit()
        return confirm_deletions(connection, region,
                                 api_asker(tap_config(sim, region, **tap_overrides)))
    finally:
        raw.close()
