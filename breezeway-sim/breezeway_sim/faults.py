"""Injected failures of data endpoints: 429 every Nth call, random 5xx, latency, truncation.

Faults never touch the auth endpoints (those have their own real 1-call-per-minute limit)
nor the `/_sim` admin endpoints. Decisions come from a seeded random stream so a failing
test can be replayed.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

DEFAULT_ERROR_STATUSES = (500, 502, 503)


@dataclass(frozen=True)
class FaultProfile:
    """What goes wrong, and how often. The default profile injects nothing."""

    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = DEFAULT_ERROR_STATUSES
    rate_limit_every: int = 0
    retry_after_s: int = 1
    latency_ms: int = 0
    truncate_rate: float = 0.0
    fault_seed: int = 0

    def __post_init__(self) -> None:
        for name in ("error_rate", "truncate_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within 0..1, got {value}")
        if self.rate_limit_every < 0 or self.latency_ms < 0 or self.retry_after_s < 0:
            raise ValueError("rate_limit_every, latency_ms and retry_after_s must not be negative")
        if not self.error_statuses or any(not 400 <= s <= 599 for s in self.error_statuses):
            raise ValueError(f"error_statuses must be HTTP error codes, got {self.error_statuses}")


@dataclass
class FaultDecision:
    status: int | None = None  # an injected error status, or None to serve normally
    truncate: bool = False


@dataclass
class FaultInjector:
    """Decides, per data call, which fault (if any) applies."""

    profile: FaultProfile = field(default_factory=FaultProfile)
    _calls: int = 0
    _rng: random.Random = field(default_factory=lambda: random.Random(0))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def configure(self, profile: FaultProfile) -> None:
        with self._lock:
            self.profile = profile
            self._calls = 0
            self._rng = random.Random(profile.fault_seed)

    def decide(self) -> FaultDecision:
        with self._lock:
            profile = self.profile
            self._calls += 1
            if profile.rate_limit_every and self._calls % profile.rate_limit_every == 0:
                return FaultDecision(status=429)
            if profile.error_rate and self._rng.random() < profile.error_rate:
                return FaultDecision(status=self._rng.choice(profile.error_statuses))
            truncate = bool(profile.truncate_rate) and self._rng.random() < profile.truncate_rate
            return FaultDecision(truncate=truncate)
