"""The signers' e-mails as their readers get them: plain text and subjects
show names and titles as typed, the HTML part stays escaped, and nothing
typed can add a header."""

from collections.abc import Callable
from email import message_from_bytes
from typing import Any

import pytest
from django.core import mail

from signatures import services
from signatures.models import Signature
from tests.factories import make_campaign, make_signature

pytestmark = pytest.mark.django_db

NAME = "O'Brien-Smith <script>alert(1)</script> & Co"
TITLE = 'Vote "now" <script>x</script> & O\'Brien'


@pytest.fixture
def mailed(django_capture_on_commit_callbacks: Any) -> Callable[[], Any]:
    return lambda: django_capture_on_commit_callbacks(execute=True)


def _html(message: Any) -> str:
    return str(message.alternatives[0][0])


@pytest.mark.parametrize("language", ["km", "en"])
def test_the_text_part_and_subject_show_names_and_titles_as_typed(
    mailed: Callable[[], Any], language: str
) -> None:
    campaign = make_campaign(title_en=TITLE, title_km=TITLE)
    signature = make_signature(
        campaign, status=Signature.Status.PENDING, full_name=NAME, language=language
    )
    with mailed():
        services.confirmation_send(signature)
    [message] = mail.outbox
    assert NAME in message.body and TITLE in message.body
    assert "&#x27;" not in message.body and "&lt;" not in message.body
    assert "&amp;" not in message.body and "&quot;" not in message.body
    assert TITLE in message.subject and "&" + "lt;" not in message.subject
    html = _html(message)
    assert "<script>" not in html
    assert "O&#x27;Brien-Smith &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html


def test_the_already_signed_mail_shows_the_name_and_title_as_typed(
    mailed: Callable[[], Any],
) -> None:
    campaign = make_campaign(title_en=TITLE)
    signature = make_signature(campaign, full_name=NAME)
    with mailed():
        services.already_signed_send(signature)
    [message] = mail.outbox
    assert NAME in message.body and TITLE in message.body and TITLE in message.subject
    assert "<script>" not in _html(message)


def test_a_khmer_greeting_keeps_the_apostrophe(mailed: Callable[[], Any]) -> None:
    campaign = make_campaign()
    signature = make_signature(
        campaign, status=Signature.Status.PENDING, full_name="O'Brien-Smith", language="km"
    )
    with mailed():
        services.confirmation_send(signature)
    assert "O'Brien-Smith" in mail.outbox[0].body


def test_a_line_break_in_a_name_or_title_never_makes_another_header(
    mailed: Callable[[], Any],
) -> None:
    campaign = make_campaign(title_en="Vote\r\nBcc: victim@example.org\nX-Evil: 1")
    signature = make_signature(
        campaign,
        status=Signature.Status.PENDING,
        full_name="Dara\r\nBcc: victim@example.org",
    )
    with mailed():
        services.confirmation_send(signature)
    [message] = mail.outbox
    assert "\n" not in message.subject and "\r" not in message.subject
    assert message.bcc == [] and message.recipients() == [signature.email]
    headers = message_from_bytes(message.message().as_bytes())
    assert headers.get_all("Bcc") is None and headers.get_all("X-Evil") is None
    assert len(headers.get_all("Subject") or []) == 1
    assert "Bcc: victim@example.org" in str(headers["Subject"])  # folded into one line
