"""The confirmation e-mail leaves through Redis, a real Celery worker and SMTP."""

import re
from typing import Any

import pytest
from django.test import Client

from signatures.models import Signature
from tests.factories import make_campaign
from tests.signatures.conftest import sign

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_real_worker_sends_the_confirmation_to_the_smtp_server(
    smtp_server: Any, celery_worker_process: Any
) -> None:
    celery_worker_process(env={"EMAIL_URL": smtp_server.url})
    campaign = make_campaign()
    client = Client()
    assert sign(client, campaign, lang="km", email="worker-test@example.org").status_code == 302

    [message] = smtp_server.wait_for(1, timeout=60)
    assert message["To"] == "worker-test@example.org"
    assert message.is_multipart()
    parts = {part.get_content_type(): part for part in message.walk()}
    assert {"text/plain", "text/html"} <= set(parts)
    text = parts["text/plain"].get_payload(decode=True).decode()
    confirm = re.search(r"http://\S+?(/km/sign/confirm/\S+?/)", text)
    assert confirm, text
    assert client.get(confirm.group(1)).status_code == 200
    assert Signature.objects.get().status == Signature.Status.CONFIRMED
