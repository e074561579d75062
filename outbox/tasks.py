from celery import Task, shared_task
from django.db import InterfaceError, OperationalError

from core.background import DATABASE_RETRIES, database_retry
from outbox import services


# Nobody reads its result: storing one in Redis for every e-mail is waste.
@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=DATABASE_RETRIES)
def send_message(self: Task, message_id: int) -> bool:
    # The row was never changed when the database refused: a retry cannot
    # send twice (message_send sends only a pending message, under its lock).
    try:
        return services.message_send(message_id=message_id)
    except (OperationalError, InterfaceError) as error:
        return database_retry(
            self, error, work=f"message {message_id}", fallback="the flush will send it"
        )


@shared_task
def outbox_flush() -> int:
    """Retry due messages: failed attempts after their backoff, and lost queue entries."""
    return services.outbox_flush()
