"""Authentication against the simulator: token once, refresh, refusals, the 1/min limit."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest
import requests
from breezeway_sim import Simulator
from tap_breezeway.auth import (
    AuthUnavailableError,
    BreezewayAuthenticator,
    CredentialsRefusedError,
    jwt_expiry,
)
from tap_harness import expected_counts, run_tap

TOKEN = "POST /public/auth/v1/"
REFRESH = "POST /public/auth/v1/refresh"


def authenticator(sim: Simulator, region: str = "nashville", **kwargs) -> BreezewayAuthenticator:
    client_id, client_secret = sim.credentials(region)
    return BreezewayAuthenticator(api_url=sim.base_url, client_id=client_id,
                                  client_secret=client_secret, region_code=region, **kwargs)


def property_status(sim: Simulator, auth: BreezewayAuthenticator) -> int:
    """One real data call made with the authenticator's current token."""
    url = f"{sim.base_url}/public/inventory/v1/property"
    return requests.get(url, auth=auth, timeout=10).status_code


def test_jwt_expiry_reads_the_exp_claim():
    payload = base64.urlsafe_b64encode(json.dumps({"exp": 1_900_000_000}).encode()).rstrip(b"=")
    assert jwt_expiry(f"h.{payload.decode()}.s") == 1_900_000_000
    assert jwt_expiry("not-a-jwt") is None


def test_one_token_call_per_run_for_all_streams(simulator: Simulator):
    simulator.set_faults(auth_rate_limit=True)
    output = run_tap(simulator, "nashville")
    assert output.counts() == expected_counts(simulator, "nashville")
    assert simulator.counters[TOKEN] == 1
    assert REFRESH not in simulator.counters


def test_wrong_credentials_fail_fast_naming_the_region(simulator: Simulator):
    with pytest.raises(CredentialsRefusedError) as refused:
        run_tap(simulator, "austin", client_secret="wrong-secret-value")
    message = str(refused.value)
    assert "'austin'" in message and "refused the credentials" in message
    assert "inactive client" in message
    assert "wrong-secret-value" not in message
    assert simulator.credentials("austin")[0] not in message
    assert simulator.counters[TOKEN] == 1  # a refusal is final: no retry loop


def test_token_expiring_mid_sync_is_refreshed_and_the_run_completes(sim_factory: Callable):
    # Tokens live 1 s and the run is paced to last longer: data calls meet expired tokens.
    sim = sim_factory(regions=["nashville"], auth_rate_limit=False, token_ttl_s=1)
    output = run_tap(sim, "nashville", max_requests_per_second=12, max_workers=2)
    assert output.counts() == expected_counts(sim, "nashville")
    assert sim.counters[TOKEN] == 1
    assert sim.counters[REFRESH] >= 1
    statuses = [status for _, _, _, status in sim.requests_log]
    assert 401 in statuses


def test_token_is_refreshed_before_it_expires(simulator: Simulator):
    now = [1_000.0]
    auth = authenticator(simulator, clock=lambda: now[0])
    first = auth.access_token()
    assert property_status(simulator, auth) == 200
    now[0] = jwt_expiry(first) - 60  # within the renewal margin, before expiry
    second = auth.access_token()
    assert second != first
    assert simulator.counters.get(REFRESH) == 1
    assert property_status(simulator, auth) == 200
    assert simulator.counters[TOKEN] == 1


def test_a_rotated_refresh_token_is_kept(simulator: Simulator):
    now = [0.0]
    auth = authenticator(simulator, clock=lambda: now[0])
    tokens = [auth.access_token()]
    for _ in range(2):  # each refresh must use the newest refresh token (single use)
        now[0] = max(jwt_expiry(tokens[-1]) - 1, now[0] + 61)  # due, and a minute later
        tokens.append(auth.access_token())
    assert len(set(tokens)) == 3
    assert simulator.counters[REFRESH] == 2
    assert simulator.counters[TOKEN] == 1


def test_auth_429_waits_for_retry_after_then_succeeds(simulator: Simulator):
    simulator.set_faults(auth_rate_limit=True)
    assert authenticator(simulator).access_token()
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the simulator's clock moves instead of ours
        waits.append(seconds)
        simulator.advance_time(seconds)

    second = authenticator(simulator, sleep=sleep)
    assert second.access_token()
    assert simulator.counters[TOKEN] == 3
    assert len(waits) == 1 and 50 <= waits[0] <= 61


def test_auth_429_wait_is_bounded_and_then_fatal(simulator: Simulator):
    simulator.set_faults(auth_rate_limit=True)
    authenticator(simulator).access_token()
    waits: list[float] = []
    bounded = authenticator(simulator, max_wait_s=2, max_tries=2, sleep=waits.append)
    with pytest.raises(AuthUnavailableError, match=r"HTTP 429 for region 'nashville'"):
        bounded.access_token()
    assert waits == [2]


def test_unusable_refresh_token_falls_back_to_client_credentials(simulator: Simulator):
    now = [0.0]
    auth = authenticator(simulator, clock=lambda: now[0])
    first = auth.access_token()
    # Spend the tap's refresh token behind its back: the next refresh is refused (401).
    stolen = authenticator(simulator, clock=lambda: now[0])
    stolen._pair = auth._pair
    now[0] = jwt_expiry(first) - 1
    stolen.access_token()
    assert auth.access_token() != first
    assert simulator.counters[REFRESH] == 2
    assert simulator.counters[TOKEN] == 2
    assert property_status(simulator, auth) == 200


def test_secrets_never_reach_logs_or_output(sim_factory: Callable, caplog):
    # Short tokens: the run goes through 401s and refreshes, the paths most likely to leak.
    sim = sim_factory(regions=["nashville"], auth_rate_limit=False, token_ttl_s=1)
    caplog.set_level("DEBUG")
    output = run_tap(sim, "nashville", max_requests_per_second=12, max_workers=2)
    with pytest.raises(CredentialsRefusedError) as refused:
        run_tap(sim, "nashville", client_secret="not-the-secret")
    assert sim.counters[REFRESH] >= 1
    text = caplog.text + json.dumps(output.messages) + str(refused.value)
    for secret in (*sim.credentials("nashville"), "not-the-secret"):
        assert secret not in text
    assert "JWT " not in text and "eyJ" not in text  # no header, no token (JWTs start eyJ)
