"""Helpers for organisers' tests: campaigns, signatures in any state, staff in
every role (with or without two-factor)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone

from campaigns.models import Campaign
from core import roles
from signatures.identity import email_hash, name_key
from signatures.models import Signature, TallyDelta

_numbers = itertools.count(1)
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
PASSWORD = "correct horse battery staple"  # noqa: S105 - test only


def make_campaign(slug: str = "right-to-vote", **fields: Any) -> Campaign:
    defaults: dict[str, Any] = {
        "status": Campaign.Status.OPEN,
        "opens_at": timezone.now() - timedelta(days=30),
        "title_km": "ញត្តិទាមទារសិទ្ធិបោះឆ្នោតសម្រាប់ពលរដ្ឋខ្មែរនៅក្រៅប្រទេស",
        "title_en": "The right to vote for Cambodians overseas",
        "body_km": "យើងទាមទារ **សិទ្ធិបោះឆ្នោត** សម្រាប់ពលរដ្ឋខ្មែររស់នៅក្រៅប្រទេស។",
        "body_en": "We ask for **the right to vote** for Cambodians living overseas.",
        "target_km": "គណៈកម្មាធិការជាតិរៀបចំការបោះឆ្នោត",
        "target_en": "The National Election Committee",
    }
    defaults.update(fields)
    return Campaign.objects.create(slug=slug, **defaults)


def make_signature(
    campaign: Campaign,
    *,
    status: str = Signature.Status.CONFIRMED,
    created_at: datetime | None = None,
    **fields: Any,
) -> Signature:
    """A signature stored as the signing code leaves it, count delta included."""
    number = next(_numbers)
    fields.setdefault("full_name", f"Signer {number}")
    fields.setdefault("email", f"signer{number}@example.org")
    fields.setdefault("country", "FR")
    fields.setdefault("ip_address", "198.51.100.7")
    if status in {Signature.Status.CONFIRMED, Signature.Status.SUSPECT}:
        fields.setdefault("confirmed_at", timezone.now())
    signature = Signature.objects.create(
        campaign=campaign,
        status=status,
        name_key=name_key(fields["full_name"]),
        email_hash=email_hash(fields["email"]) if fields["email"] else None,
        **fields,
    )
    if created_at is not None:
        Signature.objects.filter(pk=signature.pk).update(created_at=created_at)
        signature.created_at = created_at
    if status == Signature.Status.CONFIRMED:
        TallyDelta.objects.create(campaign=campaign, country=signature.country, delta=1)
    return signature


def make_staff(role: str | None, *, two_factor: bool = False, staff: bool = True) -> User:
    number = next(_numbers)
    user = User.objects.create_user(
        username=f"staff{number}",
        email=f"staff{number}@ceroc.example",
        password=PASSWORD,
        is_staff=staff,
    )
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    if role:
        roles.groups_ensure()
        user.groups.add(Group.objects.get(name=role))
    if two_factor:
        from allauth.mfa.totp.internal.auth import TOTP

        TOTP.activate(user, TOTP_SECRET)
    return User.objects.get(pk=user.pk)  # fresh permission cache


def sign_in(client: Client, user: User) -> None:
    """Sign `user` in as allauth would: a user with two-factor enrolled has
    passed the code in this session (the mark core.roles reads)."""
    client.force_login(user)
    if roles.has_two_factor(user):
        session = client.session
        session[roles.TWO_FACTOR_SESSION_KEY] = str(user.pk)
        session.save()


@pytest.fixture
def campaign(db: None) -> Campaign:
    return make_campaign()
