"""pytest fixtures for the Breezeway API simulator (registered by tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from breezeway_sim.simulator import Simulator

SMALL_SCALE = 0.02


@pytest.fixture
def sim_factory() -> Iterator[Callable[..., Simulator]]:
    """Start simulators with any `Simulator` arguments; all are stopped at teardown."""
    started: list[Simulator] = []

    def make(**kwargs: Any) -> Simulator:
        port = kwargs.pop("port", 0)
        simulator = Simulator(**kwargs)
        simulator.start(port=port)
        started.append(simulator)
        return simulator

    yield make
    for simulator in started:
        simulator.stop()


@pytest.fixture
def simulator(sim_factory: Callable[..., Simulator]) -> Simulator:
    """A small, started simulator of nashville and austin without the auth rate limit."""
    return sim_factory(scale=SMALL_SCALE, regions=["nashville", "austin"], auth_rate_limit=False)
