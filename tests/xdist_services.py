"""Loaded with `-p tests.xdist_services`, before Django is set up: each xdist
worker gets a Redis database of its own (REDIS_URL's number + 1 + the
worker's index), so one worker's `cache.clear()`, rate-limit counters and
Celery queues never touch another's. PostgreSQL needs nothing: pytest-django
already gives each worker its own test database (test_<name>_gw0 ...)."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

REDIS_DATABASES = 16  # Redis's default `databases`


def _worker_redis_url(url: str, worker: str) -> str:
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    index = int(worker.removeprefix("gw"))
    database = (base + 1 + index) % REDIS_DATABASES
    return urlunsplit(parts._replace(path=f"/{database}"))


_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker.startswith("gw") and os.environ.get("REDIS_URL"):
    os.environ["REDIS_URL"] = _worker_redis_url(os.environ["REDIS_URL"], _worker)
