"""A PostgreSQL database of the run's own, so that two runs on one machine
never meet: `<DATABASE_URL's name>_<label>_<pid>`, created empty at the start
and dropped at the end. Only that database is ever dropped, and never WITH
(FORCE): a database someone else is using is not ours to take away.
"""

from __future__ import annotations

import os
import time
from urllib.parse import urlsplit, urlunsplit

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/sitthi"


def run_database(label: str) -> tuple[str, str, str]:
    """(admin URL, this run's database URL, its name) for the benchmark `label`."""
    parts = urlsplit(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    if not parts.scheme.startswith("postgres"):
        raise SystemExit(f"bench {label} needs PostgreSQL: set DATABASE_URL=postgres://...")
    name = f"{parts.path.strip('/') or 'sitthi'}_{label}_{os.getpid()}"
    return (
        urlunsplit(parts._replace(path="/postgres")),
        urlunsplit(parts._replace(path="/" + name)),
        name,
    )


def database_create(admin_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def database_drop(admin_url: str, name: str, timeout: float = 30) -> bool:
    """Drop the run's own database once its last connection is gone. The
    services were just stopped, and PostgreSQL ends their backends a moment
    after: retry for a while rather than force. False if it is still in use
    (it is then left, and named in the output)."""
    import psycopg
    from psycopg import sql

    deadline = time.monotonic() + timeout
    with psycopg.connect(admin_url, autocommit=True) as connection:
        while True:
            try:
                connection.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
                )
                return True
            except psycopg.errors.ObjectInUse:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.5)
