"""Helpers for the signing tests: an open campaign and signatures in any status."""

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client

from campaigns.models import Campaign
from signatures.models import Signature
from tests.factories import make_campaign, make_signature, submissions_process


@pytest.fixture
def campaign(db: None) -> Campaign:
    return make_campaign()


@pytest.fixture
def signature_factory(campaign: Campaign) -> Callable[..., Signature]:
    def make(**fields: Any) -> Signature:
        # Signing tests start from a signature as submitted: pending.
        return make_signature(campaign, **{"status": Signature.Status.PENDING, **fields})

    return make


# --- Signing through the web form ---------------------------------------------

FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
LINK = re.compile(r"https?://\S+?/sign/(?:confirm|withdraw)/\S+?/")


@pytest.fixture(autouse=True)
def _no_fill_delay(settings: Any) -> None:
    """People take seconds to fill the form; tests do not wait for that."""
    settings.SIGNATURE_MIN_FILL_SECONDS = 0


def sign(
    client: Client,
    campaign: Campaign,
    lang: str = "en",
    landing: str = "",
    referrer: str = "",
    **fields: Any,
) -> Any:
    """Open the campaign page (as a person would) and submit the form."""
    page = client.get(
        f"/{lang}/campaigns/{campaign.slug}/{landing}", HTTP_REFERER=referrer
    ).content.decode()
    match = FORM_TOKEN.search(page)
    data: dict[str, Any] = {
        "full_name": "Sok Dara",
        "email": "dara@example.org",
        "country": "FR",
        "consent": "on",
        "form_token": match.group(1) if match else "",
    }
    headers = {key: value for key, value in fields.items() if key.startswith("HTTP_")}
    data.update({key: value for key, value in fields.items() if not key.startswith("HTTP_")})
    data = {key: value for key, value in data.items() if value is not None}
    response = client.post(f"/{lang}/campaigns/{campaign.slug}/sign/", data, **headers)
    submissions_process()  # the worker's part
    return response


def sent_mail_text(message: Any) -> str:
    """The plain-text part of a mail an SMTP server received."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return str(part.get_payload(decode=True).decode())
    raise AssertionError("no text part")


def link_in_sent_mail(message: Any, kind: str) -> str:
    """The full confirm or withdraw link of a mail an SMTP server received."""
    text = sent_mail_text(message)
    found = re.search(rf"http://\S+?/sign/{kind}/\S+?/", text)
    assert found, text
    return found.group(0)


def links_in(message: Any) -> dict[str, str]:
    """The confirm and withdraw links of a sent e-mail, as site paths."""
    found = {}
    for url in LINK.findall(message.body):
        kind = "confirm" if "/confirm/" in url else "withdraw"
        found[kind] = urlsplit(url).path
    return found
