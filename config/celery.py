"""Celery app. With no REDIS_URL, settings make every task run eagerly."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("sitthi")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
