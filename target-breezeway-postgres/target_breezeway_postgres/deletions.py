"""Confirming deletion candidates with the API, then soft-deleting what is really gone.

A complete crawl that did not return a live row makes it a candidate (reconcile.py). Here
each pending candidate of a region is settled, cheapest evidence first:

- the row was read again by a later run (`synced_at` after the candidate was found): `seen`;
- the row is already soft-deleted, or no longer there: `gone`;
- otherwise `GET /<kind>/{id}` (tap_breezeway.confirm): 404 soft-deletes the row
  (`deleted`), 2xx keeps it live (`alive`: the list missed it, logged), anything else
  leaves it pending for the next confirmation.

Soft deletes are counted on the sync_runs row of the run whose crawl found the candidate, so
a reconcile's row says how many rows it retired. Each batch is one transaction.
"""

# SQL here names only our own tables and columns; every value is bound.
# ruff: noqa: S608

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from target_breezeway_postgres.reconcile import RECONCILED

LOGGER = logging.getLogger("target_breezeway_postgres.deletions")
BATCH = 500


@dataclass(frozen=True)
class Candidate:
    candidate_id: int
    stream: str
    source_id: int
    run_id: str
    found_at: datetime
    row_state: str  # live | seen | gone


@dataclass(frozen=True)
class Answer:
    """What the API said of one candidate: an HTTP status, or None (no answer)."""

    source_id: int
    status: int | None
    reason: str | None = None  # why there is no usable answer (error class, HTTP status)


#: Asks the API about ids of one stream; yields one Answer per id, in order.
Asker = Callable[[str, list[int]], Iterable[Answer]]


def confirm_deletions(connection: Any, region: str, ask: Asker) -> Counter[tuple[str, str]]:
    """Settle the region's pending candidates; return counts per (stream, outcome)
    (outcome `deferred` for those still pending). `connection` is a psycopg2 connection
    with the schema on its search_path; the API is asked only about live, unseen rows."""
    counts: Counter[tuple[str, str]] = Counter()
    for stream in RECONCILED:
        candidates = _pending(connection, region, stream)
        _settle_without_api(connection, candidates, counts)
        live = [c for c in candidates if c.row_state == "live"]
        for batch in _batches(live, BATCH):
            answers = list(ask(stream, [c.source_id for c in batch]))
            _apply(connection, region, stream, batch, answers, counts)
    return counts


def _pending(connection: Any, region: str, stream: str) -> list[Candidate]:
    table, id_column = RECONCILED[stream]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT c.id, c.source_id, c.run_id, c.found_at, CASE "
            f"WHEN t.id IS NULL OR t.deleted_at IS NOT NULL THEN 'gone' "
            f"WHEN t.synced_at > c.found_at THEN 'seen' ELSE 'live' END "
            f"FROM deletion_candidates c LEFT JOIN {table} t "
            f"ON t.{id_column} = c.source_id AND t.region_code = c.region_code "
            f"WHERE c.resolved_at IS NULL AND c.region_code = %s AND c.stream = %s "
            f"ORDER BY c.found_at, c.id",
            (region, stream),
        )
        rows = cursor.fetchall()
    connection.commit()
    return [Candidate(cid, stream, sid, run, found, state)
            for cid, sid, run, found, state in rows]


def _settle_without_api(connection: Any, candidates: list[Candidate],
                        counts: Counter[tuple[str, str]]) -> None:
    settled = [(c.row_state, c.candidate_id) for c in candidates if c.row_state != "live"]
    if not settled:
        return
    with connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE deletion_candidates SET outcome = %s, resolved_at = now() WHERE id = %s",
            settled)
    connection.commit()
    counts.update((c.stream, c.row_state) for c in candidates if c.row_state != "live")


def _apply(connection: Any, region: str, stream: str, batch: list[Candidate],
           answers: list[Answer], counts: Counter[tuple[str, str]]) -> None:
    """One transaction: soft-delete the 404s, close the 2xx, count the rest as checked."""
    table, id_column = RECONCILED[stream]
    try:
        with connection.cursor() as cursor:
            for candidate, answer in zip(batch, answers, strict=True):
                outcome = _outcome(answer)
                if outcome == "deleted":
                    outcome = _soft_delete(cursor, table, id_column, region, candidate)
                elif outcome == "alive":
                    LOGGER.warning("the %s list of region %s missed %s id=%s, which still "
                                   "exists upstream: kept live", stream, region, stream,
                                   candidate.source_id)
                else:
                    LOGGER.warning("no answer for %s id=%s of region %s (%s): asked again "
                                   "next time", stream, candidate.source_id, region,
                                   answer.reason or f"HTTP {answer.status}")
                _close(cursor, candidate, answer, outcome)
                counts[(stream, outcome or "deferred")] += 1
        connection.commit()
    except BaseException:
        connection.rollback()
        raise


def _outcome(answer: Answer) -> str | None:
    if answer.status == 404:
        return "deleted"
    if answer.status is not None and 200 <= answer.status < 300:
        return "alive"
    return None


def _soft_delete(cursor: Any, table: str, id_column: str, region: str,
                 candidate: Candidate) -> str:
    """Soft-delete the row unless a run read it since the candidate was found."""
    cursor.execute(
        f"UPDATE {table} SET deleted_at = now(), updated_at = now() "
        f"WHERE region_code = %s AND {id_column} = %s AND deleted_at IS NULL "
        f"AND synced_at <= %s",
        (region, candidate.source_id, candidate.found_at),
    )
    if cursor.rowcount == 0:
        return "seen"
    cursor.execute(
        "UPDATE sync_runs SET rows_soft_deleted = rows_soft_deleted + 1 "
        "WHERE run_id = %s AND region_code = %s AND stream = %s",
        (candidate.run_id, region, candidate.stream),
    )
    return "deleted"


def _close(cursor: Any, candidate: Candidate, answer: Answer, outcome: str | None) -> None:
    cursor.execute(
        "UPDATE deletion_candidates SET checks = checks + 1, last_checked_at = now(), "
        "last_http_status = %s, outcome = %s, "
        "resolved_at = CASE WHEN %s IS NULL THEN NULL ELSE now() END WHERE id = %s",
        (answer.status, outcome, outcome, candidate.candidate_id),
    )


def _batches(items: list[Candidate], size: int) -> Iterator[list[Candidate]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def api_asker(tap_config: dict[str, Any] | None) -> Asker:
    """Ask with tap-breezeway (its auth, request budget and retries). `tap_config` None:
    the tap's settings from `TAP_BREEZEWAY_*` environment variables, as Meltano sets them.
    The tap is created on the first question, so a region without live candidates makes
    no API call at all (not even for a token)."""
    try:
        from tap_breezeway.confirm import check_existence
        from tap_breezeway.tap import TapBreezeway
    except ImportError as missing:
        raise RuntimeError("confirm-deletions asks the API through tap-breezeway: install it "
                           "beside this package (the Meltano utility breezeway-ops does)"
                           ) from missing

    taps: list[TapBreezeway] = []

    def ask(stream: str, ids: list[int]) -> Iterator[Answer]:
        if not taps:
            taps.append(TapBreezeway(config=tap_config, parse_env_config=tap_config is None))
        for existence in check_existence(taps[0], stream, ids):
            yield Answer(existence.source_id, existence.status, existence.reason)

    return ask
