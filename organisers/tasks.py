"""Organisers' jobs: thin tasks that take ids and call the module that does the work."""

from celery import shared_task

from organisers import delivery, exports, invalidation


@shared_task(acks_late=True)
def invalidation_run(invalidation_id: int) -> None:
    invalidation.invalidation_run(invalidation_id)


@shared_task(acks_late=True)
def invalidation_undo_run(invalidation_id: int) -> None:
    invalidation.invalidation_undo_run(invalidation_id)


@shared_task(acks_late=True)
def export_build(generated_file_id: int) -> None:
    exports.export_build(generated_file_id)


@shared_task(acks_late=True)
def delivery_build(generated_file_id: int) -> None:
    delivery.delivery_build(generated_file_id)


@shared_task
def generated_files_expire() -> int:
    return exports.generated_files_expire()
