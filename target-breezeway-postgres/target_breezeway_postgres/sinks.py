"""Thin SDK sinks: a sink per stream is how the SDK knows a stream (its SCHEMA and keys).

Records do not pass through them (the target hands RECORD messages to the load session,
session.py); only the records of a BATCH message's files do, which the SDK reads into
`process_batch`'s context. A drain writes nothing of its own: one stream alone is not a
load unit (`Target.drain_one` would commit property photos before their properties), so
any drain flushes the session's whole unit, parents first.
"""

from __future__ import annotations

import typing as t

from singer_sdk.sinks import BatchSink
from typing_extensions import override

if t.TYPE_CHECKING:
    from target_breezeway_postgres.session import LoadSession


class BreezewaySink(BatchSink):
    """A mapped stream: BATCH files' records go to the load session like RECORD messages."""

    def __init__(self, target: t.Any, *args: t.Any, **kwargs: t.Any) -> None:
        self.session: LoadSession = target.session
        super().__init__(target, *args, **kwargs)

    @override
    def get_validator(self) -> None:
        """No JSON-schema validation: it dominates the load time, and our own typed
        conversion (conversions.py) decides what a column accepts, quarantining the rest."""
        return None

    @property
    @override
    def is_full(self) -> bool:
        return False  # the session's unit is bounded by batch_size_rows, not a sink

    @property
    @override
    def include_sdc_metadata_properties(self) -> bool:
        """True only to spare a warning per ACTIVATE_VERSION: records never pass through
        this sink, so no _sdc column is added anywhere (our schema has none)."""
        return True

    @override
    def activate_version(self, new_version: int) -> None:
        """A full-table version's start or end: the session's concern (a completion
        retires rows at the end of the unit it closes), not one sink's."""
        self.session.activate_version(self.stream_name, new_version)

    @override
    def process_record(self, record: dict, context: dict) -> None:
        self.session.add(self.stream_name, record)

    @override
    def process_batch(self, context: dict) -> None:
        """A drain (no records in it), or a BATCH message's file (`context["records"]`): its
        records take the RECORD path, then the whole unit is flushed."""
        for record in context.get("records") or ():
            self.session.add(self.stream_name, record)
        self.session.flush()


class SkippedStreamSink(BreezewaySink):
    """A stream our schema has no table for (policy `skip`): counted, not loaded."""

    @override
    def activate_version(self, new_version: int) -> None:
        """Nothing to retire in a stream without a table."""

    @override
    def process_batch(self, context: dict) -> None:
        for record in context.get("records") or ():
            self.session.count_skipped(self.stream_name, record)
