"""Two drains at once, for the tests of each drain's question: a second
drain, on a connection of its own in a thread, holds a row it took."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connection, transaction
from django.db.models import Model


@contextmanager
def taken_by_another_drain(take: Callable[[], Model | None]) -> Iterator[int]:
    """While the block runs, another connection holds, in an open
    transaction, the row `take()` gave it (locked as a drain locks it);
    yields that row's key. The other transaction ends when the block does."""
    held, release = threading.Event(), threading.Event()
    taken: list[int] = []

    def other_drain() -> None:
        try:
            with transaction.atomic():
                row = take()
                assert row is not None
                taken.append(row.pk)
                held.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=other_drain)
    thread.start()
    try:
        assert held.wait(10), "the other drain took nothing"
        yield taken[0]
    finally:
        release.set()
        thread.join()
