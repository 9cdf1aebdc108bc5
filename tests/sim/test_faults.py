"""Injected faults on data endpoints, switchable at run time, and the /_sim admin surface."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import requests
from breezeway_sim import Simulator

if TYPE_CHECKING:
    from conftest import ApiClient


def test_every_nth_data_call_is_throttled_with_retry_after(nashville: ApiClient) -> None:
    nashville.simulator.set_faults(rate_limit_every=3, retry_after_s=7)
    statuses = [nashville.get("/property").status_code for _ in range(6)]
    assert statuses == [200, 200, 429, 200, 200, 429]
    for _ in range(2):
        nashville.get("/property")
    throttled = nashville.get("/property")
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "7"
    body = throttled.json()
    assert body["error"] == "Too many requests"
    assert set(body["details"]) == {"message", "retry_after"}


def test_error_rate_is_seeded_and_uses_the_given_statuses(
    simulator: Simulator, client_for: Callable
) -> None:
    client = client_for("nashville")
    simulator.set_faults(error_rate=0.5, error_statuses=(500, 503), fault_seed=42)
    first = [client.get("/property").status_code for _ in range(40)]
    simulator.set_faults(error_rate=0.5, error_statuses=(500, 503), fault_seed=42)
    second = [client.get("/property").status_code for _ in range(40)]
    assert first == second, "the same fault seed replays the same failures"
    assert set(first) == {200, 500, 503}
    assert 8 <= first.count(200) <= 32
    simulator.set_faults(error_rate=1.0, error_statuses=(502,))
    failed = client.get("/property")
    assert failed.status_code == 502 and "error" in failed.json()


def test_faults_spare_the_auth_endpoint(simulator: Simulator, client_for: Callable) -> None:
    simulator.set_faults(error_rate=1.0, rate_limit_every=1, truncate_rate=1.0)
    client = client_for("austin")  # logs in: must still work
    assert client.get("/property").status_code in (429, 500, 502, 503)


def test_set_faults_without_arguments_clears_them(nashville: ApiClient) -> None:
    nashville.simulator.set_faults(error_rate=1.0)
    assert nashville.get("/property").status_code >= 500
    nashville.simulator.set_faults()
    assert nashville.get("/property").status_code == 200


def test_latency_delays_each_call_but_calls_run_concurrently(nashville: ApiClient) -> None:
    nashville.simulator.set_faults(latency_ms=300)
    started = time.monotonic()
    assert nashville.get("/property").status_code == 200
    assert time.monotonic() - started >= 0.3
    url = f"{nashville.simulator.base_url}/public/inventory/v1/property"
    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(lambda _: requests.get(url, headers=nashville.headers, timeout=10), range(4))
        )
    elapsed = time.monotonic() - started
    assert [a.status_code for a in answers] == [200] * 4
    assert 0.3 <= elapsed < 1.0, f"4 calls of 300 ms took {elapsed:.2f}s: not concurrent"


def test_truncation_cuts_the_json_in_half(nashville: ApiClient) -> None:
    whole = nashville.get("/property", limit=5).content
    nashville.simulator.set_faults(truncate_rate=1.0)
    cut = nashville.get("/property", limit=5)
    assert cut.status_code == 200
    assert cut.content == whole[: len(whole) // 2]
    assert int(cut.headers["Content-Length"]) == len(cut.content)
    try:
        json.loads(cut.content)
    except ValueError:
        pass
    else:
        raise AssertionError("a truncated body must not parse")


def test_token_ttl_and_auth_limit_are_switchable(
    sim_factory: Callable[..., Simulator], client_for: Callable
) -> None:
    sim = sim_factory(regions=["nashville"])
    sim.set_faults(token_ttl_s=10, auth_rate_limit=False)
    client = client_for("nashville", sim)
    sim.advance_time(11)
    assert client.get("/property").json() == {"error": "token expired"}
    client_for("nashville", sim)  # a second login within the minute: limit is off


def test_admin_endpoints_switch_faults_and_read_counters(nashville: ApiClient) -> None:
    base = nashville.simulator.base_url
    assert requests.post(f"{base}/_sim/reset-counters", timeout=10).status_code == 200
    nashville.get("/property")
    assert requests.get(f"{base}/_sim/counters", timeout=10).json() == {
        "GET /public/inventory/v1/property": 1
    }
    answer = requests.post(
        f"{base}/_sim/faults", json={"error_rate": 1.0, "error_statuses": [503]}, timeout=10
    )
    assert answer.status_code == 200
    assert nashville.get("/property").status_code == 503
    bad = requests.post(f"{base}/_sim/faults", json={"error_rate": 3}, timeout=10)
    assert bad.status_code == 400
    assert requests.post(f"{base}/_sim/faults", json={"no_such": 1}, timeout=10).status_code == 400
    requests.post(f"{base}/_sim/faults", json={}, timeout=10)
    requests.post(f"{base}/_sim/advance-time", json={"seconds": 90_000}, timeout=10)
    assert nashville.get("/property").json() == {"error": "token expired"}
    cases = requests.get(f"{base}/_sim/hard-cases", params={"region": "austin"}, timeout=10).json()
    assert cases == nashville.simulator.hard_cases("austin")


def test_cli_serves_and_prints_credentials() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "breezeway_sim",
            "--port",
            "0",
            "--scale",
            "0.01",
            "--regions",
            "austin",
            "--no-auth-rate-limit",
            "--latency-ms",
            "1",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        serving = process.stdout.readline().split()
        credentials = dict(part.split("=", 1) for part in process.stdout.readline().split()[1:])
        assert serving[:2] == ["breezeway-sim", "serving"]
        base = serving[2]
        token = requests.post(
            f"{base}/public/auth/v1/",
            timeout=10,
            json={
                "client_id": credentials["client_id"],
                "client_secret": credentials["client_secret"],
            },
        ).json()["access_token"]
        answer = requests.get(
            f"{base}/public/inventory/v1/property",
            timeout=10,
            headers={"Authorization": f"JWT {token}"},
        )
        assert answer.status_code == 200
        assert credentials["company_id"] == "8561"
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
