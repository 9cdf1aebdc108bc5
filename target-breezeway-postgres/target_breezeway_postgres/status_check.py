"""`breezeway-status --check`: is every active region synced, and recently?

The legacy scripts failed silently; this check is what cron or an orchestrator runs after
the syncs. A region is healthy only when its latest finished run succeeded as a whole (every
stream) and that success is younger than `--max-age`. Otherwise the region is named with the
reason, and an optional webhook (Slack-compatible `text`) is told.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from typing_extensions import override  # typing.override from Python 3.12

from target_breezeway_postgres.redact import safe_text
from target_breezeway_postgres.status_format import format_age, format_time, iso, scrub_secrets
from target_breezeway_postgres.status_query import ReconcileStatus, RegionStatus

OK, STALE, FAILED, NEVER_SYNCED = "ok", "stale", "failed", "never_synced"
RECONCILE = "reconcile"  # deletions not converging: breaker tripped, or too long ago
#: The alert's `text`: every failing region's detail is bounded too (redact.MAX_ERROR_CHARS),
#: and this caps their sum, well under what chat webhooks accept.
MAX_ALERT_TEXT_CHARS = 8000


@dataclass(frozen=True)
class RegionVerdict:
    region_code: str
    state: str
    detail: str

    @property
    def healthy(self) -> bool:
        return self.state == OK


class NotifyError(RuntimeError):
    """The alert could not be delivered; the check still fails."""


def judge_region(region: RegionStatus, now: datetime, max_age: timedelta) -> RegionVerdict:
    """One region's verdict. A run still in progress neither passes nor fails a region: the
    latest *finished* run decides, and staleness catches a run that hangs forever."""
    finished, success = region.last_finished_run, region.last_success
    if finished is not None and finished.status == "failed":
        return RegionVerdict(
            region.region_code,
            FAILED,
            f"last run {finished.run_id} failed (started {format_time(finished.started_at)}): "
            f"{scrub_secrets(finished.error_text)}",
        )
    if success is None or success.finished_at is None:
        running = region.last_run
        detail = "never synced"
        if running is not None:
            since = format_time(running.started_at)
            detail += f" (run {running.run_id} {running.status} since {since})"
        return RegionVerdict(region.region_code, NEVER_SYNCED, detail)
    age = now - success.finished_at
    if age > max_age:
        return RegionVerdict(
            region.region_code,
            STALE,
            f"last success {format_age(age.total_seconds())} ago "
            f"(run {success.run_id} finished {format_time(success.finished_at)}), "
            f"older than {format_age(max_age.total_seconds())}",
        )
    return RegionVerdict(
        region.region_code,
        OK,
        f"last success {format_age(age.total_seconds())} ago (run {success.run_id})",
    )


def judge_regions(
    regions: list[RegionStatus], now: datetime, max_age: timedelta,
    reconciles: Sequence[ReconcileStatus] = (), max_reconcile_age: timedelta | None = None,
) -> list[RegionVerdict]:
    """Verdicts for the active regions only: an inactive region is not expected to sync. A
    region whose syncs are fine can still fail on its deletions (judge_reconcile)."""
    verdicts = []
    for region in regions:
        if not region.is_active:
            continue
        verdict = judge_region(region, now, max_age)
        if verdict.healthy:
            own = [r for r in reconciles if r.region_code == region.region_code]
            verdict = judge_reconcile(verdict, own, now, max_reconcile_age)
        verdicts.append(verdict)
    return verdicts


def judge_reconcile(verdict: RegionVerdict, reconciles: Sequence[ReconcileStatus],
                    now: datetime, max_age: timedelta | None) -> RegionVerdict:
    """A tripped breaker always alerts (the region's deletions stopped converging and a
    person should look); with `--max-reconcile-age`, so does a last complete reconcile
    older than that, or none at all."""
    problems = []
    for stream in reconciles:
        if stream.last_full_crawl_status == "tripped":
            problems.append(f"{stream.stream}: reconcile breaker tripped at "
                            f"{format_time(stream.last_full_crawl_at)} "
                            f"({scrub_secrets(stream.last_full_crawl_note)})")
        elif max_age is None:
            continue
        elif stream.last_reconciled_at is None:
            problems.append(f"{stream.stream}: never reconciled")
        elif now - stream.last_reconciled_at > max_age:
            age = (now - stream.last_reconciled_at).total_seconds()
            problems.append(f"{stream.stream}: last complete reconcile {format_age(age)} ago, "
                            f"older than {format_age(max_age.total_seconds())}")
    if not problems:
        return verdict
    return RegionVerdict(verdict.region_code, RECONCILE, "; ".join(problems))


def check_text(verdicts: list[RegionVerdict], max_age: timedelta) -> str:
    failing = [v for v in verdicts if not v.healthy]
    lines = [f"{v.state.upper():<12} {v.region_code}: {v.detail}" for v in verdicts]
    if not verdicts:
        lines.append("no active region")
    if failing:
        names = ", ".join(v.region_code for v in failing)
        lines.append(f"CHECK FAILED: {len(failing)} of {len(verdicts)} active regions: {names}")
    else:
        lines.append(
            f"CHECK OK: {len(verdicts)} active regions synced within "
            f"{format_age(max_age.total_seconds())}"
        )
    return "\n".join(lines) + "\n"


def check_json(verdicts: list[RegionVerdict], now: datetime, max_age: timedelta) -> dict[str, Any]:
    return {
        "healthy": all(v.healthy for v in verdicts),
        "checked_at": iso(now),
        "max_age_seconds": max_age.total_seconds(),
        "regions": [
            {"region_code": v.region_code, "state": v.state, "detail": v.detail} for v in verdicts
        ],
    }


def alert_payload(
    verdicts: list[RegionVerdict], now: datetime, max_age: timedelta
) -> dict[str, Any]:
    """Slack reads `text`; other receivers get the structured verdicts alongside."""
    failing = [v for v in verdicts if not v.healthy]
    lines = [f":rotating_light: Breezeway sync check failed at {format_time(now)}: "
             f"{len(failing)} of {len(verdicts)} active regions"]
    lines += [f"• {v.region_code} ({v.state}): {v.detail}" for v in failing]
    payload = check_json(verdicts, now, max_age)
    payload["text"] = safe_text("\n".join(lines), limit=MAX_ALERT_TEXT_CHARS)
    return payload


def validate_notify_url(url: str) -> None:
    """Refuse, before anything else runs, a webhook URL that can never be posted to, so a
    typo shows on the first (healthy) run rather than on the day an alert is due. The
    message names the problem, never the URL: webhook URLs carry their secret in the path,
    the query or the user info."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # raises on a port that is not a number
    except ValueError:
        raise ValueError("--notify-url is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        shown = parts.scheme if parts.scheme.isalpha() and len(parts.scheme) <= 10 else ""
        raise ValueError(f"--notify-url must start with http:// or https:// "
                         f"(got {f'{shown}://' if shown else 'no scheme'})")
    if not parts.hostname:
        raise ValueError("--notify-url has no host (expected e.g. https://hooks.example.com/…)")
    if port == 0:
        raise ValueError("--notify-url has port 0")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is not a delivery: urllib would follow a 301/302/303 as a GET without the
    body (the alert lost, yet "sent"). The 3xx surfaces as an HTTPError instead."""

    @override
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def safe_endpoint(url: str) -> str:
    """Scheme and host only: webhook URLs (Slack's among them) carry their secret in the path."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}{f':{parts.port}' if parts.port else ''}/…"


def post_alert(url: str, payload: dict[str, Any], timeout: float, retries: int) -> None:
    """POST the payload; retry timeouts, connection errors and 5xx a bounded number of times.

    A 4xx is not retried (the request itself is wrong). Raises NotifyError naming the
    endpoint without its secret path.
    """
    body = json.dumps(payload).encode("utf-8")
    endpoint = safe_endpoint(url)
    attempts = retries + 1
    last_problem = "no attempt made"
    for attempt in range(1, attempts + 1):
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with _OPENER.open(request, timeout=timeout) as response:
                response.read()
            return
        except urllib.error.HTTPError as error:
            last_problem = f"HTTP {error.code}"
            if 300 <= error.code < 400:
                last_problem += " (a redirect; point --notify-url at the final address)"
            if error.code < 500:  # the request itself is wrong: retrying will not help
                break
        except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
            reason = getattr(error, "reason", error)
            last_problem = f"{type(reason).__name__}: {reason}"
        if attempt < attempts:
            time.sleep(min(0.5 * attempt, 5.0))
    raise NotifyError(
        f"alert to {endpoint} not delivered after {attempt} attempt(s): "
        f"{scrub_secrets(last_problem)}"
    )
