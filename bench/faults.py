"""Benchmark: the signing load while Redis restarts and a worker is SIGKILLed.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
    python -m bench faults [--clients 32] [--signatures 1000] [--no-redis-restart] [--no-worker-kill]

Reuses bench/signing.py (gunicorn, a Celery worker with beat, an SMTP sink,
keep-alive clients) with two differences: Redis is a throwaway `redis-server`
started here on a free port with no persistence (the shared Redis is never
touched), and its database is `<DATABASE_URL's name>_faults_<pid>` (dropped
at the end, as the signing benchmark's is). Once a third of the
submissions are in, Redis is killed (SIGKILL: everything queued in it is
lost) and started again a few seconds later; then the worker is SIGKILLed
with its pool in the middle of sending and a new one started.

At the end every figure must be exact: each distinct signer stored once,
counted once after confirming, and each outbox message delivered exactly once
at the SMTP server (Message-IDs counted there), nothing left unsent.
"""

from __future__ import annotations

import argparse
import email
import json
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from bench import signing

REDIS_DOWN_SECONDS = 3.0


class ThrowawayRedis:
    """redis-server on a port of its own. It cannot be handed a bound socket,
    so the port is one that was free a moment ago: the first start tries a
    new port if another server took it meanwhile; a restart keeps the port
    (the stack's URLs name it)."""

    def __init__(self) -> None:
        self.port = signing.free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        first_start = self.process is None
        for _attempt in range(5 if first_start else 1):
            self._spawn()
            if self._answering():
                return
            self.kill()
            self.port = signing.free_port()
        raise RuntimeError("redis-server did not start")

    def _spawn(self) -> None:
        binary = shutil.which("redis-server")
        if not binary:
            raise SystemExit("bench faults needs redis-server (apt-get install redis-server)")
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--loglevel",
                "warning",
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def _answering(self) -> bool:
        """Ours answers on the port: the server there has our process's pid
        (another one may have taken the port, and ours exited)."""
        import redis

        assert self.process is not None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=0.5) as client:
                    return bool(client.info("server")["process_id"] == self.process.pid)
            except redis.RedisError:
                time.sleep(0.05)
        return False

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


class CountingSink(signing.SmtpSink):
    """The signing benchmark's SMTP sink, also counting each Message-ID."""

    def __init__(self) -> None:
        super().__init__()
        self.message_ids: Counter[str] = Counter()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content)
        with self.lock:
            self.message_ids[str(message["Message-ID"])] += 1
        return await super().handle_DATA(server, session, envelope)


@dataclass
class FaultFigures:
    faults: list[str]
    submissions: int
    distinct_signers: int
    submit_errors: int
    signatures_stored: int
    signatures_counted: int
    public_count: int
    stored_tally: int
    outbox_messages: int
    outbox_unsent: int
    emails_delivered: int
    distinct_message_ids: int
    duplicated_message_ids: int
    undelivered_messages: int
    signatures_per_second: float
    p99_ms: float

    @property
    def exact(self) -> bool:
        return (
            self.submit_errors == 0
            and self.signatures_stored == self.distinct_signers
            and self.signatures_counted
            == self.public_count
            == self.stored_tally
            == self.distinct_signers
            and self.outbox_unsent == 0
            and self.duplicated_message_ids == 0
            and self.undelivered_messages == 0
            and self.emails_delivered == self.outbox_messages
        )


def run(
    clients: int = 32,
    signatures: int = 1000,
    restart_redis: bool = True,
    kill_worker: bool = True,
    log: Any = print,
) -> FaultFigures:
    import os

    redis = ThrowawayRedis()
    redis.start()
    os.environ["REDIS_URL"] = redis.url
    signing.DATABASE_LABEL = "faults"  # `<name>_faults_<pid>`, never the signing benchmark's
    sinks: list[CountingSink] = []

    def make_sink() -> CountingSink:
        sinks.append(CountingSink())
        return sinks[-1]

    signing.SmtpSink = make_sink  # type: ignore[assignment,misc]
    faults: list[str] = []

    def inject(stack: signing.Stack) -> None:
        if restart_redis:
            log("fault: Redis SIGKILLed (its queue is lost)")
            redis.kill()
            time.sleep(REDIS_DOWN_SECONDS)
            redis.start()
            faults.append(f"Redis SIGKILLed, down {REDIS_DOWN_SECONDS:.0f} s, restarted empty")
            log("fault: Redis back")
            time.sleep(2)
        if kill_worker:
            log("fault: Celery worker and its pool SIGKILLed")
            stack.stop(stack.worker, hard=True)
            time.sleep(1)
            stack.start_worker()
            faults.append("Celery worker (main process and pool) SIGKILLed, a new one started")

    measure = signing._measure

    figures: list[FaultFigures] = []

    def measure_then_drain(stack: signing.Stack, *args: Any, **kwargs: Any) -> signing.Result:
        result = measure(stack, *args, **kwargs)
        # Mail the broker lost reaches the sink through outbox_flush (beat, every
        # 30 s, for messages older than a minute): wait for the outbox to drain,
        # while the worker and beat still run, and read the figures before
        # signing.run drops the database.
        _drain_outbox(log)
        figures.append(_figures(result, sinks[-1], faults, log))
        return result

    signing._measure = measure_then_drain  # type: ignore[assignment]
    try:
        signing.run(
            clients=clients,
            signatures=signatures,
            on_running=inject if (restart_redis or kill_worker) else None,
            log=log,
        )
        return figures[0]
    finally:
        redis.kill()


