"""`meltano run` end to end: the real tap and target in their Meltano venvs, the simulator
in-process over HTTP (so its counters are readable), real PostgreSQL."""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from breezeway_sim import Simulator
from breezeway_sim.queries import filter_reservations, filter_tasks
from meltano_expect import expect_region, hard_case_ids, loaded_keys, open_rejects
from meltano_helpers import MeltanoEnv, assert_ok, region_env, tail
from sqlalchemy.engine import make_url
from target_breezeway_postgres import embedded, status

pytestmark = pytest.mark.slow

SCALE = 0.02  # the simulator's minimum region size: 8 properties, every hard case present
TWO = ["nashville", "austin"]
PIPELINE = ["tap-breezeway", "target-breezeway-postgres"]
AUTH = "POST /public/auth/v1/"
DATA = "GET /public/inventory/v1"
STATE_ID = "{}:tap-breezeway-to-target-breezeway-postgres"  # the interactive form
SCHEDULED_STATE_ID = "{0}:tap-breezeway--{0}-to-target-breezeway-postgres"


@pytest.fixture
def sim(sim_factory: Callable[..., Simulator]) -> Simulator:
    """Nashville and austin, with the real API's one-token-call-per-minute limit."""
    return sim_factory(scale=SCALE, regions=TWO)


def run_region(meltano: MeltanoEnv, system_db: Path, sim: Simulator, region: str, pg_url: str,
               schema: str, *args: str, **extra: str):
    """`meltano --environment <region> run [args] tap-breezeway target-breezeway-postgres`."""
    env = {**region_env(sim, region, pg_url, schema), **extra}
    return meltano.run(["--environment", region, "run", *args, *PIPELINE], system_db, env)


def assert_region_loaded_exactly(sim: Simulator, engine: sa.Engine, schema: str,
                                 region: str) -> None:
    """Every id the API serves is loaded, except quarantined deliberate hard cases."""
    expected = expect_region(sim, region)
    assert loaded_keys(engine, schema, region) == expected.loaded, region
    rejects = open_rejects(engine, schema, region)
    assert rejects == expected.rejected, region
    rejected_objects = {key[0] for _, key in rejects}
    assert rejected_objects and rejected_objects <= hard_case_ids(sim, region), region


def state(meltano: MeltanoEnv, system_db: Path, state_id: str) -> dict:
    result = meltano.run(["state", "get", state_id], system_db)
    assert_ok(result)
    return json.loads(result.stdout)


#: The tap's default task_property_statuses: an incremental run calls only these.
CALLED_STATUSES = ("active", "pending_delete")
#: One call each per run (reference lists); supplies are paginated.
REFERENCE_PATHS = ("/companies/templates", "/companies/subdepartments", "/task/tags",
                   "/property/tags", "/reservation/tags")


def required_calls(sim: Simulator, region: str, page: int, *, full_window: bool
                   ) -> tuple[Counter[str], str, str]:
    """The calls the API requires for the date filters the tap sent, and those filters.

    Pages come from the simulator's own filters: no call beyond the last page, one task
    list per property (the API requires home_id; an incremental run calls only the active
    ones), one requirements call per task read, one call per reference list, one token
    call for the whole run.
    """
    data = sim.data(region)
    log = [(path, query) for _, path, query, _ in sim.requests_log]
    task_queries = [q for path, q in log if path.endswith("/task/")]
    reservation_queries = [q for path, q in log if path.endswith("/reservation")]
    ranges = {q["updated_at"] for q in task_queries}
    ge = {q["updated_at_ge"] for q in reservation_queries}
    assert len(ranges) == len(ge) == 1, (ranges, ge)  # one bookmark per stream and region
    homes = [p for p in data.properties if full_window or p["status"] in CALLED_STATUSES]
    tasks = [filter_tasks(data, {"home_id": [str(p["id"])], "updated_at": [next(iter(ranges))]})
             for p in homes]
    changed = filter_reservations(data, {"updated_at_ge": [next(iter(ge))]}, sim.today)
    calls = Counter({
        AUTH: 1,
        f"{DATA}/property": math.ceil(len(data.properties) / page),
        f"{DATA}/reservation": max(1, math.ceil(len(changed) / page)),
        f"{DATA}/task/": sum(max(1, math.ceil(len(read) / page)) for read in tasks),
        f"{DATA}/task/{{id}}/requirements": sum(len(read) for read in tasks),
        f"{DATA}/people": 1,
        f"{DATA}/companies": 1,
        f"{DATA}/supplies": max(1, math.ceil(len(data.supplies) / page)),
    })
    calls.update({f"{DATA}{path}": 1 for path in REFERENCE_PATHS})
    return calls, next(iter(ranges)).split(",")[0], next(iter(ge))


