"""gunicorn's gthread worker, accepting a connection only while it has a free thread.

gthread workers share one listening socket and each accepts whatever it can
reach first, threads free or not; a kept-alive connection then stays with the
worker that took it. Clients (or a proxy's connections) that arrive together
pile up on whichever worker woke first: in `bench signing`, one worker held 52
of the 64 clients, another 12 and the third none for the whole flood, and the
queue behind four threads set the p99 (439 to 506 ms; 319 and 350 with the
clients capped at 24 a worker). This worker stops accepting while every one of
its threads has a request, so a connection waits in the kernel's queue for a
worker that can answer it, as with sync workers, and keeps gthread's
kept-alive connections and its threads.
"""

from typing import Any

from gunicorn.workers.gthread import ThreadWorker


class FairThreadWorker(ThreadWorker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Requests handed to the thread pool and not finished yet. Changed on
        # the worker's main thread only: requests are handed over there, and
        # their completion is handled there (gthread's method queue).
        self.in_flight = 0

    def enqueue_req(self, conn: Any) -> None:
        self.in_flight += 1
        super().enqueue_req(conn)

    def finish_request(self, conn: Any, fs: Any) -> None:
        self.in_flight -= 1
        super().finish_request(conn, fs)

    def accept(self, listener: Any) -> None:
        super().accept(listener)
        if self.in_flight >= self.cfg.threads:
            self.set_accept_enabled(False)

    def set_accept_enabled(self, enabled: bool) -> None:
        # gthread's loop asks again at every turn (after each finished
        # request too): the listener comes back once a thread is free.
        super().set_accept_enabled(enabled and self.in_flight < self.cfg.threads)
