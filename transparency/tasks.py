from celery import shared_task

from transparency import services


@shared_task
def heads_publish() -> int:
    """Publish a head for every campaign whose record grew (Celery beat)."""
    return len(services.heads_publish())
