"""A signer's e-mails, rendered once per campaign, kind, language and status
(signatures.mails): each is exactly what rendering the templates for that
signature gives, whatever their name holds, and is rendered again when
what the kept rendering shows changes."""

from typing import Any

import pytest
from django.test.signals import template_rendered
from django.utils.html import escape

from campaigns.published import forget_published, published_campaign
from core import countlog
from signatures import links, mails
from signatures.models import Signature
from tests.factories import make_campaign, make_signature

pytestmark = pytest.mark.django_db

NAMES = [
    "Sok Dara",
    "សុខ ដារ៉ា",
    "<b>Sok & \"Dara\"</b> 'x'",
    "{{ name }} {% if %} %(name)s",
]


@pytest.fixture
def renders() -> Any:
    names: list[str] = []

    def note(sender: Any, template: Any, **kwargs: Any) -> None:
        if template.name and template.name.startswith("emails/signatures/"):
            names.append(template.name)

    template_rendered.connect(note)
    yield names
    template_rendered.disconnect(note)


def _kept_campaign_signature(**fields: Any) -> Signature:
    signature = make_signature(make_campaign(title_en="Vote <now> & then"), **fields)
    forget_published()
    signature.campaign = published_campaign(signature.campaign.slug)  # as the worker has it
    return signature


@pytest.mark.parametrize("language", ["km", "en"])
@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("confirm", Signature.Status.PENDING),
        ("confirm", Signature.Status.SUSPECT),
        ("already_signed", Signature.Status.CONFIRMED),
        ("already_signed", Signature.Status.SUSPECT),
    ],
)
def test_each_mail_is_what_its_templates_give_for_the_signer(
    kind: str, status: str, language: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Links are encrypted afresh each time: fixed here, with what HTML escapes.
    monkeypatch.setattr(links, "withdrawal_link", lambda s: f"https://x.test/w/{s.pk}/?a=1&b=<2>")
    monkeypatch.setattr(links, "receipt_check_link", lambda s: f'https://x.test/v/?r={s.pk}&"')
    monkeypatch.setattr(links, "confirmation_link", lambda s: f"https://x.test/c/{s.pk}/?'&")
    first = _kept_campaign_signature(status=status, language=language, full_name=NAMES[0])
    for name in NAMES:
        signature = make_signature(first.campaign, status=status, language=language, full_name=name)
        signature.campaign = first.campaign
        link = f"https://x.test/c/{signature.pk}/?'&" if kind == "confirm" else ""
        made = mails.mail_make(signature, kind)
        own = {
            "confirmation_link": link,
            "withdrawal_link": links.withdrawal_link(signature),
            "verify_link": links.receipt_check_link(signature),
            "receipt": countlog.receipt_display(signature.receipt),
        }
        assert made == mails.mail_rendered(signature, signature.campaign, kind, own), name
        assert not any(placeholder in made.html for placeholder in mails.PLACEHOLDERS.values())
        assert "\n" not in made.subject


def test_signers_share_one_rendering_until_what_it_shows_changes(
    renders: list[str], settings: Any
) -> None:
    first = _kept_campaign_signature(status=Signature.Status.PENDING)
    others = [
        make_signature(first.campaign, status=Signature.Status.PENDING, full_name=name)
        for name in NAMES
    ]
    for signature in [first, *others]:
        signature.campaign = first.campaign
        made = mails.mail_make(signature, "confirm")
        assert signature.full_name in made.text
        assert escape(signature.full_name) in made.html
    assert len(renders) == 3  # subject, text, HTML: once for all five
    assert "has been checked" not in made.text
    held = make_signature(first.campaign, status=Signature.Status.SUSPECT)
    held.campaign = first.campaign
    made = mails.mail_make(held, "confirm")
    assert "once you confirm it and it has been checked" in made.text  # never promised
    assert len(renders) == 6

    settings.SITE_URL = "https://sitthi.example.org"
    made = mails.mail_make(first, "confirm")
    assert len(renders) == 9
    assert "https://sitthi.example.org/en/campaigns/" in made.text
    settings.SIGNATURE_CONFIRM_MAX_AGE_DAYS = 3
    made = mails.mail_make(first, "confirm")
    assert len(renders) == 12
    assert "3 days" in made.text
