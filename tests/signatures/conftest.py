"""Helpers for the signing tests: an open campaign and signatures in any status."""

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from campaigns.models import Campaign, Question
from signatures.models import Signature


def make_campaign(slug: str = "right-to-vote", **fields: Any) -> Campaign:
    defaults: dict[str, Any] = {
        "status": Campaign.Status.OPEN,
        "opens_at": timezone.now() - timedelta(days=1),
        "title_km": "ញត្តិទាមទារសិទ្ធិបោះឆ្នោត",
        "title_en": "The right to vote for Cambodians overseas",
        "summary_en": "Sign for the right to vote.",
        "body_km": "យើងទាមទារ **សិទ្ធិបោះឆ្នោត**។",
        "body_en": "We ask for **the right to vote**.",
        "target_km": "គ.ជ.ប",
        "target_en": "The National Election Committee",
        "share_text_en": "I signed for the right to vote.",
    }
    defaults.update(fields)
    return Campaign.objects.create(slug=slug, **defaults)


def make_question(campaign: Campaign, **fields: Any) -> Question:
    defaults: dict[str, Any] = {
        "key": "registered",
        "label_km": "តើអ្នកបានចុះឈ្មោះបោះឆ្នោតនៅកម្ពុជាទេ?",
        "label_en": "Are you registered to vote in Cambodia?",
    }
    defaults.update(fields)
    return Question.objects.create(campaign=campaign, **defaults)


_counter = iter(range(10**9))


def make_signature(campaign: Campaign, **fields: Any) -> Signature:
    from core.crypto import keyed_hash

    number = next(_counter)
    email = fields.pop("email", f"signer{number}@example.org")
    defaults: dict[str, Any] = {
        "full_name": f"Signer {number}",
        "name_key": f"signer {number}",
        "email": email,
        "email_hash": keyed_hash(email.casefold()),
        "country": "FR",
        "language": "en",
    }
    defaults.update(fields)
    return Signature.objects.create(campaign=campaign, **defaults)


@pytest.fixture
def campaign(db: None) -> Campaign:
    return make_campaign()


@pytest.fixture
def signature_factory(campaign: Campaign) -> Callable[..., Signature]:
    def make(**fields: Any) -> Signature:
        return make_signature(campaign, **fields)

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
    return client.post(f"/{lang}/campaigns/{campaign.slug}/sign/", data, **headers)


def links_in(message: Any) -> dict[str, str]:
    """The confirm and withdraw links of a sent e-mail, as site paths."""
    found = {}
    for url in LINK.findall(message.body):
        kind = "confirm" if "/confirm/" in url else "withdraw"
        found[kind] = urlsplit(url).path
    return found
