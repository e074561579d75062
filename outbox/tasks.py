from celery import Task, shared_task

from core.background import DATABASE_RETRIES, drain_run
from outbox import services


# Nobody reads its result: storing one in Redis for every drain is waste.
@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=DATABASE_RETRIES)
def messages_drain(self: Task) -> int:
    """Send every message that is due (each once); a full batch hands over
    to a new drain."""
    # A message is changed only once sent or failed, in its own transaction:
    # a retry after a refused database cannot send one twice.
    return drain_run(
        self,
        services.DRAIN_TASK,
        lambda batch: services.messages_send_due(limit=batch),
        batch=services.DRAIN_BATCH,
        what="the outbox's messages",
        fallback="the flush will send them",
    )


@shared_task
def outbox_flush() -> int:
    """Ask for a drain when messages are due: retries after their backoff, and lost drains."""
    return services.outbox_flush()
