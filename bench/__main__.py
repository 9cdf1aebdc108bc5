"""`python -m bench`: every measurement next to its anchor, in one run, on this machine.

Stages (docs in bench/README.md): 3. tap vs a plain requests loop, 4. API calls vs the
minimum, 1./2. target load rate vs MeltanoLabs target-postgres and vs raw COPY, 5. peak RSS
of the target at growing sizes, 6. `meltano run` of all regions in parallel at 150 ms latency,
7. task-list calls of a region with mostly inactive properties.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import psycopg2
from breezeway_sim.regions import REGIONS

from bench import e2e, inactive, report
from bench.pgdb import DEFAULT_ADMIN_URL, scratch_database, server_facts, table_counts
from bench.plain_loop import minimum_calls, run_plain_loop
from bench.procs import ProcessFailedError
from bench.raw_copy import TABLES, raw_copy
from bench.report import Row, rate, ratio
from bench.scaled import write_scaled
from bench.simproc import SimulatorProcess, region_config
from bench.tap_runs import SingerSummary, TapRun, concatenate, run_tap
from bench.targets import THEIRS_DEFAULT, THEIRS_TUNED, load_ours, load_theirs, migrate

BENCH_DIR = Path(__file__).resolve().parent
PAGE_SIZE = 100  # the tap's default `page_size`
#: The tap's default `task_property_statuses`.
CALLED_STATUSES = ("active", "pending_delete")
THEIRS_VENV = BENCH_DIR / "out" / "venv-target-postgres"
THEIRS_PACKAGE = "meltanolabs-target-postgres==0.8.1"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
#: What a stage may fail with: a measured process, PostgreSQL, the simulator, files.
STAGE_ERRORS = (ProcessFailedError, RuntimeError, OSError, psycopg2.Error,
                subprocess.CalledProcessError, ValueError)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="tiny scale, two regions, small RSS sizes, no e2e (smoke test)")
    parser.add_argument("--scale", type=float, help="simulator scale (default 1.0; quick 0.02)")
    parser.add_argument("--regions", help="comma list (default all; quick nashville,austin)")
    parser.add_argument("--rss-sizes", help="records per RSS step (default 10000,100000,1000000)")
    parser.add_argument("--latency-ms", type=int, default=150, help="e2e API latency")
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL,
                        help="PostgreSQL URL allowed to create databases")
    parser.add_argument("--theirs", type=Path, default=THEIRS_VENV / "bin" / "target-postgres",
                        help="MeltanoLabs target-postgres executable (default: a venv under "
                             "bench/out, created on first use)")
    parser.add_argument("--skip-theirs", action="store_true")
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument("--e2e-only", action="store_true", help="only stage 6")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "out" / "run")
    parser.add_argument("--results", type=Path,
                        help="write the Markdown table here (default bench/RESULTS.md, "
                             "none with --quick)")
    args = parser.parse_args(argv)
    args.scale = args.scale or (0.02 if args.quick else 1.0)
    default_regions = "nashville,austin" if args.quick else ",".join(REGIONS)
    args.regions = (args.regions or default_regions).split(",")
    sizes = args.rss_sizes or ("1000,3000" if args.quick else "10000,100000,1000000")
    args.rss_sizes = [int(size) for size in sizes.split(",")]
    args.skip_e2e = args.skip_e2e or args.quick
    if args.results is None and not args.quick:
        args.results = BENCH_DIR / "RESULTS.md"
    return args


class Bench:
    """Runs the stages in order; each appends its rows and notes."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.out: Path = args.out
        self.out.mkdir(parents=True, exist_ok=True)
        self.rows: list[Row] = []
        self.notes: list[str] = []
        self.full: dict[str, TapRun] = {}
        self.failed = False

    def say(self, text: str) -> None:
        print(f"== {text}", file=sys.stderr, flush=True)

    def configs(self, sim: SimulatorProcess) -> list[dict]:
        # No request budget: at zero latency the measure is CPU per record, not pacing.
        return [{**region_config(sim.base_url, region), "max_requests_per_second": 0}
                for region in self.args.regions]

    # -- 3. tap vs plain loop, 4. API calls --
    def tap_stage(self, sim: SimulatorProcess) -> Path:
        plain_records = 0
        plain_seconds = plain_cpu = 0.0
        for config in self.configs(sim):
            region = config["region_code"]
            self.say(f"plain loop and tap, full sync: {region}")
            warm_up = self.out / f"warm-{region}.jsonl"
            run_plain_loop(config, PAGE_SIZE, warm_up, self.out)  # fills the answer cache
            warm_up.unlink()
            plain = run_plain_loop(config, PAGE_SIZE, self.out / f"plain-{region}.jsonl",
                                   self.out)
            plain_records += plain.total
            plain_seconds += plain.seconds
            plain_cpu += plain.cpu_seconds
            self.full[region] = run_tap(sim, config, self.out, self.out / f"{region}.singer")
        tap_records = sum(run.summary.total for run in self.full.values())
        tap_seconds = sum(run.seconds for run in self.full.values())
        tap_cpu = sum(run.cpu_seconds for run in self.full.values())
        tap_rate, plain_rate = tap_records / tap_seconds, plain_records / plain_seconds
        self.rows.append(Row(
            "3", "tap rate, zero latency (records/s, wall)", rate(tap_records, tap_seconds),
            f"plain requests loop {rate(plain_records, plain_seconds)}",
            f"{ratio(tap_rate, plain_rate):.2f}", ">= 0.50", tap_rate >= 0.5 * plain_rate))
        tap_us, plain_us = 1e6 * tap_cpu / tap_records, 1e6 * plain_cpu / plain_records
        self.rows.append(Row(
            "3", "tap CPU per record (client process only)", f"{tap_us:.0f} µs",
            f"plain requests loop {plain_us:.0f} µs", f"{ratio(plain_us, tap_us):.2f}",
            "info", None))
        self.notes.append(
            f"Tap: {tap_records:,} records in {tap_seconds:.1f}s wall / {tap_cpu:.1f}s CPU; "
            f"plain loop: {plain_records:,} records in {plain_seconds:.1f}s wall / "
            f"{plain_cpu:.1f}s CPU (each a process per region, start-up included, regions one "
            "after another), against the simulator's answer cache, warmed by an untimed plain "
            "pass; the CPU row is the client's cost alone (ratio = plain/tap). "
            "The plain loop keeps the duplicate-photo hard cases the tap drops.")
        self.calls_rows(sim)
        singer = self.out / "all-regions.singer"
        concatenate([self.out / f"{region}.singer" for region in self.full], singer)
        return singer

    def calls_rows(self, sim: SimulatorProcess) -> None:
        full_calls = sum(sum(run.calls.values()) for run in self.full.values())
        full_min = sum(_minimum(run.summary) for run in self.full.values())
        incremental_calls = incremental_min = 0
        for config in self.configs(sim):
            region = config["region_code"]
            self.say(f"tap, incremental sync with nothing changed: {region}")
            state = self.full[region].summary.last_state
            run = run_tap(sim, config, self.out, self.out / f"{region}.incr.singer", state)
            incremental_calls += sum(run.calls.values())
            incremental_min += _minimum(run.summary, full_window=False)
        for label, calls, minimum in (("full sync", full_calls, full_min),
                                      ("incremental, nothing changed", incremental_calls,
                                       incremental_min)):
            self.rows.append(Row(
                "4", f"API calls, {label} (all regions)", f"{calls:,}",
                f"minimum {minimum:,}", f"{ratio(calls, minimum):.2f}", "1.00", calls == minimum))
        self.notes.append(
            f"Minimum calls = per region 1 token call + property pages + reservation pages "
            f"(>= 1) + one task call per property (incremental: per active property; more "
            f"only past {PAGE_SIZE} tasks) + one requirements call per task read + people + "
            "companies + 5 reference lists + supply pages, at the tap's page size; counted by "
            "the simulator.")

    # -- 7. task calls where tasks can be --
    def inactive_stage(self) -> None:
        self.say(f"task calls of a region with {inactive.INACTIVE_SHARE:.0%} inactive "
                 "properties")
        found, note = inactive.rows(inactive.measure(self.args.scale, self.out))
        self.rows += found
        self.notes.append(note)

    # -- 1. and 2. target load rate --
    def target_stage(self, singer: Path) -> None:
        records = sum(run.summary.total for run in self.full.values())
        tables = [spec.table for spec in TABLES]
        with scratch_database(self.args.admin_url, "ours") as url:
            migrate(url)
            self.say(f"our target: {records:,} records")
            ours = load_ours(singer, url, self.out)
            ours_counts = table_counts(url, "api_integrations", tables)
        with scratch_database(self.args.admin_url, "raw") as url:
            migrate(url)
            self.say("raw COPY")
            raw = raw_copy(singer, url, "api_integrations")
        ours_rate = records / ours.seconds
        self.rows.append(Row(
            "2", "target vs raw COPY into the same FK tables", rate(records, ours.seconds),
            f"raw COPY {rate(raw.records, raw.seconds)}",
            f"{ratio(ours_rate, raw.records / raw.seconds):.2f}", ">= 0.40",
            ours_rate >= 0.4 * raw.records / raw.seconds))
        self.rows.append(Row(
            "2", "target vs the COPY statements alone (PostgreSQL's side)",
            rate(records, ours.seconds), f"COPY only {rate(raw.records, raw.copy_seconds)}",
            f"{ratio(ours_rate, raw.records / raw.copy_seconds):.2f}", "info", None))
        self.notes.append(
            f"Our target: {ours.seconds:.1f}s wall (process start-up included) for "
            f"{records:,} records, peak RSS {ours.peak_rss_mb:.0f} MB; rows loaded "
            f"{sum(ours_counts.values()):,} vs raw COPY {sum(raw.loaded.values()):,} "
            f"(raw dropped {sum(raw.dropped.values())} constraint-violating rows).")
        if not self.args.skip_theirs:
            self.theirs_rows(singer, records, ours_rate)

    def theirs_rows(self, singer: Path, records: int, ours_rate: float) -> None:
        ensure_theirs(self.args.theirs, self.out / "theirs-install.log")
        for label, settings, goal in (("theirs-default", THEIRS_DEFAULT, 1.5),
                                      ("theirs-tuned", THEIRS_TUNED, None)):
            with scratch_database(self.args.admin_url, label.replace("-", "_")) as url:
                self.say(f"MeltanoLabs target-postgres ({label})")
                theirs = load_theirs(self.args.theirs, singer, url, self.out, settings, label)
            their_rate = records / theirs.seconds
            self.rows.append(Row(
                "1", f"target load rate vs MeltanoLabs target-postgres ({label})",
                f"{ours_rate:,.0f} rec/s", f"{their_rate:,.0f} rec/s",
                f"{ratio(ours_rate, their_rate):.2f}",
                f">= {goal:.1f}" if goal else "info",
                None if goal is None else ours_rate >= goal * their_rate))
            self.notes.append(
                f"MeltanoLabs target-postgres {label} {settings}: {theirs.seconds:.1f}s, "
                f"peak RSS {theirs.peak_rss_mb:.0f} MB.")

    # -- 5. peak RSS --
    def rss_stage(self, singer: Path) -> None:
        peaks: list[str] = []
        worst = 0.0
        for size in self.args.rss_sizes:
            scaled = self.out / f"scaled-{size}.singer"
            write_scaled(singer, scaled, size)
            with scratch_database(self.args.admin_url, "rss") as url:
                migrate(url)
                self.say(f"our target, {size:,} records (peak RSS)")
                measured = load_ours(scaled, url, self.out, label=f"rss-{size}")
            worst = max(worst, measured.peak_rss_mb)
            peaks.append(f"{size:,}: {measured.peak_rss_mb:.0f} MB "
                         f"({rate(size, measured.seconds)})")
            scaled.unlink()
        self.rows.append(Row("5", "target peak RSS by input size", "; ".join(peaks),
                             "-", "-", "flat, <= 150 MB", worst <= 150))

    # -- 6. end to end --
    def e2e_stage(self, sim: SimulatorProcess) -> None:
        sys_dir = (BENCH_DIR / "out" / "meltano-sys").resolve()
        sys_dir.mkdir(parents=True, exist_ok=True)
        e2e.install_plugins(sys_dir, self.out / "meltano-install.log")
        # The same answers the taps will ask for, computed once at zero latency: the
        # simulator's own filtering runs under one lock and, with eight regions at once on
        # a shared machine, would be measured instead of the pipeline. The 150 ms latency
        # still applies to every call.
        for region, start in e2e.start_dates(self.args.regions).items():
            self.say(f"warming the simulator's answers for {region} (start_date {start})")
            config = {**region_config(sim.base_url, region), "start_date": start}
            warm_up = self.out / f"warm-e2e-{region}.jsonl"
            run_plain_loop(config, PAGE_SIZE, warm_up, self.out)
            warm_up.unlink()
        sim.set_latency(self.args.latency_ms)
        sim.reset_counters()
        try:
            with scratch_database(self.args.admin_url, "e2e") as url:
                self.say(f"meltano run, {len(self.args.regions)} regions in parallel, "
                         f"{self.args.latency_ms} ms latency")
                env = e2e.meltano_env(sys_dir, url, sim.base_url)
                wall, timings = e2e.run_parallel(self.args.regions, env, self.out)
                loaded = sum(table_counts(url, "api_integrations", [s.table for s in TABLES])
                             .values())
        finally:
            sim.set_latency(0)
        slowest = max(timings.values(), key=lambda timing: timing.wall)
        self.rows.append(Row(
            "6", f"meltano run, all regions in parallel, {self.args.latency_ms} ms latency",
            f"{wall:.0f}s wall", "-", "-", "< 120 s", wall < 120))
        self.notes.append(
            f"End to end: {loaded:,} rows loaded, {sum(sim.counters().values()):,} API calls. "
            f"Slowest region {slowest.region} ({slowest.wall:.0f}s): Meltano start-up and "
            f"discovery {slowest.startup:.0f}s, tap {slowest.tap:.0f}s, target after the tap "
            f"{slowest.target_tail:.0f}s, shutdown {slowest.shutdown:.0f}s. Per region: "
            + ", ".join(f"{t.region} {t.wall:.0f}s (start-up {t.startup:.0f}s)"
                        for t in timings.values()))

    def run(self, save: Callable[[], None]) -> bool:
        """All stages; a failed stage becomes a FAILED row with its reason, the rest go on
        (the tap stage feeds the others, so its failure ends the run). True if all passed."""
        with SimulatorProcess(self.args.scale, self.out / "simulator.log") as sim:
            singer = self.out / "all-regions.singer"
            stages: list[tuple[str, str, Callable[[], object]]] = [
                ("3", "tap stage", lambda: self.tap_stage(sim)),
                ("1", "target stage", lambda: self.target_stage(singer)),
                ("5", "RSS stage", lambda: self.rss_stage(singer)),
                ("7", "inactive-properties stage", self.inactive_stage),
            ]
            if self.args.e2e_only:
                stages = []
            if not self.args.skip_e2e:
                stages.append(("6", "end-to-end stage", lambda: self.e2e_stage(sim)))
            for number, name, stage in stages:
                if not self._attempt(number, name, stage) and number == "3":
                    break
                save()
        return not self.failed

    def _attempt(self, number: str, name: str, stage: Callable[[], object]) -> bool:
        try:
            stage()
        except STAGE_ERRORS as error:
            self.failed = True
            reason = " ".join(str(error).split())[:300]
            self.rows.append(Row(number, f"{name} FAILED", type(error).__name__, reason,
                                 "-", "-", False))
            self.say(f"{name} FAILED: {error}")
            return False
        return True


