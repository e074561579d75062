"""gunicorn settings: `gunicorn -c config/gunicorn.py config.wsgi`.

gunicorn's own logs (the access log above all, whose URLs carry signed
confirm and withdraw tokens, and whose referrers may carry addresses) go
through the same JSON formatter and redaction filter as Django's.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")  # noqa: S104 - inside a container
workers = int(os.environ.get("WEB_WORKERS", "3"))
# Threads in each process (gthread): measured against one request at a time
# per process (sync), gthread 3 x 4 served 175-204 signatures/s against
# 136-164 for sync 5 on this 2-core box (bench/README.md). Each thread
# keeps a PostgreSQL connection: a host holds WEB_WORKERS x WEB_THREADS.
# gthread, taking a connection only while a thread is free (config/gunicorn_worker.py).
worker_class = "config.gunicorn_worker.FairThreadWorker"
threads = int(os.environ.get("WEB_THREADS", "4"))
keepalive = 30  # the proxy keeps its connections to gunicorn open
# Django, the apps and the URLconf (config/wsgi.py) imported once, in the
# master, and forked: a worker costs no import of its own (about a second of
# CPU each, measured), shares those pages with the others, and one that
# crashed or timed out serves again at once. A new release is a restart,
# never a HUP (which would fork the old code again).
preload_app = True
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 10
accesslog = "-"
# No client IP: the app erases signers' IPs from the database after
# SIGNATURE_IP_RETENTION_DAYS, and a log line kept for months must not keep
# them longer (docs/operations.md, "What is logged"). No user agent either:
# it identifies nobody useful and adds bytes to every line. The status and
# size come first after the request, where the redaction filter knows them.
access_log_format = '"%(r)s" %(s)s %(b)s %(M)sms "%(f)s"'

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "config.logging.RedactPersonalData"}},
    "formatters": {"json": {"()": "config.logging.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["redact"],
            "stream": "ext://sys.stdout",
        },
        "error_console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["redact"],
            "stream": "ext://sys.stderr",
        },
    },
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        "gunicorn.error": {"handlers": ["error_console"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
