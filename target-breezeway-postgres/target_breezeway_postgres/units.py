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
from decimal import Decimal
from typing import Any

import msgspec

from target_breezeway_postgres import conversions as cv
from target_breezeway_postgres.mapping import MAPPINGS, TableMapping

REGION_CODE = re.compile(r"^[a-z0-9_]{1,32}$")
# (region_code, id...) — the natural key of a row inside a unit.
Key = tuple[Any, ...]
MESSAGE_DECODER = msgspec.json.Decoder()
INT64_MIN = -cv.INT64_MAX - 1
#: Errors a converter may raise on a value nobody foresaw (besides ConversionError): the
#: record is quarantined with the field named, never the run failed.
CONVERTER_FAULTS = (TypeError, ValueError, ArithmeticError, RecursionError, LookupError)


@dataclass(slots=True)
class StagedRow:
    """A converted record, ready to stage.

    `head` is the COPY text of region_code, parent id and child key; `data` that of the
    data columns, or None when conversion failed (`reason` says why): the key is still
    known, so the row still counts as present for child-set replacement. The raw record is
    kept as its input line (a few hundred bytes instead of a dict of Python objects) and
    parsed again only if the row is rejected.
    """

    region_code: str
    key: Key
    parent_id: int | None
    head: str
    data: str | None
    reason: str | None
    source: dict[str, Any] | str
    refed: bool = False
    flag: bool = False

    @property
    def record(self) -> dict[str, Any]:
        """The raw record (from the message line it came in, when that was kept)."""
        if isinstance(self.source, dict):
            return self.source
        return decode_message(self.source)["record"]

    def fail(self, reason: str) -> None:
        """Conversion-level reject found later (e.g. a second default photo in the unit)."""
        self.data, self.reason, self.flag = None, reason, False


def decode_message(line: str) -> Any:
    """A Singer message line, decoded as the SDK's msgspec reader does; a line only a
    lenient parser reads (JSON escapes of lone UTF-16 surrogates, which msgspec refuses)
    is decoded by the standard library instead, numbers with a fraction as Decimal too:
    its values are made storable later, instead of the whole run failing on one line."""
    try:
        return MESSAGE_DECODER.decode(line)
    except msgspec.DecodeError:
        return json.loads(line, parse_float=Decimal)


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
        return cv.json_text(self.natural_key, sort_keys=True)


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
    raw = cv.json_text(record, sort_keys=True).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def convert_record(mapping: TableMapping, record: dict[str, Any], refed: bool = False,
                   source: str | None = None) -> StagedRow | Reject:
    """Convert one record into its COPY text; a record without a usable key or region is a
    `Reject` at once. `source` is the input line holding the record, if known."""
    region_code: Any = record.get("region_code")
    key, key_error = _key(mapping, record)
    if not (type(region_code) is str and REGION_CODE.match(region_code)):
        key_error = key_error or f"invalid or missing region_code {region_code!r}"
    if key_error:
        raw_key = [record.get(name) for name in mapping.key_properties]
        nk = {**dict(zip(mapping.key_properties, raw_key, strict=True)),
              "region_code": region_code, "record_sha": _fingerprint(record)}
        return Reject(mapping.stream, region_code if isinstance(region_code, str) else None,
                      nk, key_error, record)
    data, reason = _copy_data(mapping, record)
    if mapping.child_key:
        parent_id: int | None = key[0]
        head = f"{region_code}\t{key[0]}\t{key[-1]}"
    elif mapping.parent:
        parent_id = cv.BIGINT.convert(record[mapping.parent.source]) if data else None
        head = f"{region_code}\t{cv.NULL_TEXT if parent_id is None else parent_id}"
    else:
        parent_id, head = None, region_code
    flag = data is not None and mapping.flag_index is not None and (
        data.split("\t")[mapping.flag_index] == "t")
    return StagedRow(region_code, key, parent_id, head, data, reason,
                     record if source is None else source, refed, flag)


def foreign_record(stream: str, record: dict[str, Any], region_code: str, reason: str
                   ) -> Reject:
    """A record of another region than the run's: quarantined under the run's region (where
    an operator looks), keyed by what it claims to be, never loaded, never counted as seen."""
    mapping = MAPPINGS.get(stream)
    names = mapping.key_properties if mapping else ("region_code", "stream", "scope")
    claimed = {name: record.get(name) for name in names}
    shown = {k: v if isinstance(v, int | str) and not isinstance(v, bool) else cv.shape(v)
             for k, v in claimed.items()}
    return Reject(stream, region_code,
                  {**shown, "region_code": region_code, "claimed_region": str(
                      record.get("region_code"))[:40], "record_sha": _fingerprint(record)},
                  reason, record)