def _drain_outbox(log: Any, timeout: float = 300) -> None:
    """Wait until beat's outbox_flush has sent what the broker lost (a message
    is flushed once it is a minute old; beat runs the flush every 30 s)."""
    from django.db import connection

    from outbox.models import Message

    log("waiting for the outbox to drain...")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Message.objects.exclude(status=Message.Status.SENT).exists():
            break
        time.sleep(2)
    connection.close()


def _figures(
    result: signing.Result, sink: CountingSink, faults: list[str], log: Any
) -> FaultFigures:
    from campaigns.models import Campaign
    from outbox.models import Message
    from signatures.models import Signature

    campaign = Campaign.objects.get(slug=signing.CAMPAIGN_SLUG)
    messages = Message.objects.filter(key__startswith="signature:")
    expected_ids = {message.message_id for message in messages.only("key")}
    delivered = dict(sink.message_ids)
    return FaultFigures(
        faults=faults,
        submissions=result.submissions,
        distinct_signers=result.distinct_signers,
        # A client that never got its first page sent nothing: not exact either.
        submit_errors=result.errors + result.dropped_clients,
        signatures_stored=Signature.objects.filter(campaign=campaign).count(),
        signatures_counted=result.true_count,
        public_count=result.public_count,
        stored_tally=result.stored_count,
        outbox_messages=len(expected_ids),
        outbox_unsent=messages.exclude(status=Message.Status.SENT).count(),
        emails_delivered=sum(delivered.values()),
        distinct_message_ids=len(delivered),
        duplicated_message_ids=sum(1 for count in delivered.values() if count > 1),
        undelivered_messages=len(expected_ids - set(delivered)),
        signatures_per_second=result.signatures_per_second,
        p99_ms=result.p99_ms,
    )


def report(figures: FaultFigures) -> str:
    lines = [f"fault                   {fault}" for fault in figures.faults] or [
        "fault                   none (baseline)"
    ]
    lines += [
        f"signatures submitted    {figures.submissions} ({figures.distinct_signers} distinct"
        f" signers), errors {figures.submit_errors}",
        f"signatures stored       {figures.signatures_stored}",
        f"counted true/public/tally {figures.signatures_counted} / {figures.public_count} /"
        f" {figures.stored_tally}",
        f"outbox messages         {figures.outbox_messages} ({figures.outbox_unsent} unsent)",
        f"e-mails delivered       {figures.emails_delivered} ({figures.distinct_message_ids}"
        f" distinct Message-IDs, {figures.duplicated_message_ids} duplicated,"
        f" {figures.undelivered_messages} never delivered)",
        f"throughput under faults {figures.signatures_per_second:.0f} signatures/s,"
        f" p99 {figures.p99_ms:.0f} ms",
        f"exactly once            {'yes' if figures.exact else 'NO'}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench faults", description=__doc__)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--signatures", type=int, default=1000)
    parser.add_argument("--no-redis-restart", action="store_true")
    parser.add_argument("--no-worker-kill", action="store_true")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    options, _others = parser.parse_known_args(argv)  # options for other benchmarks pass by
    figures = run(
        clients=options.clients,
        signatures=options.signatures,
        restart_redis=not options.no_redis_restart,
        kill_worker=not options.no_worker_kill,
    )
    print(report(figures), flush=True)
    if options.json:
        print(json.dumps({**asdict(figures), "exact": figures.exact}))
    return 0 if figures.exact else 1


if __name__ == "__main__":
    threading.current_thread().name = "bench-faults"
    sys.exit(main(sys.argv[1:]))
