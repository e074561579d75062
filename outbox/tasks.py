from celery import Task, shared_task
from django.db import InterfaceError, OperationalError

from core.background import DATABASE_RETRIES, database_retry, drain_started, task_queue
from outbox import services


# Nobody reads its result: storing one in Redis for every drain is waste.
@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=DATABASE_RETRIES)
def messages_drain(self: Task) -> int:
    """Send every message that is due (each once); a full batch hands over
    to a new drain."""
    drain_started(services.DRAIN_TASK)
    # A message is changed only once sent or failed, in its own transaction:
    # a retry after a refused database cannot send one twice.
    try:
        tried = services.messages_send_due(limit=services.DRAIN_BATCH)
    except (OperationalError, InterfaceError) as error:
        return database_retry(
            self, error, work="the outbox's messages", fallback="the flush will send them"
        )
    if tried >= services.DRAIN_BATCH:
        task_queue(services.DRAIN_TASK)
    return tried


@shared_task
def outbox_flush() -> int:
    """Ask for a drain when messages are due: retries after their backoff, and lost drains."""
    return services.outbox_flush()
