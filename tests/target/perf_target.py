"""Throughput and memory of the target (a script, not a test).

    .venv/bin/python tests/target/perf_target.py [n_properties | recorded.singer]

Loads a .singer file into a fresh schema with the CLI under /usr/bin/time, prints
records/s and peak RSS, drops the schema. The file is either synthetic (one region, every
stream) or recorded from a real tap run against the simulator, e.g.
`python -m breezeway_sim --scale 0.3 --no-auth-rate-limit` + `tap-breezeway --config …`
(with 8 regions at scale 0.3: 97,813 records, ~10k records/s, 128 MB on the 2-core box
shared with other work; before the fast path: 3.5k records/s, 148 MB).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg2

sys.path.insert(0, os.path.dirname(__file__))
import singer_messages as singer

URL = os.environ.get("BREEZEWAY_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def main() -> None:
    argument = sys.argv[1] if len(sys.argv) > 1 else "4000"
    schema = f"perf_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as folder:
        input_path, config_path = Path(folder) / "in.singer", Path(folder) / "config.json"
        if argument.isdigit():
            messages = singer.with_schemas(
                singer.region_sync("smoky", 10_000, n_properties=int(argument), photos=4))
            input_path.write_text(singer.dumps(messages))
        else:
            input_path = Path(argument)
        with input_path.open() as lines:
            records = sum(1 for line in lines if '"RECORD"' in line)
        config_path.write_text(json.dumps({"sqlalchemy_url": URL, "schema": schema,
                                           "batch_size_rows": 20000}))
        target = Path(sys.executable).parent / "target-breezeway-postgres"
        started = time.monotonic()
        with input_path.open() as stdin:
            done = subprocess.run(["/usr/bin/time", "-f", "%M", str(target), "--config",
                                   str(config_path)], stdin=stdin, capture_output=True,
                                  text=True, check=True)
        elapsed = time.monotonic() - started
    rss_mb = int(done.stderr.strip().splitlines()[-1]) / 1024
    print(f"{records} records in {elapsed:.1f}s (incl. start-up and migrations): "
          f"{records / elapsed:,.0f} records/s, peak RSS {rss_mb:.0f} MB")
    connection = psycopg2.connect(URL)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA "{schema}" CASCADE')
    connection.close()


if __name__ == "__main__":
    main()
