"""Bigger (or smaller) `.singer` files from a recorded one, for the target's memory curve.

Copy k of the recorded records gets every Breezeway id shifted by k·10¹⁰, so each copy is
new data (inserts, not updates) with the same shape, and children still follow their
parents. SCHEMA messages come once at the top; STATE and ACTIVATE_VERSION are left out (a
version completion would soft-delete the previous copies).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

ID_FIELDS = frozenset({
    "id", "property_id", "home_id", "reservation_id", "task_id", "photo_id",
    "assignment_id", "cost_id", "usage_id", "linked_reservation_id",
})
ID_SHIFT = 10**10


def _rekey(record: dict[str, Any], shift: int) -> dict[str, Any]:
    return {
        name: value + shift if name in ID_FIELDS and isinstance(value, int) else value
        for name, value in record.items()
    }


def write_scaled(source: Path, target: Path, records: int) -> int:
    """Write exactly `records` RECORD messages (cycling through re-keyed copies)."""
    decoder, encoder = msgspec.json.Decoder(), msgspec.json.Encoder()
    schemas: list[bytes] = []
    base: list[tuple[bytes, dict[str, Any]]] = []
    with source.open("rb") as lines:
        seen: set[str] = set()
        for line in lines:
            message = decoder.decode(line)
            if message.get("type") == "SCHEMA" and message["stream"] not in seen:
                seen.add(message["stream"])
                schemas.append(line if line.endswith(b"\n") else line + b"\n")
            elif message.get("type") == "RECORD":
                base.append((line if line.endswith(b"\n") else line + b"\n", message))
    if not base:
        raise ValueError(f"{source} holds no RECORD messages to scale")
    written = 0
    with target.open("wb") as out:
        out.writelines(schemas)
        copy = 0
        while written < records:
            for line, message in base:
                if written >= records:
                    break
                if copy:
                    shifted = {**message, "record": _rekey(message["record"], copy * ID_SHIFT)}
                    line = encoder.encode(shifted) + b"\n"
                out.write(line)
                written += 1
            copy += 1
    return written
