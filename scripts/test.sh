#!/usr/bin/env bash
# The README's test command: sets up .venv and runs the whole suite.
# Tests use the PostgreSQL server at BREEZEWAY_TEST_PG_URL (default
# postgresql://postgres@127.0.0.1:5432/postgres); when none answers, they start an
# embedded PostgreSQL of their own (see tests/conftest.py).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export MELTANO_SEND_ANONYMOUS_USAGE_STATS=false MELTANO_CLI_DISABLE_VERSION_CHECK=1
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
