#!/usr/bin/env bash
# The README's demo command: runs the whole pipeline, end to end, for all 8 regions, against
# the bundled Breezeway API simulator (no credentials, no internet beyond package installs).
#
#   meltano run --state-id-suffix <region> tap-breezeway target-breezeway-postgres \
#     breezeway-ops:confirm-deletions
#
# once per region, in the `demo` environment (one environment serving all regions, so the
# region is the state id suffix: state `demo:tap-breezeway-to-target-breezeway-postgres:<region>`).
#
# Database: BREEZEWAY_DATABASE_URL if set, else the target's embedded PostgreSQL (the demo is
# the only place that asks for it: meltano.yml's demo environment sets embedded: true), whose
# data stays in .meltano/breezeway-postgres and which keeps running afterwards (a second demo
# run reuses it and its state: that run is incremental). It listens on a Unix socket in that
# 0700 folder only; run as root, it runs as the unprivileged account embedded_postgres and
# refuses (with what to do) a folder that account cannot enter rather than opening it.
# DEMO_SCALE (default 0.05) sizes the simulated data; 1.0 is the seed's full size.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh

export MELTANO_SEND_ANONYMOUS_USAGE_STATS=false MELTANO_CLI_DISABLE_VERSION_CHECK=1
export MELTANO_ENVIRONMENT=demo
MELTANO=.venv/bin/meltano
PY=.venv/bin/python
LOGS=.meltano/demo-logs
mkdir -p "$LOGS"

fail() {  # <what failed> <log file>
  echo "$1 failed; last lines of $2:" >&2
  tail -20 "$2" >&2
  exit 1
}

echo "== Installing the Meltano plugins (tap-breezeway, target-breezeway-postgres, breezeway-ops)"
$MELTANO install extractor tap-breezeway > "$LOGS/install.log" 2>&1 \
  && $MELTANO install loader target-breezeway-postgres >> "$LOGS/install.log" 2>&1 \
  && $MELTANO install utility breezeway-ops >> "$LOGS/install.log" 2>&1 \
  || fail "meltano install" "$LOGS/install.log"

if [ -n "${BREEZEWAY_DATABASE_URL:-}" ]; then
  url=$BREEZEWAY_DATABASE_URL
  echo "== Database: BREEZEWAY_DATABASE_URL"
else
  already=no
  [ -f .meltano/breezeway-postgres/pgdata/postmaster.pid ] && already=yes
  url=$($PY -m target_breezeway_postgres.embedded url 2> "$LOGS/embedded.log") \
    || fail "starting the embedded PostgreSQL" "$LOGS/embedded.log"
  if [ $already = yes ]; then
    echo "== Database: the embedded PostgreSQL already running in .meltano/breezeway-postgres (reused)"
  else
    echo "== Database: started the embedded PostgreSQL in .meltano/breezeway-postgres"
  fi
fi

port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "== Starting the Breezeway API simulator on 127.0.0.1:$port (scale ${DEMO_SCALE:-0.05})"
$PY -m breezeway_sim --port "$port" --scale "${DEMO_SCALE:-0.05}" --seed 7 > "$LOGS/simulator.log" 2>&1 &
sim_pid=$!
trap 'kill $sim_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 150); do
  grep -q "serving" "$LOGS/simulator.log" && break
  kill -0 $sim_pid 2>/dev/null || fail "the simulator" "$LOGS/simulator.log"
  sleep 0.2
done
grep -q "serving" "$LOGS/simulator.log" || fail "the simulator (not ready after 30 s)" "$LOGS/simulator.log"
export BREEZEWAY_SIM_URL="http://127.0.0.1:$port"

# Another DEMO_SCALE is another data set: its older records lie before the bookmarks of the
# previous demo run, so an incremental run would miss them. Reload everything then.
refresh=()
scale_file=.meltano/demo-logs/scale
if [ -f "$scale_file" ] && [ "$(cat "$scale_file")" != "${DEMO_SCALE:-0.05}" ]; then
  echo "== DEMO_SCALE changed since the last demo run: --full-refresh"
  refresh=(--full-refresh)
fi
echo "${DEMO_SCALE:-0.05}" > "$scale_file"

regions=$($PY -c 'from breezeway_sim import REGIONS; print(" ".join(REGIONS))')
for region in $regions; do
  read -r client_id client_secret company_id < <($PY -c "
from breezeway_sim.regions import REGIONS, credentials_for
print(*credentials_for('$region'), REGIONS['$region'])")
  log="$LOGS/$region.log"
  started=$SECONDS
  TAP_BREEZEWAY_REGION_CODE=$region TAP_BREEZEWAY_COMPANY_ID=$company_id \
  TAP_BREEZEWAY_CLIENT_ID=$client_id TAP_BREEZEWAY_CLIENT_SECRET=$client_secret \
  TARGET_BREEZEWAY_POSTGRES_SQLALCHEMY_URL=$url BREEZEWAY_OPS_DATABASE_URL=$url \
    $MELTANO run "${refresh[@]}" --state-id-suffix "$region" tap-breezeway target-breezeway-postgres \
      breezeway-ops:confirm-deletions > "$log" 2>&1 || fail "meltano run for $region" "$log"
  # The target logs "<stream>: <n> loaded, <m> rejected" per stream at the end of a run.
  records=$(grep -Eo '[a-z_]+: [0-9]+ loaded, [0-9]+ rejected' "$log" \
    | awk '{l += $2; r += $4} END {printf "%d records loaded, %d rejected", l, r}')
  echo "== $region: meltano run tap-breezeway target-breezeway-postgres  ($records, $((SECONDS - started)) s)"
done

echo "== v_region_stats"
DEMO_DATABASE_URL=$url $PY - <<'PY'
import os

import psycopg2

# The URL comes through the environment, never on a command line (where ps shows it).
with psycopg2.connect(os.environ["DEMO_DATABASE_URL"]) as connection, connection.cursor() as cursor:
    cursor.execute("SELECT * FROM api_integrations.v_region_stats ORDER BY region_code")
    names = [column.name for column in cursor.description if column.name != "last_sync_age"]
    rows = [row[: len(names)] for row in cursor.fetchall()]
text = [[str(v)[:19] if v is not None else "" for v in row] for row in rows]
widths = [max(len(v) for v in [name, *(row[i] for row in text)]) for i, name in enumerate(names)]
for line in [names, *text]:
    print("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)))
PY
if [ -n "${BREEZEWAY_DATABASE_URL:-}" ]; then
  where="(the tools read BREEZEWAY_DATABASE_URL from the environment or .env)"
  status_cmd=".venv/bin/breezeway-status"
else  # the embedded server's URL: a private socket, no password in it
  where="(the embedded server: BREEZEWAY_DATABASE_URL='$url')"
  status_cmd="BREEZEWAY_DATABASE_URL='$url' .venv/bin/breezeway-status"
fi
cat <<TEXT

The data is in schema api_integrations (open rejects: table load_rejects; the simulator
serves a few deliberately broken records). Logs: $LOGS/.
  database:     $where
  sync status:  $status_cmd
TEXT
if [ -z "${BREEZEWAY_DATABASE_URL:-}" ]; then
  echo "  The embedded PostgreSQL keeps running (the next demo run reuses it and runs incrementally)."
  echo "  Stop it with:  .venv/bin/python -m target_breezeway_postgres.embedded stop"
fi
