"""Shared fixtures: real PostgreSQL and Redis when reachable on loopback, skipped otherwise."""

from __future__ import annotations

import os
import socket

import pytest

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


postgres_available = reachable("127.0.0.1", 5432)
redis_available = reachable("127.0.0.1", 6379)
needs_postgres = pytest.mark.skipif(not postgres_available, reason="PostgreSQL is not reachable on 127.0.0.1:5432")
needs_redis = pytest.mark.skipif(not redis_available, reason="Redis is not reachable on 127.0.0.1:6379")
