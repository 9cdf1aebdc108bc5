"""Rewrite the `settings:` of our two plugins in meltano.yml from their config_jsonschema.

    .venv/bin/python scripts/meltano_settings.py          # rewrite meltano.yml in place
    .venv/bin/python scripts/meltano_settings.py --check  # exit 1 when it is out of date

The settings mirror what each plugin declares (`--about`), SDK built-ins included;
tests/meltano/test_project.py checks the result. Only the two `settings:` lists change:
comments and everything else in meltano.yml stay as they are.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from tap_breezeway.tap import TapBreezeway
from target_breezeway_postgres.target import TargetBreezewayPostgres

MELTANO_YML = Path(__file__).resolve().parents[1] / "meltano.yml"
PLUGINS = {"tap-breezeway": TapBreezeway, "target-breezeway-postgres": TargetBreezewayPostgres}
KINDS = {"string": "string", "integer": "integer", "number": "decimal", "boolean": "boolean",
         "object": "object", "array": "array"}


def setting(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The meltano.yml entry of one config_jsonschema property."""
    types = [t for t in spec["type"] if t != "null"]
    if "enum" in spec:
        kind = "options"
    elif spec.get("format") == "date-time":
        kind = "date_iso8601"
    else:
        kind = KINDS[types[0]]
    entry: dict[str, Any] = {"name": name}
    if "title" in spec:
        entry["label"] = spec["title"]
    entry["kind"] = kind
    if "default" in spec:
        entry["value"] = getattr(spec["default"], "value", spec["default"])
    if spec.get("secret"):
        entry["sensitive"] = True
    if "enum" in spec:
        values = [getattr(v, "value", v) for v in spec["enum"]]  # SDK built-ins: str enums
        entry["options"] = [{"label": v, "value": v} for v in values]
    entry["description"] = spec.get("description", "")
    return entry


def settings_of(plugin: type) -> list[dict[str, Any]]:
    about = json.loads(json.dumps(plugin.config_jsonschema))
    plugin.append_builtin_config(about)
    return [setting(name, spec) for name, spec in about["properties"].items()]


def yaml_lines(entries: list[dict[str, Any]]) -> list[str]:
    lines = ["    settings:"]
    for entry in entries:
        first = True
        for key, value in entry.items():
            prefix = "    - " if first else "      "
            first = False
            if key == "options":
                lines.append(f"{prefix}options:")
                lines += [f"      - {{label: {o['label']}, value: {o['value']}}}" for o in value]
            elif key in ("name", "kind"):  # identifiers, unquoted as meltano writes them
                lines.append(f"{prefix}{key}: {value}")
            else:
                lines.append(f"{prefix}{key}: {json.dumps(value, ensure_ascii=False)}")
    return lines


def rewrite(text: str) -> str:
    lines = text.splitlines()
    for name, plugin in PLUGINS.items():
        start = lines.index(f"  - name: {name}")
        begin = next(i for i in range(start, len(lines)) if lines[i] == "    settings:")
        end = begin + 1
        while end < len(lines) and (lines[end].startswith("    - ")
                                    or lines[end].startswith("      ")):
            end += 1
        lines[begin:end] = yaml_lines(settings_of(plugin))
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    current = MELTANO_YML.read_text()
    wanted = rewrite(current)
    if "--check" in argv:
        if wanted != current:
            print("meltano.yml settings are out of date: run scripts/meltano_settings.py",
                  file=sys.stderr)
            return 1
        return 0
    MELTANO_YML.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
