import logging

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError

from outbox import services

logger = logging.getLogger(__name__)

# The database refusing connections (a restart, a failover, a full pool) is
# usually over within a minute: the worker tries again itself, 5 s, 10 s,
# 20 s ... up to 5 minutes apart, instead of leaving the mail until beat's
# outbox_flush (which may not run at all). After the last retry it is left
# to the flush. The row was never changed, so a retry cannot send twice:
# message_send sends only a pending message, under its row lock.
DATABASE_RETRIES = 6


def database_retry_countdown(retries: int) -> int:
    """Seconds before retry number `retries` + 1."""
    return int(min(5 * 2**retries, 300))


# Nobody reads its result: storing one in Redis for every e-mail is waste.
@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=DATABASE_RETRIES)
def send_message(self: Task, message_id: int) -> bool:
    try:
        return services.message_send(message_id=message_id)
    except (OperationalError, InterfaceError) as error:
        if self.request.is_eager:
            # No worker: retrying now, in the web request, would only meet
            # the same refused connection. The flush sends it later.
            raise
        if self.request.retries >= DATABASE_RETRIES:
            logger.warning(
                "outbox: database still unavailable for message %s; the flush will send it",
                message_id,
            )
            return False
        raise self.retry(
            exc=error, countdown=database_retry_countdown(self.request.retries)
        ) from error


@shared_task
def outbox_flush() -> int:
    """Retry due messages: failed attempts after their backoff, and lost queue entries."""
    return services.outbox_flush()
