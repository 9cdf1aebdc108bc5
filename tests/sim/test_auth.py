"""Authentication as documented: JWT scheme, 200 on bad credentials, rotation, 1 call/min."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import requests
from breezeway_sim import Simulator

AUTH = "/public/auth/v1/"
REFRESH = "/public/auth/v1/refresh"
PROPERTIES = "/public/inventory/v1/property"


def _login(sim: Simulator, region: str = "nashville") -> requests.Response:
    client_id, client_secret = sim.credentials(region)
    return requests.post(
        sim.base_url + AUTH,
        json={"client_id": client_id, "client_secret": client_secret},
        timeout=10,
    )


def _properties(sim: Simulator, authorization: str | None) -> requests.Response:
    headers = {"Authorization": authorization} if authorization else {}
    return requests.get(sim.base_url + PROPERTIES, headers=headers, timeout=10)


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_good_credentials_give_a_jwt_pair_that_opens_data_calls(simulator: Simulator) -> None:
    answer = _login(simulator)
    assert answer.status_code == 200
    tokens = answer.json()
    assert set(tokens) == {"access_token", "refresh_token"}
    claims = _claims(tokens["access_token"])
    assert claims["sub"] == "nashville" and claims["type"] == "access"
    assert claims["exp"] - claims["iat"] == 86_400
    assert _properties(simulator, f"JWT {tokens['access_token']}").status_code == 200


def test_wrong_credentials_answer_200_inactive_client(simulator: Simulator) -> None:
    answer = requests.post(
        simulator.base_url + AUTH,
        json={"client_id": "sim-nashville-id", "client_secret": "wrong"},
        timeout=10,
    )
    assert answer.status_code == 200
    assert answer.json() == {"error": "inactive client"}


def test_bearer_missing_and_forged_tokens_get_401(simulator: Simulator) -> None:
    token = _login(simulator).json()["access_token"]
    assert _properties(simulator, f"Bearer {token}").status_code == 401
    assert _properties(simulator, None).status_code == 401
    header, _payload, signature = token.split(".")
    forged = _claims(token) | {"sub": "austin"}
    forged_payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    answer = _properties(simulator, f"JWT {header}.{forged_payload}.{signature}")
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid token"


def test_garbage_tokens_get_401_not_a_crash(simulator: Simulator) -> None:
    for token in ("a.b", "x.y.z", "é.é.é", "JWT"):
        assert _properties(simulator, f"JWT {token}").status_code == 401, token


def test_refresh_token_is_not_an_access_token(simulator: Simulator) -> None:
    refresh = _login(simulator).json()["refresh_token"]
    assert _properties(simulator, f"JWT {refresh}").status_code == 401


def test_expired_access_token_gets_401_token_expired(sim_factory: Callable[..., Simulator]) -> None:
    sim = sim_factory(regions=["nashville"], auth_rate_limit=False, token_ttl_s=120)
    token = _login(sim).json()["access_token"]
    assert _properties(sim, f"JWT {token}").status_code == 200
    sim.advance_time(121)
    answer = _properties(sim, f"JWT {token}")
    assert answer.status_code == 401
    assert answer.json() == {"error": "token expired"}


def test_refresh_rotates_and_the_old_refresh_token_dies(simulator: Simulator) -> None:
    first = _login(simulator).json()
    refresh = requests.post(
        simulator.base_url + REFRESH,
        headers={"Authorization": f"JWT {first['refresh_token']}"},
        timeout=10,
    )
    assert refresh.status_code == 200
    second = refresh.json()
    assert set(second) == {"access_token", "refresh_token"}
    assert second["refresh_token"] != first["refresh_token"]
    assert _properties(simulator, f"JWT {second['access_token']}").status_code == 200
    reused = requests.post(
        simulator.base_url + REFRESH,
        headers={"Authorization": f"JWT {first['refresh_token']}"},
        timeout=10,
    )
    assert reused.status_code == 401
    again = requests.post(
        simulator.base_url + REFRESH,
        headers={"Authorization": f"JWT {second['refresh_token']}"},
        timeout=10,
    )
    assert again.status_code == 200


def test_refresh_without_a_token_gets_401(simulator: Simulator) -> None:
    assert requests.post(simulator.base_url + REFRESH, timeout=10).status_code == 401


def test_auth_endpoint_allows_one_call_per_minute(sim_factory: Callable[..., Simulator]) -> None:
    sim = sim_factory(regions=["nashville", "austin"])
    assert _login(sim).status_code == 200
    throttled = _login(sim)
    assert throttled.status_code == 429
    assert 55 <= int(throttled.headers["Retry-After"]) <= 60
    body = throttled.json()
    assert body["error"] == "Too many requests"
    assert set(body["details"]) == {"message", "retry_after"}
    assert _login(sim, "austin").status_code == 200, "the limit is per client"
    sim.advance_time(61)
    assert _login(sim).status_code == 200


def test_refresh_endpoint_allows_one_call_per_minute(sim_factory: Callable[..., Simulator]) -> None:
    sim = sim_factory(regions=["nashville"])
    tokens = _login(sim).json()
    first = requests.post(
        sim.base_url + REFRESH,
        headers={"Authorization": f"JWT {tokens['refresh_token']}"},
        timeout=10,
    )
    assert first.status_code == 200
    second = requests.post(
        sim.base_url + REFRESH,
        headers={"Authorization": f"JWT {first.json()['refresh_token']}"},
        timeout=10,
    )
    assert second.status_code == 429
    assert "Retry-After" in second.headers
    sim.advance_time(60)
    third = requests.post(
        sim.base_url + REFRESH,
        headers={"Authorization": f"JWT {first.json()['refresh_token']}"},
        timeout=10,
    )
    assert third.status_code == 200, "a throttled call must not spend the refresh token"


def test_region_credentials_see_only_their_company(client_for: Callable) -> None:
    nashville, austin = client_for("nashville"), client_for("austin")
    sim = nashville.simulator
    nashville_ids = {p["id"] for p in nashville.all_pages("/property", limit=250)}
    austin_ids = {p["id"] for p in austin.all_pages("/property", limit=250)}
    assert nashville_ids == {p["id"] for p in sim.data("nashville").properties}
    assert austin_ids == {p["id"] for p in sim.data("austin").properties}
    assert not nashville_ids & austin_ids
    assert nashville.get_json("/companies") == [
        {"id": 8558, "name": "Music City Stays", "reference_company_id": "cmp-nashville"}
    ]
    forbidden = nashville.get("/property", company_id=8561)
    assert forbidden.status_code == 403
    assert set(forbidden.json()) == {"error", "description"}
    austin_task = sim.data("austin").tasks[0]
    assert nashville.get(f"/task/{austin_task['id']}").status_code == 404
