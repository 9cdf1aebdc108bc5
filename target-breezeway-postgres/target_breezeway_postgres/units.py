"""The load unit: records of all streams buffered together and written in one transaction.

Records are converted on arrival (so a bad value is known with its raw record at hand) and
de-duplicated by natural key, last one wins. The unit is bounded by `batch_size_rows`, which
keeps memory flat whatever the size of the sync.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from target_breezeway_postgres import conversions as cv
from target_breezeway_postgres.mapping import MAPPINGS, TableMapping

REGION_CODE = re.compile(r"^[a-z0-9_]{1,32}$")
# (region_code, id...) — the natural key of a row inside a unit.
Key = tuple[Any, ...]


@dataclass
class StagedRow:
    """A converted record. `values` is None when conversion failed (`reason` says why);
    the key is still known, so the row still counts as present for child-set replacement."""

    region_code: str
    key: Key
    parent_id: int | None
    values: dict[str, Any] | None
    reason: str | None
    record: dict[str, Any]
    refed: bool = False


@dataclass(frozen=True)
class Reject:
    """A record that will not load, with everything `load_rejects` needs."""

    stream: str
    region_code: str | None
    natural_key: dict[str, Any]
    reason: str
    record: dict[str, Any]

    @property
    def natural_key_json(self) -> str:
        return json.dumps(self.natural_key, sort_keys=True)


@dataclass
class VersionCompletion:
    """A full-table stream finished version V: rows of these regions not seen are deleted."""

    stream: str
    version: int
    seen_ids: dict[str, set[int]]


def natural_key(mapping: TableMapping, region_code: Any, key: Key) -> dict[str, Any]:
    """The JSON natural key of load_rejects: key properties plus region_code."""
    return {**dict(zip(mapping.key_properties, key, strict=True)), "region_code": region_code}


def _fingerprint(record: dict[str, Any]) -> str:
    """Tells keyless rejects apart (the open-reject index is unique on the natural key)."""
    raw = json.dumps(record, sort_keys=True, default=str).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def convert_record(mapping: TableMapping, record: dict[str, Any], refed: bool = False
                   ) -> StagedRow | Reject:
    """Convert one record; a record without a usable key or region is a `Reject` at once."""
    region_code = record.get("region_code")
    raw_key = tuple(record.get(name) for name in mapping.key_properties)
    try:
        key = tuple(cv.BIGINT.convert(value) for value in raw_key if value is not None)
    except cv.ConversionError as error:
        shown = dict(zip(mapping.key_properties, raw_key, strict=True))
        key, key_error = (), f"invalid key {shown}: {error}"
    else:
        missing = [n for n, v in zip(mapping.key_properties, raw_key, strict=True) if v is None]
        key_error = f"missing key property {', '.join(missing)}" if missing else None
    if not isinstance(region_code, str) or not REGION_CODE.match(region_code):
        key_error = key_error or f"invalid or missing region_code {region_code!r}"
    if key_error:
        nk = {**dict(zip(mapping.key_properties, raw_key, strict=True)),
              "region_code": region_code, "record_sha": _fingerprint(record)}
        return Reject(mapping.stream, region_code if isinstance(region_code, str) else None,
                      nk, key_error, record)
    values, reason = _convert_columns(mapping, record)
    parent_id = key[0] if mapping.child_key else None
    if mapping.parent and not mapping.child_key:
        parent_id = values.get(mapping.parent.source) if values else None
    return StagedRow(region_code, key, parent_id, values, reason, record, refed)


def _convert_columns(mapping: TableMapping, record: dict[str, Any]
                     ) -> tuple[dict[str, Any] | None, str | None]:
    values: dict[str, Any] = {}
    for name, field_name, reader, convert, required in mapping.plan:
        raw = reader(record) if reader else record.get(field_name)
        if raw is None:
            if required:
                return None, f"missing required field {name}"
            values[name] = None
            continue
        try:
            values[name] = convert(raw)
        except cv.ConversionError as error:
            return None, f"{field_name or name}: {error}"
    for check in mapping.checks:
        reason = check(values)
        if reason:
            return None, reason
    return values, None


@dataclass
class LoadUnit:
    """Rows of every stream waiting for one transaction, plus what must happen with them."""

    rows: dict[str, dict[Key, StagedRow]] = field(default_factory=lambda: defaultdict(dict))
    rejects: list[Reject] = field(default_factory=list)
    completions: list[VersionCompletion] = field(default_factory=list)
    size: int = 0
    # The parent whose child records may still be arriving: (stream, region_code, id).
    open_family: tuple[str, str, int] | None = None

    def add(self, stream: str, item: StagedRow | Reject) -> None:
        self.size += 1
        if isinstance(item, Reject):
            self.rejects.append(item)
            return
        self.rows[stream][(item.region_code, *item.key)] = item
        self._track_family(stream, item)

    def _track_family(self, stream: str, row: StagedRow) -> None:
        mapping = MAPPINGS[stream]
        if mapping.children:
            self.open_family = (stream, row.region_code, row.key[0])
        elif not (
            self.open_family
            and mapping.parent
            and mapping.child_key
            and self.open_family == (mapping.parent.stream, row.region_code, row.parent_id)
        ):
            self.open_family = None

    def split_open_family(self) -> LoadUnit:
        """Remove and return the last parent and its children, whose set may be incomplete.

        Used when the unit is flushed because it is full: writing a parent with half its
        children would delete the other half (child-set replacement) only to re-insert them
        in the next unit.
        """
        carry = LoadUnit()
        if not self.open_family:
            return carry
        parent_stream, region_code, parent_id = self.open_family
        parent_row = self.rows[parent_stream].pop((region_code, parent_id), None)
        if parent_row is None:
            return carry
        carry.add(parent_stream, parent_row)
        for child_stream in MAPPINGS[parent_stream].children:
            rows = self.rows.get(child_stream, {})
            for key in [k for k, r in rows.items()
                        if r.region_code == region_code and r.parent_id == parent_id]:
                carry.add(child_stream, rows.pop(key))
        self.size -= carry.size
        self.open_family = None
        return carry

    def regions(self) -> set[str]:
        return {row.region_code for rows in self.rows.values() for row in rows.values()}

    def __bool__(self) -> bool:
        return bool(self.size or self.completions)
