"""Thin Celery tasks: each calls a service; running one twice does no harm."""

from celery import shared_task

from signatures import services, tallies


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
