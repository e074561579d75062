"""The outbox under faults: Redis gone, workers SIGKILLed, SMTP refusing or silent.

Every test runs Sitthi's real Celery workers on a throwaway PostgreSQL and
Redis and counts what a real SMTP server received.
"""

import os
import signal

from tests.resilience.conftest import (
    FaultStack,
    FaultySmtp,
    ThrowawayPostgres,
    ThrowawayRedis,
    pool_children,
    settled,
    wait_until,
)

QUEUE = """
from django.db import transaction
from outbox.services import message_queue
with transaction.atomic():
    message = message_queue(key="{key}", to="sok@example.org", subject="Hello", text="Hello")
print(message.pk)
"""
# What beat does every 30 s; the grace period (a minute) is taken as passed.
FLUSH_AFTER_GRACE = """
from datetime import timedelta
from django.utils import timezone
from outbox.models import Message
from outbox.tasks import outbox_flush
Message.objects.filter(status="pending").update(
    next_attempt_at=timezone.now() - timedelta(minutes=2)
)
outbox_flush.delay()
"""


def outbox_row(stack: FaultStack, key: str) -> dict[str, str]:
    [(status, attempts, delay, error)] = stack.sql(
        "SELECT status, attempts, EXTRACT(EPOCH FROM next_attempt_at - created_at)::int,"
        " last_error FROM outbox_message WHERE key = %s",
        (key,),
    )
    return {
        "status": status,
        "attempts": str(attempts),
        "delay": str(delay),
        "error": error.replace(" ", "_") or "-",
    }


def test_mail_queued_while_redis_is_down_is_sent_once_when_it_is_back(
    fault_stack: FaultStack, fault_redis: ThrowawayRedis, fault_smtp: FaultySmtp
) -> None:
    fault_stack.start_worker()
    fault_redis.stop(kill=True)

    # The database commit succeeds although the broker is unreachable.
    fault_stack.python(QUEUE.format(key="test:redis-down"))
    assert outbox_row(fault_stack, "test:redis-down")["status"] == "pending"
    assert fault_smtp.received == []

    fault_redis.start()  # empty: whatever was queued in it before is gone
    fault_stack.python(FLUSH_AFTER_GRACE)
    fault_smtp.wait_for(1)
    settled(fault_stack, fault_smtp)
    assert fault_smtp.message_ids() == ["<test.redis-down@sitthi>"]
    assert outbox_row(fault_stack, "test:redis-down")["status"] == "sent"


def test_redis_restarted_with_tasks_queued_loses_no_mail(
    fault_stack: FaultStack, fault_redis: ThrowawayRedis, fault_smtp: FaultySmtp
) -> None:
    # No worker yet: the tasks wait in Redis, and a restart without persistence drops them.
    for number in range(5):
        fault_stack.python(QUEUE.format(key=f"test:lost-{number}"))
    fault_redis.restart()
    fault_stack.start_worker()
    fault_stack.python(FLUSH_AFTER_GRACE)
    fault_smtp.wait_for(5)
    settled(fault_stack, fault_smtp)
    assert sorted(fault_smtp.message_ids()) == [f"<test.lost-{n}@sitthi>" for n in range(5)]


def test_a_pool_process_killed_mid_sending_is_redelivered_and_sends_once(
    fault_stack: FaultStack, fault_smtp: FaultySmtp
) -> None:
    fault_smtp.mode = "stall"
    # Both workers up before the mail is queued: starting one takes seconds on
    # a busy machine, longer than the SMTP timeout of the stalled sender.
    workers = [
        fault_stack.start_worker("worker-a", wait=False),
        fault_stack.start_worker("worker-b", wait=False),
    ]
    fault_stack.wait_ready()
    fault_stack.python(QUEUE.format(key="test:child-killed"))
    assert fault_smtp.stalled.wait(30), "no worker started sending"

    # The process talking to the SMTP server dies (OOM killer, segfault):
    # whichever worker took the task, its pool process is among these.
    children = [pid for worker in workers for pid in pool_children(worker)]
    assert len(children) == 2
    for pid in children:
        os.kill(pid, signal.SIGKILL)
    fault_smtp.mode = "accept"
    fault_smtp.release()

    # Late acknowledgement: the broker hands the task out again, no flush needed.
    fault_smtp.wait_for(1)
    settled(fault_stack, fault_smtp, idle=True)  # two workers: either may hold a duplicate
    assert fault_smtp.message_ids() == ["<test.child-killed@sitthi>"]
    assert outbox_row(fault_stack, "test:child-killed")["status"] == "sent"