def _key(mapping: TableMapping, record: dict[str, Any]) -> tuple[Key, str | None]:
    """The natural key as integers, or the reason there is none."""
    raw_key = [record.get(name) for name in mapping.key_properties]
    if all(type(value) is int and INT64_MIN <= value <= cv.INT64_MAX for value in raw_key):
        return tuple(raw_key), None
    key = []
    for name, value in zip(mapping.key_properties, raw_key, strict=True):
        if value is None:
            continue
        try:
            key.append(cv.BIGINT.convert(value))
        except cv.ConversionError as error:
            return (), f"invalid key {name}: {error}"
    if len(key) < len(raw_key):
        missing = [n for n, v in zip(mapping.key_properties, raw_key, strict=True) if v is None]
        return tuple(key), f"missing key property {', '.join(missing)}"
    return tuple(key), None


def _copy_data(mapping: TableMapping, record: dict[str, Any]
               ) -> tuple[str | None, str | None]:
    """COPY text of the data columns (tab-separated), or None and the reject reason.
    One pass: each raw value is converted straight into its COPY text."""
    texts: list[str] = []
    append = texts.append
    for name, field_name, reader, to_copy, required in mapping.copy_plan:
        # (field_name is a str whenever reader is None: TableMapping.copy_plan)
        raw = record.get(field_name) if reader is None else reader(record)  # type: ignore[arg-type]
        if raw is not None:
            try:
                append(to_copy(raw))
            except cv.ConversionError as error:
                return None, f"{field_name or name}: {error}"
            except CONVERTER_FAULTS as error:  # a value no converter foresaw: quarantined
                return None, f"{field_name or name}: cannot convert {cv.shape(raw)} " \
                    f"({type(error).__name__})"
        elif required:
            return None, f"missing required field {name}"
        else:
            append(cv.NULL_TEXT)
    for check in mapping.checks:
        reason = check(record)
        if reason:
            return None, reason
    return "\t".join(texts), None


@dataclass(frozen=True)
class ChildSetLimits:
    """Child sets a unit must not replace (children read with calls of their own, see
    `TableMapping.fetched_per_parent`): a missing child there may be a failed call."""

    # Child streams whose sets are not replaced at all in this run (upserted only).
    unreplaced: frozenset[str] = frozenset()
    # (parent stream, region_code, parent id): that parent's call failed; keep its children.
    kept: frozenset[tuple[str, str, int]] = frozenset()
    # (parent stream, region_code): the calls stopped for the region; keep all its children.
    kept_regions: frozenset[tuple[str, str]] = frozenset()

    def kept_of(self, parent_stream: str) -> tuple[list[str], list[int], list[str]]:
        """The kept parents of one parent stream (regions, ids) and its kept regions."""
        kept = sorted((region, pid) for stream, region, pid in self.kept if stream == parent_stream)
        regions = sorted(region for stream, region in self.kept_regions if stream == parent_stream)
        return [r for r, _ in kept], [pid for _, pid in kept], regions


@dataclass
class LoadUnit:
    """Rows of every stream waiting for one transaction, plus what must happen with them."""

    rows: dict[str, dict[Key, StagedRow]] = field(default_factory=lambda: defaultdict(dict))
    rejects: list[Reject] = field(default_factory=list)
    completions: list[VersionCompletion] = field(default_factory=list)
    child_limits: ChildSetLimits = field(default_factory=ChildSetLimits)
    size: int = 0
    # The parent whose child records may still be arriving: (stream, region_code, id).
    open_family: tuple[str, str, int] | None = None

    def add(self, stream: str, item: StagedRow | Reject) -> None:
        self.size += 1
        if isinstance(item, Reject):
            self.rejects.append(item)
            return
        rows, key = self.rows[stream], (item.region_code, *item.key)
        # Last one wins, also its place: unit order is upstream order (the first of two
        # default photos is kept), even when the row replaced was fed again from rejects.
        rows.pop(key, None)
        rows[key] = item
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

    def completes(self, stream: str, region_code: str) -> bool:
        """Whether this unit ends a version of `stream` in `region_code`: a record of that
        stream and region must then wait for the next unit, or the completion's soft delete
        (run after the unit's upserts) would delete it."""
        return any(c.stream == stream and region_code in c.seen_ids for c in self.completions)

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
