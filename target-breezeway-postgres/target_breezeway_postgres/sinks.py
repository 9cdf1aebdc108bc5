"""Thin SDK sinks: they hand records to the target's single load unit.

Records normally bypass them (the target's lean path, see target.py); they carry records
only when stream maps or flattening are configured, and they give SCHEMA messages a sink
per stream, which is how the SDK knows a stream and its key properties.

A sink per stream is how the SDK routes messages, but one stream alone is not a load unit:
`Target.drain_one` drains one full sink by itself, which would commit property photos before
their properties. So a sink never writes its own batch. `process_batch` — whatever drain
called it — flushes the target's whole unit, parents first; the unit flushes itself when it
reaches `batch_size_rows` (which is why `is_full` is always False here).
"""

from __future__ import annotations

import typing as t

from singer_sdk.sinks import BatchSink

if t.TYPE_CHECKING:
    from target_breezeway_postgres.target import TargetBreezewayPostgres


class BreezewaySink(BatchSink):
    """Routes the records and drains of a mapped stream to the target's load unit."""

    def __init__(self, target: TargetBreezewayPostgres, *args: t.Any, **kwargs: t.Any) -> None:
        self.breezeway_target = target
        super().__init__(target, *args, **kwargs)

    def get_validator(self) -> None:
        """No JSON-schema validation: it dominates the load time, and our own typed
        conversion (conversions.py) decides what a column accepts, quarantining the rest."""
        return None

    def _validate_and_parse(self, record: dict) -> dict:
        """Skip the SDK's per-record timestamp parsing for the same reason."""
        return record

    def _singer_validate_message(self, record: dict) -> None:
        """A record missing a key property is quarantined by the target, not fatal."""

    @property
    def is_full(self) -> bool:
        return False

    def process_record(self, record: dict, context: dict) -> None:
        target = self.breezeway_target
        target.add_record(self.stream_name, record, target.current_version)

    def process_batch(self, context: dict) -> None:
        """A drain (no records here: `process_record` handed them on already), or a BATCH
        message's file (the SDK reads it into `context["records"]`): its records take the
        same path as RECORD messages, then the whole unit is flushed."""
        target = self.breezeway_target
        for record in context.get("records") or ():
            target.add_record(self.stream_name, record)
        target.flush()


class SkippedStreamSink(BreezewaySink):
    """A stream our schema has no table for (policy `skip`): counted and logged, not loaded."""

    def process_record(self, record: dict, context: dict) -> None:
        self.breezeway_target.count_skipped(self.stream_name, record)

    def process_batch(self, context: dict) -> None:
        """Nothing buffered for a skipped stream; a BATCH file's records are counted."""
        for record in context.get("records") or ():
            self.breezeway_target.count_skipped(self.stream_name, record)
