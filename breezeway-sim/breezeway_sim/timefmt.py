"""Datetime rendering and parsing the way the Breezeway API mixes them.

The API sends datetimes both naive (`2026-06-11T00:28:25`) and with an offset
(`2026-06-11T00:28:25+00:00`), sometimes inside one object; naive values mean UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime


def render(moment: datetime, naive: bool) -> str:
    """An API datetime string, naive or with `+00:00`, to the second."""
    utc = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
    if naive:
        return utc.replace(tzinfo=None).isoformat(timespec="seconds")
    return utc.isoformat(timespec="seconds")


def parse(value: str) -> datetime:
    """An aware UTC datetime from an API datetime string (naive means UTC)."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_optional(value: str | None) -> datetime | None:
    return None if value is None else parse(value)


def whole_seconds(moment: datetime) -> datetime:
    """Drop microseconds: the API shows seconds, so filters must compare what clients see."""
    return moment.replace(microsecond=0)


def start_of_day(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
