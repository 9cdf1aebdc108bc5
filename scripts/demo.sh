#!/usr/bin/env bash
# The README's demo command: runs the whole pipeline, end to end, for all 8 regions, against
# the bundled Breezeway API simulator (no credentials, no internet beyond package installs).
#
# Database: BREEZEWAY_DATABASE_URL if set, else the target's embedded PostgreSQL, whose data
# stays in .meltano/breezeway-postgres (works on a machine without any PostgreSQL server).
# DEMO_SCALE (default 0.05) sizes the simulated data; 1.0 is the seed's full size.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh

export MELTANO_SEND_ANONYMOUS_USAGE_STATS=false MELTANO_CLI_DISABLE_VERSION_CHECK=1
export MELTANO_ENVIRONMENT=demo
MELTANO=.venv/bin/meltano
PY=.venv/bin/python

echo "== Installing the Meltano plugins (tap-breezeway, target-breezeway-postgres)"
$MELTANO install extractor tap-breezeway >/dev/null
$MELTANO install loader target-breezeway-postgres >/dev/null

port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "== Starting the Breezeway API simulator on 127.0.0.1:$port (scale ${DEMO_SCALE:-0.05})"
$PY -m breezeway_sim --port "$port" --scale "${DEMO_SCALE:-0.05}" --seed 7 \
  > .meltano/simulator.log 2>&1 &
sim_pid=$!
trap 'kill $sim_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  $PY -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/_sim/counters', timeout=1)" \
    2>/dev/null && break
  sleep 0.2
done
export BREEZEWAY_SIM_URL="http://127.0.0.1:$port"

regions=$($PY -c 'from breezeway_sim import REGIONS; print(" ".join(REGIONS))')
for region in $regions; do
  echo "== meltano run tap-breezeway target-breezeway-postgres  (region $region)"
  read -r client_id client_secret company_id < <($PY -c "
from breezeway_sim.regions import REGIONS, credentials_for
print(*credentials_for('$region'), REGIONS['$region'])")
  TAP_BREEZEWAY_REGION_CODE=$region TAP_BREEZEWAY_COMPANY_ID=$company_id \
  TAP_BREEZEWAY_CLIENT_ID=$client_id TAP_BREEZEWAY_CLIENT_SECRET=$client_secret \
    $MELTANO run --state-id-suffix "$region" tap-breezeway target-breezeway-postgres \
    > ".meltano/demo-$region.log" 2>&1 \
    || { echo "run for $region failed; last lines of .meltano/demo-$region.log:"; tail -20 ".meltano/demo-$region.log"; exit 1; }
done

url=${BREEZEWAY_DATABASE_URL:-"postgresql://postgres@/postgres?host=$PWD/.meltano/breezeway-postgres/pgdata"}
echo "== v_region_stats"
$PY - "$url" <<'PY'
import sys
import psycopg2
with psycopg2.connect(sys.argv[1]) as connection, connection.cursor() as cursor:
    cursor.execute("SELECT * FROM api_integrations.v_region_stats ORDER BY region_code")
    names = [column.name for column in cursor.description]
    rows = cursor.fetchall()
widths = [max(len(str(v)) for v in [name, *(row[i] for row in rows)]) for i, name in enumerate(names)]
for line in [names, *rows]:
    print("  ".join(str(v).ljust(w) for v, w in zip(line, widths)))
PY
echo
echo "The data is in schema api_integrations. Connect with:  psql '$url'"
echo "Sync status:  .venv/bin/breezeway-status --url '$url'"