def test_a_whole_worker_killed_mid_sending_is_finished_by_another_once(
    fault_stack: FaultStack, fault_smtp: FaultySmtp
) -> None:
    fault_smtp.mode = "stall"
    doomed = fault_stack.start_worker("doomed")
    fault_stack.python(QUEUE.format(key="test:worker-killed"))
    assert fault_smtp.stalled.wait(30), "the worker never started sending"
    survivor = fault_stack.start_worker("survivor")

    os.killpg(doomed.pid, signal.SIGKILL)  # the main process and its pool, all at once
    doomed.wait(timeout=10)
    fault_smtp.mode = "accept"
    fault_smtp.release()
    # Its drain died unacknowledged (the broker hands it out again only after
    # the visibility timeout), and the row's lock with its connection: the
    # periodic flush asks for a drain (as the next message queued would).
    assert fault_smtp.received == []
    fault_stack.python(FLUSH_AFTER_GRACE)
    fault_smtp.wait_for(1)
    settled(fault_stack, fault_smtp)
    assert fault_smtp.message_ids() == ["<test.worker-killed@sitthi>"]
    assert survivor.poll() is None
    # A late redelivery of the original drain (visibility timeout) sends nothing more.
    fault_stack.python("from outbox.tasks import messages_drain\nmessages_drain.delay()\n")
    settled(fault_stack, fault_smtp)
    assert len(fault_smtp.received) == 1


def test_a_refusing_then_silent_smtp_server_is_retried_with_backoff_and_alerts(
    fault_stack: FaultStack, fault_smtp: FaultySmtp, fault_postgres: ThrowawayPostgres
) -> None:
    fault_stack.env["OUTBOX_MAX_ATTEMPTS"] = "3"
    fault_stack.start_worker()
    fault_smtp.mode = "refuse"
    fault_stack.python(QUEUE.format(key="test:smtp"))
    wait_until(lambda: outbox_row(fault_stack, "test:smtp")["attempts"] == "1", 30, "attempt 1")
    first = outbox_row(fault_stack, "test:smtp")
    assert first["status"] == "pending"
    assert "451" in first["error"]
    assert int(first["delay"]) >= 55  # next attempt in a minute

    fault_smtp.mode = "silent"  # now it times out instead
    fault_stack.python(FLUSH_AFTER_GRACE)
    wait_until(lambda: outbox_row(fault_stack, "test:smtp")["attempts"] == "2", 60, "attempt 2")
    second = outbox_row(fault_stack, "test:smtp")
    assert second["status"] == "pending"
    assert "451" not in second["error"]  # a timeout or disconnect, recorded as such
    assert int(second["delay"]) >= 115  # backoff doubles: two minutes

    fault_smtp.mode = "refuse"
    fault_stack.python(FLUSH_AFTER_GRACE)
    wait_until(lambda: outbox_row(fault_stack, "test:smtp")["status"] == "failed", 30, "failed")
    assert fault_smtp.received == []

    # Organisers see it in the admin, and can send it again once the server is back.
    admin_page = fault_stack.python(
        "from django.contrib.auth import get_user_model\n"
        "from django.test import Client\n"
        "user = get_user_model().objects.create_superuser('ops', 'ops@sitthi.test', 'x')\n"
        "client = Client()\n"
        "client.force_login(user)\n"
        "page = client.get('/en/admin/outbox/message/?status__exact=failed', secure=True)\n"
        "print(page.status_code)\n"
        "print(page.content.decode())\n"
    )
    status, _, html = admin_page.partition("\n")
    assert status == "200"
    assert "test:smtp" in html
    assert "Failed" in html
    assert "451" in html

    fault_smtp.mode = "accept"
    fault_stack.python(
        "from outbox.admin import MessageAdmin\nfrom outbox.models import Message\n"
        "from django.contrib import admin\nfrom django.test import RequestFactory\n"
        "from django.contrib.auth import get_user_model\n"
        "from django.contrib.messages.storage.fallback import FallbackStorage\n"
        "request = RequestFactory().post('/')\n"
        "request.user = get_user_model().objects.get(username='ops')\n"
        "request.session = {}\nrequest._messages = FallbackStorage(request)\n"
        "MessageAdmin(Message, admin.site).retry_now(request, Message.objects.all())\n"
    )
    fault_smtp.wait_for(1)
    settled(fault_stack, fault_smtp)
    assert fault_smtp.message_ids() == ["<test.smtp@sitthi>"]
