"""Background work queued when the transaction that asks for it commits.

A service names the Celery task it wants run (its registered name, e.g.
"outbox.tasks.messages_drain") instead of importing the tasks module: tasks
import services, never the reverse, so there is no circle between the two.
`tests/test_layers.py` checks that every name given here is a registered task.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib import import_module
from typing import Any

from celery import Task, current_app
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Model

logger = logging.getLogger(__name__)


def task_queue(task_name: str, *args: Any) -> None:
    """Queue the task now (a worker takes it; eager without a broker).

    A worker imports every app's tasks at start; a web process may not have
    yet, so the module the name points to is imported first (a dictionary
    look-up once it is loaded)."""
    import_module(task_name.rpartition(".")[0])
    current_app.tasks[task_name].delay(*args)


def _queued(task_name: str, *args: Any) -> bool:
    """Queue the task; a broker outage is logged, never raised."""
    try:
        task_queue(task_name, *args)
    except Exception:
        logger.warning("could not queue %s%r", task_name, args, exc_info=True)
        return False
    return True


def after_commit(task_name: str, *args: Any) -> None:
    """Queue the task once the current transaction commits, so it never sees
    a row that was rolled back. A broker outage is logged, never raised: the
    change is committed, and each kind of work has its own way back (the
    outbox's periodic flush, a job's "queued" state shown to its owner)."""
    transaction.on_commit(lambda: _queued(task_name, *args))


# A drain is one task that works through every row waiting for it (signing
# forms received, say) instead of one task per row: publishing a Celery
# message costs a request more than the INSERT it follows. A committed row
# asks for a drain only when none is queued yet; a drain forgets the request
# (`drain_started`) before it looks for rows, so a row committed after that
# asks for a new one, and a row committed before it is found. The request is
# kept this long: a drain lost on its way (a broker restarted empty) is asked
# for again by the next row after that, and each kind of row has its
# periodic sweep besides.
DRAIN_REQUEST_SECONDS = 10


def _drain_key(task_name: str) -> str:
    return f"background:drain-requested:{task_name}"


def drain_after_commit(task_name: str) -> None:
    """Queue the drain task `task_name` once the current transaction commits,
    unless one is queued already and has not started. A broker outage is
    logged, never raised, as in `after_commit`; the request is then
    forgotten, so the next row tries again."""

    def queue() -> None:
        # With Redis down, add() answers False: nothing is queued, and the
        # broker (the same Redis) could not have taken it anyway.
        requested = cache.add(_drain_key(task_name), 1, timeout=DRAIN_REQUEST_SECONDS)
        if requested and not _queued(task_name):
            cache.delete(_drain_key(task_name))

    transaction.on_commit(queue)


def drain_started(task_name: str) -> None:
    """Called by a drain before it looks for rows: what is committed from now
    on asks for a drain of its own."""
    cache.delete(_drain_key(task_name))


def drain_run(
    task: Task,
    task_name: str,
    work: Callable[[int], int],
    *,
    batch: int,
    what: str,
    fallback: str,
) -> int:
    """The body of the drain task `task` (registered as `task_name`): forget
    the request that queued it (drain_started), do `work(batch)` (how many
    rows it handled, rows_drain), and hand over to a new drain when the
    batch was full. A refused database retries the task (database_retry,
    `what` and `fallback` naming the work in its warning)."""
    drain_started(task_name)
    try:
        handled = work(batch)
    except (OperationalError, InterfaceError) as error:
        return database_retry(task, error, work=what, fallback=fallback)
    if handled >= batch:
        task_queue(task_name)
    return handled


def rows_drain(
    take: Callable[[list[int]], Model | None],
    handle: Callable[[Any], object],
    *,
    limit: int,
    log: logging.Logger,
    failure: str,
) -> int:
    """A drain's work: rows handled one by one, oldest first, up to `limit`,
    each in a transaction of its own. `take(skipped)` gives the next row
    locked with SKIP LOCKED (two drains at once take different rows),
    leaving out the keys in `skipped`; `handle(row)` does its work in that
    transaction. A row whose handling fails for a reason other than the
    database is logged (`failure % key`) and skipped by this drain, for the
    periodic sweep; a database error is raised, for the task to retry.
    Returns how many rows were handled."""
    handled = 0
    skipped: list[int] = []
    while handled < limit:
        key = None
        try:
            with transaction.atomic():
                row = take(skipped)
                if row is None:
                    break
                key = row.pk
                handle(row)
        except (OperationalError, InterfaceError):
            raise
        except Exception:
            if key is None:
                raise
            log.exception(failure, key)
            skipped.append(key)
            continue
        handled += 1
    return handled


# The database refusing connections (a restart, a failover, a full pool) is
# usually over within a minute: a task retries itself, 5 s, 10 s, 20 s ... up
# to 5 minutes apart, instead of leaving its work to a periodic sweep (which
# may not run at all). A retry is safe when the service changed nothing
# before the error (each task's service works in one transaction).
DATABASE_RETRIES = 6


def database_retry_countdown(retries: int) -> int:
    """Seconds before retry number `retries` + 1."""
    return int(min(5 * 2**retries, 300))


def database_retry(task: Task, error: Exception, *, work: str, fallback: str) -> bool:
    """What a task does when its service met a refused database connection:
    retry later (Celery's retry, raised); in a web request (eager: retrying
    now would meet the same refusal) raise the error; after the last retry
    log a warning and return False, leaving `work` to `fallback`."""
    if task.request.is_eager:
        raise error
    if task.request.retries >= DATABASE_RETRIES:
        logger.warning("database still unavailable for %s; %s", work, fallback)
        return False
    raise task.retry(exc=error, countdown=database_retry_countdown(task.request.retries))
