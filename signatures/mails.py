"""The e-mails to a signer (`emails/signatures/<kind>.*`: confirm, already
signed), rendered once for every signer of a campaign in a language and a
status, each signer's own parts filled in.

In a flood of signatures the worker rendered three templates for every
e-mail: 42% of its CPU for a submission (py-spy during bench signing).
What the templates show is the campaign, the language, the signature's
status, the site's settings (the kept rendering's key and version hold
them) and five values of the signer's own, which the kept rendering holds
as placeholders: filled in escaped in the HTML part, as the template
escapes them, and as they are in the subject and the text part (rendered
with autoescape off). The templates read of the signature only its name,
status and language (`_Signer`); tests/signatures/test_mails.py compares
every kind, language and status with a rendering for the signature itself,
so a template that reads anything else fails there.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import escape

from campaigns.models import Campaign
from campaigns.published import published_kept
from core import countlog
from signatures import links
from signatures.models import Signature

OWN = ("full_name", "confirmation_link", "withdrawal_link", "verify_link", "receipt")
# Letters and digits only, so that escaping leaves them as they are; new in
# every process, so that no name or campaign text can hold one.
PLACEHOLDERS = {name: f"mail{name.replace('_', '')}{secrets.token_hex(16)}" for name in OWN}


@dataclass(frozen=True)
class Mail:
    subject: str  # on one line
    text: str
    html: str


@dataclass(frozen=True)
class _Signer:
    """What the templates read of a signature."""

    full_name: str
    status: str
    language: str


def mail_make(signature: Signature, kind: str) -> Mail:
    """The e-mail `kind` for `signature` as shown (its language: the page the
    person is on now, services._in_language). Only the confirm e-mail carries
    a confirmation link: no other makes one."""
    own = {
        "full_name": signature.full_name,
        "confirmation_link": links.confirmation_link(signature) if kind == "confirm" else "",
        "withdrawal_link": links.withdrawal_link(signature),
        "verify_link": links.receipt_check_link(signature),
        "receipt": countlog.receipt_display(signature.receipt),
    }
    language = signature.language or settings.LANGUAGE_CODE
    status = str(signature.status)
    version = f"{settings.SITE_URL}|{settings.SITE_NAME}|{settings.SIGNATURE_CONFIRM_MAX_AGE_DAYS}"
    kept = published_kept(
        signature.campaign,
        f"mail:{kind}:{language}:{status}",
        lambda: mail_rendered(
            _Signer(PLACEHOLDERS["full_name"], status, language),
            signature.campaign,
            kind,
            {name: PLACEHOLDERS[name] for name in OWN if name != "full_name"},
        ),
        version,
    )
    subject, text, html = kept.subject, kept.text, kept.html
    for name, placeholder in PLACEHOLDERS.items():
        subject = subject.replace(placeholder, own[name])
        text = text.replace(placeholder, own[name])
        html = html.replace(placeholder, escape(own[name]))
    return Mail(" ".join(subject.split()), text, html)


def mail_rendered(
    signature: Signature | _Signer, campaign: Campaign, kind: str, own: dict[str, str]
) -> Mail:
    """The e-mail rendered from its templates, for `signature` (or a stand-in
    holding placeholders) with `own` links and receipt."""
    with translation.override(signature.language or settings.LANGUAGE_CODE):
        context = {
            "signature": signature,
            "campaign": campaign,
            "campaign_url": settings.SITE_URL + campaign.get_absolute_url(),
            "site_name": settings.SITE_NAME,
            "max_age_days": settings.SIGNATURE_CONFIRM_MAX_AGE_DAYS,
            **own,
        }
        subject = render_to_string(f"emails/signatures/{kind}_subject.txt", context)
        text = render_to_string(f"emails/signatures/{kind}.txt", context)
        html = render_to_string(f"emails/signatures/{kind}.html", context)
    return Mail(" ".join(subject.split()), text, html)
