"""Helpers for the signing tests: an open campaign and signatures in any status."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
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
    from signatures.crypto import keyed_hash

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
