from celery import shared_task

from outbox import services


# Nobody reads its result: storing one in Redis for every e-mail is waste.
@shared_task(acks_late=True, ignore_result=True)
def send_message(message_id: int) -> bool:
    return services.message_send(message_id=message_id)


@shared_task
def outbox_flush() -> int:
    """Retry due messages: failed attempts after their backoff, and lost queue entries."""
    return services.outbox_flush()