def test_second_run_is_incremental_and_full_refresh_reloads(
        meltano: MeltanoEnv, system_db: Path, sim: Simulator, pg_url: str, pg_engine: sa.Engine,
        fresh_schema: Callable[[], str]):
    schema, page = fresh_schema(), 5
    run = lambda *args: run_region(  # noqa: E731
        meltano, system_db, sim, "nashville", pg_url, schema, *args,
        TAP_BREEZEWAY_PAGE_SIZE=str(page))
    assert_ok(run())
    first, start, first_ge = required_calls(sim, "nashville", page, full_window=True)
    assert Counter(sim.counters) == first
    assert (start, first_ge) == ("2019-12-31", "2020-01-01T00:00:00+00:00")  # start_date
    data = sim.data("nashville")
    touched = sim.touch_task("nashville", data.tasks[0]["id"])
    touched["name"] = "Renamed after the first run"
    added = sim.add_task("nashville", data.properties[1]["id"])
    sim.advance_time(61)  # the token endpoint allows one call per minute
    sim.reset_counters()

    assert_ok(run())
    second, start, ge = required_calls(sim, "nashville", page, full_window=False)
    assert Counter(sim.counters) == second
    assert start > "2019-12-31" and ge > first_ge  # from the bookmarks, not start_date
    assert second.total() < first.total()
    assert second[f"{DATA}/task/"] < first[f"{DATA}/task/"]
    assert_region_loaded_exactly(sim, pg_engine, schema, "nashville")
    with pg_engine.connect() as connection:
        names = dict(connection.execute(sa.text(
            f'SELECT task_id, name FROM "{schema}".tasks WHERE task_id IN (:a, :b)'),
            {"a": touched["id"], "b": added["id"]}).all())
    assert names == {touched["id"]: "Renamed after the first run", added["id"]: added["name"]}

    sim.advance_time(61)
    sim.reset_counters()
    assert_ok(run("--full-refresh"))
    reloaded, start, ge = required_calls(sim, "nashville", page, full_window=True)
    assert Counter(sim.counters) == reloaded
    assert (start, ge) == ("2019-12-31", "2020-01-01T00:00:00+00:00")  # state ignored
    assert_region_loaded_exactly(sim, pg_engine, schema, "nashville")
    listed = meltano.run(["state", "list"], system_db)
    assert listed.stdout.split() == [STATE_ID.format("nashville")]


def test_two_regions_concurrently_into_one_database_with_separate_state(
        meltano: MeltanoEnv, system_db: Path, sim: Simulator, pg_url: str, pg_engine: sa.Engine,
        fresh_schema: Callable[[], str]):
    """Both schedules at once on an empty schema: migrations race, loads overlap, one Meltano
    state database. (Both as `--environment <region> run tap-breezeway ...` would fail: the
    two runs share .meltano/run/tap-breezeway/tap.properties.json, meltano/meltano#8763.)"""
    schema = fresh_schema()
    # Meltano's system database must exist first: two runs creating it at once fail with
    # "MigrationError: Cannot upgrade the system database" (in production `meltano install`
    # has created it long before).
    assert_ok(meltano.run(["state", "list"], system_db))
    processes = {
        region: meltano.popen(["schedule", "run", f"breezeway-{region}"], system_db,
                              region_env(sim, region, pg_url, schema))
        for region in TWO
    }
    # communicate, not wait: a process whose stderr fills the pipe would block forever.
    streams = {region: p.communicate(timeout=300) for region, p in processes.items()}
    outcomes = {region: (processes[region].returncode, err)
                for region, (_, err) in streams.items()}
    for region, (code, stderr) in outcomes.items():
        assert code == 0, f"{region}:\n{tail(stderr)}"
    for region in TWO:
        assert_region_loaded_exactly(sim, pg_engine, schema, region)
    with pg_engine.connect() as connection:
        runs = connection.execute(sa.text(
            f'SELECT region_code, status, count(*) FROM "{schema}".sync_runs '
            "GROUP BY 1, 2 ORDER BY 1")).all()
        # The region's run as a whole: the real tap's complete output is judged complete.
        whole_runs = connection.execute(sa.text(
            f'SELECT region_code, status FROM "{schema}".sync_runs '
            "WHERE stream = '*' ORDER BY 1")).all()
    assert [(r, s) for r, s, _ in runs] == [("austin", "succeeded"), ("nashville", "succeeded")]
    assert [tuple(r) for r in whole_runs] == [("austin", "succeeded"),
                                              ("nashville", "succeeded")]
    listed = meltano.run(["state", "list"], system_db)
    assert set(listed.stdout.split()) == {SCHEDULED_STATE_ID.format(r) for r in TWO}
    for region in TWO:  # each state holds its own region's bookmarks only
        text = json.dumps(state(meltano, system_db, SCHEDULED_STATE_ID.format(region)))
        assert f'"region_code": "{region}"' in text
        assert f'"region_code": "{({*TWO} - {region}).pop()}"' not in text


