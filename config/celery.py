"""Celery app. With no REDIS_URL, settings make every task run eagerly."""

import os
from importlib import import_module
from typing import Any

from celery import Celery
from celery.signals import worker_init
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Django's system checks run where the web process starts (`migrate` runs
# them) and in CI; a worker running them again at every start checks every
# model and URL pattern for nothing.
# CELERY_SKIP_CHECKS set empty turns them back on.
os.environ.setdefault("CELERY_SKIP_CHECKS", "true")

app = Celery("sitthi")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def urls_before_the_pool_forks(**kwargs: Any) -> None:
    """The URLconf and every view imported in the worker's main process,
    before it forks its pool: a task that makes a link (every mail does)
    would otherwise import them in each pool process, 0.2 s of CPU each
    (measured). Django is set up by then (Celery's Django fixup)."""
    import_module(settings.ROOT_URLCONF)
