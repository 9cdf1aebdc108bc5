#!/usr/bin/env bash
# Creates .venv and installs everything the project needs from the repo's own files.
# Idempotent: a second run only re-checks the installed packages.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.bootstrap-stamp
pip_noise="is ignored: it is neither a file nor a directory"
inputs=$(cat requirements-dev.txt */pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$inputs" ]; then
  # (this machine kind's pip config names local mirrors that may be absent: drop that noise)
  .venv/bin/python -m pip install --quiet --upgrade pip 2> >(grep -v "$pip_noise" >&2)
  .venv/bin/python -m pip install --quiet -r requirements-dev.txt 2> >(grep -v "$pip_noise" >&2)
  echo "$inputs" > "$stamp"
fi
