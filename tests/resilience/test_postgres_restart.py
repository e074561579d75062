"""PostgreSQL restarted under a running Sitthi: a friendly 503, then recovery by itself."""

from django.utils import translation

from tests.resilience.conftest import FaultStack, FaultySmtp, ThrowawayPostgres, get, wait_until

QUEUE_HELLO = """
from django.db import transaction
from outbox.services import message_queue
with transaction.atomic():
    message_queue(key="{key}", to="sok@example.org", subject="Hello", text="Hello")
"""


def translated(language: str, text: str) -> str:
    with translation.override(language):
        return translation.gettext(text)


def test_database_outage_shows_a_translated_503_and_recovers_without_restarts(
    fault_stack: FaultStack, fault_postgres: ThrowawayPostgres, fault_smtp: FaultySmtp
) -> None:
    web = fault_stack.start_web(wait=False)
    worker = fault_stack.start_worker(wait=False)
    fault_stack.wait_ready()
    assert get(fault_stack.web_url + "/en/campaigns/")[0] == 200

    fault_postgres.stop()
    try:
        for language in ("en", "km"):
            status, body = get(f"{fault_stack.web_url}/{language}/campaigns/")
            assert status == 503
            assert f'<html lang="{language}">' in body
            assert translated(language, "Back in a moment") in body
            assert "Traceback" not in body
        status, body = get(fault_stack.web_url + "/healthz")
        assert status == 503
        assert '"database": "down"' in body
    finally:
        fault_postgres.start()

    # Persistent connections were cut: health checks replace them, no restart needed.
    wait_until(
        lambda: get(fault_stack.web_url + "/en/campaigns/")[0] == 200, 30, "the site to recover"
    )
    assert get(fault_stack.web_url + "/healthz")[0] == 200
    assert web.poll() is None and worker.poll() is None, "gunicorn or the worker was restarted"

    # The worker also reconnects: mail queued after the restart goes out.
    fault_stack.python(QUEUE_HELLO.format(key="test:after-restart"))
    received = fault_smtp.wait_for(1)
    assert received[0]["Message-ID"] == "<test.after-restart@sitthi>"