def ensure_theirs(executable: Path, log: Path) -> None:
    """MeltanoLabs target-postgres in its own venv (its dependencies differ from ours)."""
    if executable.exists():
        return
    if executable != THEIRS_VENV / "bin" / "target-postgres":
        raise FileNotFoundError(f"--theirs {executable} does not exist")
    with log.open("wb") as out:
        subprocess.run([sys.executable, "-m", "venv", str(THEIRS_VENV)], check=True,
                       stdout=out, stderr=subprocess.STDOUT)
        subprocess.run([str(THEIRS_VENV / "bin" / "pip"), "install", THEIRS_PACKAGE],
                       check=True, stdout=out, stderr=subprocess.STDOUT)


def write_results(path: Path, table: str) -> None:
    """Replace the generated part of RESULTS.md (between the markers), keep the rest."""
    block = f"{BEGIN}\n{table}{END}"
    text = path.read_text() if path.exists() else f"# Benchmark results\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        raise ValueError(f"{path} lacks the {BEGIN} … {END} markers")
    head, rest = text.split(BEGIN, 1)
    path.write_text(head + block + rest.split(END, 1)[1])


def _minimum(summary: SingerSummary, *, full_window: bool = True) -> int:
    """The fewest calls for what the run read; an incremental run calls only properties of
    the tap's default `task_property_statuses`."""
    tasks = Counter(summary.tasks_per_home)
    homes = [home for home in summary.property_ids
             if full_window or summary.property_statuses.get(home) in CALLED_STATUSES]
    return minimum_calls(PAGE_SIZE, len(summary.property_ids), summary.records["reservations"],
                         [tasks.get(home, 0) for home in homes],
                         supplies=summary.records["supplies"])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    facts = report.machine_facts(server_facts(args.admin_url))
    facts["scale"] = f"{args.scale} ({', '.join(args.regions)})"
    bench = Bench(args)

    def save() -> None:
        rows = sorted(bench.rows, key=lambda row: row.number)
        if args.results:
            write_results(args.results, report.markdown(rows, facts, bench.notes))

    passed = bench.run(save)
    save()
    print(report.console_table(sorted(bench.rows, key=lambda row: row.number)))
    for note in bench.notes:
        print(f"- {note}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