def test_tap_into_target_jsonl_and_meltanolabs_target_postgres(
        meltano: MeltanoEnv, system_db: Path, sim: Simulator, pg_url: str, pg_engine: sa.Engine,
        fresh_schema: Callable[[], str], tmp_path: Path):
    expected = expect_region(sim, "austin").records
    env = region_env(sim, "austin", pg_url, "unused")
    jsonl = tmp_path / "jsonl"
    result = meltano.run(["--environment", "austin", "run", "tap-breezeway", "target-jsonl"],
                         system_db, {**env, "TARGET_JSONL_DESTINATION_PATH": str(jsonl),
                                     "TARGET_JSONL_DO_TIMESTAMP_FILE": "false"})
    assert_ok(result)
    lines = {f.stem: len(f.read_text().splitlines()) for f in jsonl.glob("*.jsonl")}
    assert lines == expected

    schema = fresh_schema()
    url = make_url(pg_url).set(drivername="postgresql+psycopg")
    sim.advance_time(61)
    result = meltano.run(
        ["--environment", "austin", "run", "tap-breezeway", "target-postgres"], system_db,
        {**env, "TARGET_POSTGRES_SQLALCHEMY_URL": url.render_as_string(hide_password=False),
         "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": schema})
    assert_ok(result)
    with pg_engine.connect() as connection:
        rows = {stream: connection.execute(sa.text(
                    f'SELECT count(*) FROM "{schema}"."{stream}"')).scalar_one()
                for stream in expected}
    assert rows == expected
    # meltano.yml gives target-postgres a stream map stripping NUL (text cannot hold it).
    nul_task = sim.hard_cases("austin")["nul_char_in_text"][0]
    raw = sim.data("austin").find("task", nul_task)["description"]
    with pg_engine.connect() as connection:
        stored = connection.execute(sa.text(
            f'SELECT description FROM "{schema}".tasks WHERE id = :id'), {"id": nul_task}
        ).scalar_one()
    assert "\x00" in raw and stored == raw.replace("\x00", "")


@pytest.fixture
def embedded_dir() -> Iterator[Path]:
    """A fresh data directory in /tmp (the server makes it private); server stopped."""
    parent = Path(tempfile.mkdtemp(prefix="bw-embedded-"))
    yield parent
    try:
        embedded.stop_embedded(parent)
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def test_demo_pipeline_on_the_embedded_default(meltano: MeltanoEnv, system_db: Path,
                                              sim: Simulator, embedded_dir: Path):
    """The demo environment (embedded: true) with BREEZEWAY_DATABASE_URL unset: the
    target's own server, private (embedded.py; tests/target/test_embedded.py)."""
    client_id, client_secret = sim.credentials("nashville")
    env = {"BREEZEWAY_SIM_URL": sim.base_url, "TAP_BREEZEWAY_REGION_CODE": "nashville",
           "TAP_BREEZEWAY_CLIENT_ID": client_id, "TAP_BREEZEWAY_CLIENT_SECRET": client_secret,
           "TARGET_BREEZEWAY_POSTGRES_EMBEDDED_DATA_DIR": str(embedded_dir)}
    result = meltano.run(["run", "--state-id-suffix", "nashville", *PIPELINE], system_db, env)
    assert_ok(result)
    assert "embedded: true and no database URL: using the embedded PostgreSQL" in result.stderr
    pid_file = embedded_dir / "pgdata" / "postmaster.pid"
    assert pid_file.exists()  # still running after the target exited, by design
    socket_dir = pid_file.read_text().splitlines()[4]
    engine = sa.create_engine(f"postgresql+psycopg2://postgres@/postgres?host={socket_dir}")
    try:
        assert_region_loaded_exactly(sim, engine, "api_integrations", "nashville")
    finally:
        engine.dispose()
    listed = meltano.run(["state", "list"], system_db)
    assert listed.stdout.split() == [STATE_ID.format("demo") + ":nashville"]
    assert embedded.stop_embedded(embedded_dir)
    assert not pid_file.exists()


