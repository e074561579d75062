"""Thin Celery tasks: each calls a service; running one twice does no harm."""

from celery import Task, shared_task

from core.background import DATABASE_RETRIES, drain_run
from signatures import services, tallies, telegram


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=DATABASE_RETRIES)
def submissions_drain(self: Task) -> int:
    """Turn every received signing form into a signature or a mail (each
    exactly once); a full batch hands over to a new drain."""
    return drain_run(
        self,
        services.DRAIN_TASK,
        lambda batch: services.submissions_process(limit=batch),
        batch=services.DRAIN_BATCH,
        what="received submissions",
        fallback="the periodic sweep will process them",
    )


@shared_task(acks_late=True, ignore_result=True)
def telegram_update_handle(update_id: int) -> bool:
    """Handle one update Telegram delivered to the webhook (once)."""
    return telegram.update_handle(update_id=update_id)


@shared_task
def telegram_updates_handle_due() -> int:
    """Handle updates whose task was lost (a broker outage, a killed worker)."""
    return telegram.updates_handle_due()


@shared_task
def submissions_process_due() -> int:
    """Process submissions whose task was lost (a broker outage, a killed worker)."""
    return services.submissions_process_due()


@shared_task
def tallies_fold() -> int:
    """Fold insert-only count deltas into the stored tallies (every few seconds)."""
    folded = 0
    for _batch in range(20):  # at most 200,000 deltas a run; the next run takes the rest
        batch = tallies.tallies_fold(batch=10000)
        folded += batch
        if batch < 10000:
            break
    return folded


@shared_task
def tallies_reconcile() -> int:
    """Correct any drift between stored counts and a true COUNT."""
    return tallies.tallies_reconcile()


@shared_task
def ip_addresses_erase() -> int:
    return services.ip_addresses_erase()


@shared_task
def unconfirmed_purge() -> int:
    return services.unconfirmed_purge()
