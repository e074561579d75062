"""Celery app. With no REDIS_URL, settings make every task run eagerly."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Django's system checks run where the web process starts (`migrate` runs
# them) and in CI; a worker running them again at every start imports every
# URL pattern and view for nothing, 0.2 to 0.3 s of CPU a start (measured).
# CELERY_SKIP_CHECKS set empty turns them back on.
os.environ.setdefault("CELERY_SKIP_CHECKS", "true")

app = Celery("sitthi")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
