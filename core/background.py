"""Background work queued when the transaction that asks for it commits.

A service names the Celery task it wants run (its registered name, e.g.
"outbox.tasks.send_message") instead of importing the tasks module: tasks
import services, never the reverse, so there is no circle between the two.
`tests/test_layers.py` checks that every name given here is a registered task.
"""

from __future__ import annotations

import logging
from importlib import import_module
from typing import Any

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)


def task_queue(task_name: str, *args: Any) -> None:
    """Queue the task now (a worker takes it; eager without a broker).

    A worker imports every app's tasks at start; a web process may not have
    yet, so the module the name points to is imported first (a dictionary
    look-up once it is loaded)."""
    import_module(task_name.rpartition(".")[0])
    current_app.tasks[task_name].delay(*args)


def after_commit(task_name: str, *args: Any) -> None:
    """Queue the task once the current transaction commits, so it never sees
    a row that was rolled back. A broker outage is logged, never raised: the
    change is committed, and each kind of work has its own way back (the
    outbox's periodic flush, a job's "queued" state shown to its owner)."""

    def queue() -> None:
        try:
            task_queue(task_name, *args)
        except Exception:
            logger.warning("could not queue %s%r", task_name, args, exc_info=True)

    transaction.on_commit(queue)