def test_wrong_credentials_fail_the_run_with_the_reason(meltano: MeltanoEnv, system_db: Path,
                                                        sim: Simulator, pg_url: str,
                                                        fresh_schema: Callable[[], str],
                                                        capsys: pytest.CaptureFixture[str]):
    """Meltano closes the target's stdin when the tap dies (no signal): the target, told its
    region by the environment, records the run failed, and `breezeway-status` shows it."""
    schema = fresh_schema()
    env = region_env(sim, "nashville", pg_url, schema)
    env["BREEZEWAY_NASHVILLE_CLIENT_SECRET"] = "not-the-secret"
    result = meltano.run(["--environment", "nashville", "run", *PIPELINE], system_db, env)
    assert result.returncode != 0
    last_lines = tail(result.stderr, 15)
    assert "Breezeway refused the credentials for region 'nashville'" in last_lines
    assert "of region nashville failed: the tap's output ended before its first STATE" \
        in last_lines
    assert "Extractor failed" in last_lines and "Loader failed" not in result.stderr
    assert "not-the-secret" not in result.stderr

    code = status.main(["--url", pg_url, "--schema", schema, "--check"])
    verdicts = {line.split()[1].rstrip(":"): line for line in capsys.readouterr().out.splitlines()
                if not line.startswith("CHECK")}
    assert code == status.EXIT_UNHEALTHY
    assert verdicts["nashville"].startswith("FAILED       nashville: last run ")
    assert verdicts["nashville"].endswith(
        "the tap's output ended before its first STATE message (0 records read): the "
        "extractor failed or was stopped; its own error is in the meltano run log")
    assert "austin" not in verdicts  # seeded, never run: inactive, not judged


def test_the_region_job_retires_what_was_deleted_upstream(
        meltano: MeltanoEnv, system_db: Path, sim_factory: Callable[..., Simulator],
        pg_url: str, pg_engine: sa.Engine, fresh_schema: Callable[[], str]):
    """The scheduled job (tap, target, breezeway-ops:confirm-deletions): an incremental run
    cannot see a deletion; a full-window run (here forced with TAP_BREEZEWAY_RECONCILE) makes
    candidates and the job's confirm step soft-deletes what answers 404."""
    # The confirm step asks for its own token right after the tap's: no 1-call-per-minute here.
    sim = sim_factory(scale=SCALE, regions=["nashville"], auth_rate_limit=False)
    schema = fresh_schema()
    env = region_env(sim, "nashville", pg_url, schema)
    job = lambda **extra: meltano.run(  # noqa: E731
        ["schedule", "run", "breezeway-nashville"], system_db, {**env, **extra})
    assert_ok(job())
    data = sim.data("nashville")
    task_id, reservation_id = data.tasks[3]["id"], data.reservations[2]["id"]
    sim.delete_task("nashville", task_id)
    sim.delete_reservation("nashville", reservation_id)

    def live() -> tuple[bool, bool]:
        with pg_engine.connect() as connection:
            return tuple(connection.execute(sa.text(
                f'SELECT (SELECT deleted_at IS NULL FROM "{schema}".tasks WHERE task_id = :t), '
                f'(SELECT deleted_at IS NULL FROM "{schema}".reservations '
                "WHERE reservation_id = :r)"), {"t": task_id, "r": reservation_id}).one())

    assert_ok(job())
    assert live() == (True, True)  # incremental: a deletion leaves no trace in the lists
    sim.reset_counters()
    assert_ok(job(TAP_BREEZEWAY_RECONCILE="true"))
    assert live() == (False, False)
    assert sim.counters[f"{DATA}/task/{{id}}"] == 1
    assert sim.counters[f"{DATA}/reservation/{{id}}"] == 1
