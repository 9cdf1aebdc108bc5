"""Retries through the SDK: 429 (Retry-After honoured), 5xx and truncated bodies; fatal 4xx."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from breezeway_sim import Simulator
from singer_sdk.exceptions import FatalAPIError
from tap_harness import (
    REQUIREMENT_STREAMS,
    expected_counts,
    ids_by_stream,
    minimum_calls,
    run_tap,
)


@pytest.fixture
def faulty_sim(sim_factory: Callable[..., Simulator]) -> Simulator:
    return sim_factory(regions=["austin"], auth_rate_limit=False)


def test_429_bursts_honour_retry_after_and_lose_nothing(faulty_sim: Simulator):
    clean = run_tap(faulty_sim, "austin", without=REQUIREMENT_STREAMS)
    faulty_sim.set_faults(rate_limit_every=4, retry_after_s=1)
    faulty_sim.reset_counters()
    started = time.monotonic()
    output = run_tap(faulty_sim, "austin", max_workers=1, without=REQUIREMENT_STREAMS)
    elapsed = time.monotonic() - started
    throttled = sum(1 for *_, status in faulty_sim.requests_log if status == 429)
    assert throttled >= 2
    assert elapsed >= throttled * 1.0  # each 429 waited its Retry-After of 1 s
    assert ids_by_stream(output) == ids_by_stream(clean)
    assert output.counts() == expected_counts(faulty_sim, "austin", without=REQUIREMENT_STREAMS)


def test_5xx_and_truncated_bodies_are_retried_and_lose_nothing(faulty_sim: Simulator):
    clean = run_tap(faulty_sim, "austin")
    faulty_sim.set_faults(error_rate=0.2, truncate_rate=0.15, fault_seed=3)
    faulty_sim.reset_counters()
    output = run_tap(faulty_sim, "austin", backoff_max_tries=10)
    data_statuses = [status for _, path, _, status in faulty_sim.requests_log
                     if "/inventory/" in path]
    failed = sum(1 for status in data_statuses if status >= 500)
    minimum = sum(minimum_calls(faulty_sim, "austin", 100).values()) - 1  # minus the token call
    assert failed >= 1
    # More calls than minimum + 5xx retries: truncated 200 bodies were retried as well.
    assert len(data_statuses) > minimum + failed
    assert ids_by_stream(output) == ids_by_stream(clean)


def test_retries_are_bounded_and_then_fatal(faulty_sim: Simulator):
    faulty_sim.set_faults(error_rate=1.0, error_statuses=[503])
    with pytest.raises(Exception, match="503") as failure:
        run_tap(faulty_sim, "austin", backoff_max_tries=3)
    assert "Service Unavailable" in str(failure.value)
    assert sum(1 for *_, status in faulty_sim.requests_log if status == 503) == 3


def test_other_4xx_is_fatal_with_the_apis_message(faulty_sim: Simulator):
    with pytest.raises(FatalAPIError) as failure:
        run_tap(faulty_sim, "austin", company_id=1)
    message = str(failure.value)
    assert "HTTP 403" in message and "no access to company 1" in message
    assert "'austin'" in message
    refused = [path for _, path, _, status in faulty_sim.requests_log if status == 403]
    # companies (first stream) may be refused without failing the run; the next is fatal
    assert refused == ["/public/inventory/v1/companies", "/public/inventory/v1/people"]
