"""Command line: serve the simulator until killed (for Meltano runs, demos, benchmarks).

The printed credentials are simulator-only fakes; faults can be switched at run time through
`POST /_sim/faults`, and counters read at `GET /_sim/counters`.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import UTC, date, datetime, timedelta

from breezeway_sim.faults import DEFAULT_ERROR_STATUSES
from breezeway_sim.regions import REGIONS
from breezeway_sim.simulator import Simulator


def _regions(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in REGIONS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown regions {unknown}; known: {', '.join(REGIONS)}")
    return names


def _statuses(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(","))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="breezeway-sim", description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--regions", type=_regions, default=None, help="comma list, default all")
    parser.add_argument("--today", type=date.fromisoformat, default=None, help="YYYY-MM-DD")
    parser.add_argument("--max-page-size", type=int, default=250)
    parser.add_argument("--token-ttl-s", type=int, default=86_400)
    parser.add_argument("--no-auth-rate-limit", action="store_true")
    parser.add_argument("--reservation-timestamps", action="store_true")
    parser.add_argument(
        "--inactive-share",
        type=float,
        default=None,
        help="share (0..1) of each region's properties that is inactive (listed by "
        "/property, never given new tasks); default: the generator's own mix",
    )
    parser.add_argument(
        "--cache-responses",
        action="store_true",
        help="keep encoded answers of data GETs (benchmarks, demos); mutations clear them",
    )
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--error-statuses", type=_statuses, default=DEFAULT_ERROR_STATUSES)
    parser.add_argument("--rate-limit-every", type=int, default=0)
    parser.add_argument("--retry-after-s", type=int, default=1)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--truncate-rate", type=float, default=0.0)
    parser.add_argument("--fault-seed", type=int, default=0)
    parser.add_argument(
        "--churn-days",
        type=int,
        default=0,
        help="pre-age the data: generate it N days before --today (default today), then "
        "apply N days of default churn, so the clock ends at noon of --today",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.churn_days < 0:
        parser.error("--churn-days must be 0 or more")
    today = args.today
    if args.churn_days:
        today = (today or datetime.now(UTC).date()) - timedelta(days=args.churn_days)
    simulator = Simulator(
        scale=args.scale,
        seed=args.seed,
        regions=args.regions,
        today=today,
        auth_rate_limit=not args.no_auth_rate_limit,
        response_cache=args.cache_responses,
        token_ttl_s=args.token_ttl_s,
        max_page_size=args.max_page_size,
        reservation_timestamps=args.reservation_timestamps,
        inactive_share=args.inactive_share,
        error_rate=args.error_rate,
        error_statuses=args.error_statuses,
        rate_limit_every=args.rate_limit_every,
        retry_after_s=args.retry_after_s,
        latency_ms=args.latency_ms,
        truncate_rate=args.truncate_rate,
        fault_seed=args.fault_seed,
    )
    for region in simulator.regions:
        simulator.data(region)  # generate before announcing readiness
    for _ in range(args.churn_days):
        simulator.advance_day()
    base_url = simulator.start(port=args.port)
    print(f"breezeway-sim serving {base_url}", flush=True)
    for region in simulator.regions:
        client_id, client_secret = simulator.credentials(region)
        print(
            f"{region} company_id={REGIONS[region]} client_id={client_id} "
            f"client_secret={client_secret}",
            flush=True,
        )
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    simulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
