"""Fuzzing budgets: `make test` runs a bounded pass (seconds), `make fuzz` a long one (FUZZ=long).

Hypothesis profiles are chosen here for every property test under tests/fuzz; the schemathesis
run reads the same setting."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

LONG = os.environ.get("FUZZ", "") == "long"

settings.register_profile(
    "bounded", max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("long", max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("long" if LONG else "bounded")
