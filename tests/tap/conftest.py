"""Tap tests import their harness (tap_harness.py) from this directory."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest
from breezeway_sim import Simulator

sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture(scope="module")
def module_sim() -> Iterator[Simulator]:
    """A small nashville+austin simulator shared by a module's read-only tests."""
    sim = Simulator(scale=0.02, regions=["nashville", "austin"], auth_rate_limit=False)
    sim.start()
    yield sim
    sim.stop()
