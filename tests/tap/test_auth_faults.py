"""Token and refresh calls survive a dropped connection or a timeout (real socket faults).

A TCP proxy between the tap and the simulator breaks exactly the exchanges a test names;
before the tap retried auth calls, one dropped connection failed the region's whole run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest
from breezeway_sim import Simulator
from fault_proxy import FaultProxy
from tap_breezeway.auth import AuthUnavailableError, BreezewayAuthenticator, jwt_expiry
from tap_harness import expected_counts, run_tap

TOKEN_PATH, REFRESH_PATH = "/public/auth/v1/", "/public/auth/v1/refresh"
TOKEN, REFRESH = f"POST {TOKEN_PATH}", f"POST {REFRESH_PATH}"


@pytest.fixture
def sim(sim_factory: Callable[..., Simulator]) -> Simulator:
    return sim_factory(regions=["nashville"], auth_rate_limit=True)


@pytest.fixture
def proxy(sim: Simulator) -> Iterator[FaultProxy]:
    proxy = FaultProxy(sim.base_url)
    yield proxy
    proxy.close()


def authenticator(sim: Simulator, proxy: FaultProxy, waits: list[float],
                  **kwargs) -> BreezewayAuthenticator:
    def sleep(seconds: float) -> None:  # the simulator's clock moves instead of ours
        waits.append(seconds)
        sim.advance_time(seconds)

    client_id, client_secret = sim.credentials("nashville")
    return BreezewayAuthenticator(api_url=proxy.url, client_id=client_id,
                                  client_secret=client_secret, region_code="nashville",
                                  sleep=sleep, **kwargs)


def test_a_dropped_token_call_is_retried_after_a_backoff(sim, proxy, caplog):
    proxy.fail_next(TOKEN_PATH, "drop")
    waits: list[float] = []
    assert authenticator(sim, proxy, waits).access_token()
    assert [fault for _, fault in proxy.exchanges] == ["drop", "relayed"]
    assert sim.counters[TOKEN] == 1  # the dropped call never reached the API
    assert waits == [2.0]
    assert "could not be reached (ConnectionError" in caplog.text
    assert "attempt 1 of 3" in caplog.text


def test_a_token_call_that_times_out_is_retried(sim, proxy):
    proxy.fail_next(TOKEN_PATH, "hang")
    waits: list[float] = []
    assert authenticator(sim, proxy, waits, timeout_s=0.5).access_token()
    assert [fault for _, fault in proxy.exchanges] == ["hang", "relayed"]
    assert sim.counters[TOKEN] == 1 and waits == [2.0]


def test_a_retried_token_call_the_api_did_count_waits_out_the_rate_limit(sim, proxy):
    # The answer is lost after the API counted the call: the retry meets the
    # one-call-per-minute limit (429), waits its Retry-After, and then succeeds.
    proxy.fail_next(TOKEN_PATH, "lose_answer")
    waits: list[float] = []
    assert authenticator(sim, proxy, waits).access_token()
    assert [fault for _, fault in proxy.exchanges] == ["lose_answer", "relayed", "relayed"]
    assert sim.counters[TOKEN] == 3
    assert waits[0] == 2.0 and 50 <= waits[1] <= 61
    assert sum(1 for *_, status in sim.requests_log if status == 429) == 1


def test_a_refresh_whose_answer_is_lost_falls_back_to_the_credentials(sim, proxy):
    # The API rotated the refresh token but the answer never arrived: the retry presents
    # the spent refresh token (401), and the tap logs in again with the credentials.
    now = [0.0]
    waits: list[float] = []
    auth = authenticator(sim, proxy, waits, clock=lambda: now[0])
    first = auth.access_token()
    proxy.fail_next(REFRESH_PATH, "lose_answer")
    now[0] = jwt_expiry(first) - 1
    sim.advance_time(120)  # past both endpoints' one-call-per-minute window
    assert auth.access_token() != first
    # lost answer, then 429 (the lost call counted), then 401 (its token was spent)
    assert [fault for line, fault in proxy.exchanges if "refresh" in line] == [
        "lose_answer", "relayed", "relayed"]
    assert sim.counters[REFRESH] == 3 and sim.counters[TOKEN] == 2
    assert waits[0] == 2.0 and 50 <= waits[1] <= 61


def test_auth_retries_are_bounded_then_fatal_without_secrets(sim, proxy):
    proxy.fail_next(TOKEN_PATH, "drop", times=10)
    waits: list[float] = []
    auth = authenticator(sim, proxy, waits, max_tries=3, max_wait_s=3)
    with pytest.raises(AuthUnavailableError) as failure:
        auth.access_token()
    message = str(failure.value)
    assert "could not be reached" in message and "'nashville'" in message
    assert "after 3 attempts" in message
    assert len(proxy.exchanges) == 3 and waits == [2.0, 3.0]
    for secret in sim.credentials("nashville"):
        assert secret not in message


def test_a_whole_run_survives_a_dropped_token_call(sim, proxy, caplog):
    caplog.set_level(logging.WARNING)
    proxy.fail_next(TOKEN_PATH, "drop")
    output = run_tap(sim, "nashville", api_url=proxy.url, auth_max_wait_s=0.05)
    assert output.counts() == expected_counts(sim, "nashville")
    assert sim.counters[TOKEN] == 1
    assert "token endpoint could not be reached" in caplog.text
