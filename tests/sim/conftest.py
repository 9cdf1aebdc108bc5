"""Fixtures for the simulator's own tests: an authenticated HTTP client per region."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from breezeway_sim import Simulator

DATA = "/public/inventory/v1"


class ApiClient:
    """A real HTTP client holding one region's access token (as a tap would)."""

    def __init__(self, simulator: Simulator, region: str) -> None:
        self.simulator = simulator
        self.session = requests.Session()
        client_id, client_secret = simulator.credentials(region)
        answer = self.session.post(
            f"{simulator.base_url}/public/auth/v1/",
            json={"client_id": client_id, "client_secret": client_secret},
            timeout=10,
        )
        answer.raise_for_status()
        self.tokens = answer.json()
        self.headers = {"Authorization": f"JWT {self.tokens['access_token']}"}

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(
            f"{self.simulator.base_url}{DATA}{path}",
            params=params,
            headers=self.headers,
            timeout=10,
        )

    def get_json(self, path: str, **params: Any) -> Any:
        answer = self.get(path, **params)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def all_pages(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every result of a paginated list, following total_pages."""
        results: list[dict[str, Any]] = []
        page = 1
        while True:
            envelope = self.get_json(path, page=page, **params)
            results.extend(envelope["results"])
            if page >= envelope["total_pages"]:
                return results
            page += 1


@pytest.fixture
def client_for(simulator: Simulator) -> Iterator[Callable[..., ApiClient]]:
    """Make a logged-in client of a region, of the default simulator or of `sim`."""
    clients: list[ApiClient] = []

    def make(region: str, sim: Simulator | None = None) -> ApiClient:
        clients.append(ApiClient(sim or simulator, region))
        return clients[-1]

    yield make
    for client in clients:
        client.session.close()


@pytest.fixture
def nashville(client_for: Callable[[str], ApiClient]) -> ApiClient:
    return client_for("nashville")
