"""Simulator of the Breezeway public REST API (tests, demo, benchmarks).

Follows our notes on the real API: JWT auth with 1-call-per-minute token and refresh
endpoints, DRF-style paginated lists, the reservation default window and the task-list rules,
deterministic data with deliberate hard cases (`HARD_CASES`), and switchable faults.
"""

from breezeway_sim.churn import ChurnDay, ChurnEvent, ChurnRates
from breezeway_sim.generator import HARD_CASES
from breezeway_sim.regions import REGIONS
from breezeway_sim.simulator import Simulator

__all__ = ["HARD_CASES", "REGIONS", "ChurnDay", "ChurnEvent", "ChurnRates", "Simulator"]
