from celery import shared_task

from statements import services


@shared_task(
    acks_late=True,
    autoretry_for=(Exception,),
    max_retries=services.PDF_MAX_ATTEMPTS - 1,
    retry_backoff=10,
    retry_backoff_max=600,
)
def statement_pdf_render(statement_id: int) -> bool:
    """Render a statement's PDF; a failure is retried with backoff and shown in the admin."""
    return services.pdf_render(statement_id=statement_id)


@shared_task(acks_late=True)
def statement_send(statement_id: int) -> int:
    return services.statement_send(statement_id=statement_id)


@shared_task(acks_late=True, autoretry_for=(Exception,), max_retries=5, retry_backoff=5)
def statement_send_batch(statement_id: int, recipients: list[list[str]]) -> int:
    return services.statement_send_batch(statement_id=statement_id, recipients=recipients)


@shared_task
def scheduled_publish() -> int:
    return services.scheduled_publish()
