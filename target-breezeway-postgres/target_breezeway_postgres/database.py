"""The target's session with PostgreSQL: one connection at a time, replaced when it is lost.

A server restart, a failover or an idle-connection killer ends the session in the middle of
a load. Every piece of work here is a transaction that can be run again as a whole (upserts
keyed on natural keys, child sets replaced, counts written as run totals), so a transaction
that loses its connection is retried on a new one, with backoff, a bounded number of times:
nothing half-committed, nothing lost. When it gives up, the error says so (and why) and the
caller records the run as failed on a fresh connection if one can be had.

Connections carry `connect_timeout` and TCP keepalives, so a dead peer is noticed within
about a minute instead of a kernel's two hours. After the error of a lost connection,
`rollback()` would itself raise ("connection already closed") and hide the cause: a lost
connection is dropped, never rolled back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg2
import sqlalchemy as sa

from target_breezeway_postgres import redact

LOGGER = logging.getLogger("target_breezeway_postgres.database")
T = TypeVar("T")

#: libpq settings of every connection: fail fast when the server does not answer, notice a
#: dead peer, and name ourselves in pg_stat_activity.
CONNECTION_SETTINGS: dict[str, Any] = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "application_name": "target-breezeway-postgres",
}
#: SQLSTATEs of a session the server ended: admin_shutdown, crash_shutdown, cannot_connect_now.
SESSION_ENDED = frozenset({"57P01", "57P02", "57P03"})


class DatabaseUnavailableError(RuntimeError):
    """The connection was lost on every attempt of one transaction."""


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts of one transaction whose connection is lost, and the waits between them."""

    attempts: int = 6
    first_wait_s: float = 1.0
    max_wait_s: float = 30.0

    def wait(self, attempt: int) -> float:
        return min(self.first_wait_s * 2 ** (attempt - 1), self.max_wait_s)


def engine_for(url: str) -> sa.Engine:
    """The SQLAlchemy engine (migrations): the same libpq settings, connections checked
    before use."""
    return sa.create_engine(url, pool_size=1, max_overflow=1, pool_pre_ping=True,
                            connect_args=dict(CONNECTION_SETTINGS))


def connection_lost(connection: Any, error: BaseException) -> bool:
    """Whether `error` ended the session (rather than failing one statement)."""
    error = getattr(error, "orig", None) or error
    if not isinstance(error, psycopg2.OperationalError | psycopg2.InterfaceError):
        return False
    code = getattr(error, "pgcode", None)
    closed = connection is None or bool(getattr(connection, "closed", 1))
    return closed or code is None or code.startswith("08") or code in SESSION_ENDED


class Database:
    """Runs transactions on a psycopg2 connection of its own, replaced when lost.

    `prepare` runs on every new connection (search path, session temp tables). Not
    thread-safe: the target hands the session to its writer thread and waits for it.
    """

    def __init__(self, engine: sa.Engine, prepare: Callable[[Any], None],
                 policy: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        args, params = engine.dialect.create_connect_args(engine.url)
        self._connect_args = (args, {**params, **CONNECTION_SETTINGS})
        self._prepare = prepare
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._connection: Any = None
        self.reconnects = 0

    @property
    def connection(self) -> Any:
        """The live connection, made (and prepared) on first use or after a loss."""
        if self._connection is None or self._connection.closed:
            args, params = self._connect_args
            connection = psycopg2.connect(*args, **params)
            try:
                self._prepare(connection)
                connection.commit()
            except BaseException:
                connection.close()
                raise
            self._connection = connection
        return self._connection

    def transaction(self, work: Callable[[Any], T], what: str) -> T:
        """`work(cursor)` in one transaction, committed; run again on a new connection when
        the connection is lost (connecting included), up to the policy's attempts."""
        for attempt in range(1, self.policy.attempts + 1):
            connection = None
            try:
                connection = self.connection
                with connection.cursor() as cursor:
                    result = work(cursor)
                connection.commit()
                return result
            except BaseException as error:
                if not connection_lost(connection, error):
                    self._roll_back(connection)
                    raise
                self._drop()
                if attempt == self.policy.attempts:
                    raise DatabaseUnavailableError(
                        f"{what}: the database connection was lost {attempt} times; last: "
                        f"{redact.describe_error(error)}") from error
                wait = self.policy.wait(attempt)
                LOGGER.warning("%s: database connection lost (%s); attempt %d of %d in %.1fs",
                               what, redact.describe_error(error), attempt + 1,
                               self.policy.attempts, wait)
                self.reconnects += 1
                self._sleep(wait)
        raise AssertionError("unreachable")  # the loop returns or raises

    def retrying(self, work: Callable[[], T], what: str, engine: sa.Engine) -> T:
        """`work()` through the SQLAlchemy engine (migrations), run again when its
        connection is lost; the engine's pool is emptied before each new attempt."""
        for attempt in range(1, self.policy.attempts + 1):
            try:
                return work()
            except sa.exc.DBAPIError as error:
                if not connection_lost(None, error) or attempt == self.policy.attempts:
                    raise
                engine.dispose()
                LOGGER.warning("%s: database connection lost (%s); attempt %d of %d",
                               what, redact.describe_error(error), attempt + 1,
                               self.policy.attempts)
                self.reconnects += 1
                self._sleep(self.policy.wait(attempt))
        raise AssertionError("unreachable")

    def _roll_back(self, connection: Any) -> None:
        """Roll back after a statement's error, unless the session is gone meanwhile."""
        if connection is None or connection.closed:
            self._drop()
            return
        try:
            connection.rollback()
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            self._drop()

    def _drop(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except (psycopg2.Error, OSError):
                LOGGER.debug("closing a lost connection failed", exc_info=True)
            self._connection = None

    def close(self) -> None:
        self._drop()
