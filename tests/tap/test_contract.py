"""The tap's streams match docs/streams.md: names, key properties and field lists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tap_breezeway.streams import STREAM_TYPES

CONTRACT = (Path(__file__).parents[2] / "docs" / "streams.md").read_text()
STREAMS = {stream_type.name: stream_type for stream_type in STREAM_TYPES}


def contract_table() -> dict[str, tuple[str, ...]]:
    """stream -> key_properties, from the table `| stream | key_properties | ... |`."""
    rows = re.findall(r"^\| (\w+) \| ([\w, ]+) \| [^|]+ \| [^|]+ \|$", CONTRACT, re.M)
    return {name: tuple(k.strip() for k in keys.split(",")) for name, keys in rows
            if name != "stream"}


def contract_fields(stream: str) -> set[str]:
    """Field names listed under `**<stream>**:` in the Fields section (notes removed)."""
    fields = CONTRACT.split("## Fields")[1].split("\n## ")[0]
    match = re.search(rf"^\*\*{stream}\*\*:(.*?)(?:\n\n|\Z)", fields, re.S | re.M)
    assert match, f"{stream} has no field list in docs/streams.md"
    text = match.group(1)
    while re.search(r"\([^()]*\)", text):  # drop parenthesised notes, nested ones too
        text = re.sub(r"\([^()]*\)", "", text)
    return {name.strip(" .\n`") for name in text.split(",") if name.strip(" .\n`")}


def test_the_tap_has_exactly_the_contracts_streams_and_keys():
    assert {name: tuple(s.primary_keys) for name, s in STREAMS.items()} == contract_table()


@pytest.mark.parametrize("stream", sorted(STREAMS))
def test_schema_fields_are_the_contracts(stream: str):
    assert set(STREAMS[stream].schema["properties"]) == contract_fields(stream)
