"""Test data, made once and the same way everywhere: campaigns, questions,
signatures in any status, staff in any role, statements.

A signature reaches its status through the model's own state changes
(confirm, mark_suspect, invalidate, withdraw), so it carries the count delta
the app would have written and the e-mail hash the app would have computed.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from allauth.mfa import app_settings
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.utils import timezone

from campaigns.models import Campaign, Question
from core import roles
from signatures.identity import email_hash, name_key
from signatures.models import Signature
from signatures.services import submissions_process_due
from statements.models import Signatory, Statement

_numbers = itertools.count(1)
PASSWORD = "correct horse battery staple"  # noqa: S105 - test only
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

KHMER_BODY = (
    "ក្នុងខណៈពេលដែលថ្ងៃចុះឈ្មោះបោះឆ្នោតកាន់តែខិតជិតមកដល់ "
    "គណៈកម្មការដើម្បីសិទ្ធិបោះឆ្នោតពលរដ្ឋខ្មែរនៅក្រៅប្រទេសបានចេញសេចក្តីថ្លែងការណ៌នេះជាសាធារណៈ "
    "ដោយមានគោលបំណងដូចតទៅ៖ ដើម្បីលើកទឹកចិត្តដល់ប្រជាពលរដ្ឋខ្មែរដែលកំពុងរស់នៅក្រៅប្រទេសទាំងអស់"
    "នាំគ្នាទៅចុះឈ្មោះអោយបានច្រើនបំផុតទាំងអស់គ្នា។"
)
ENGLISH_BODY = (
    "As voters registration day is looming, the Committee for Elections Rights of Overseas "
    "Cambodians (the CEROC) issued this public statement to encourage all overseas "
    "Cambodians to register to vote."
)


def make_campaign(slug: str = "right-to-vote", **fields: Any) -> Campaign:
    """An open campaign with texts in both languages."""
    defaults: dict[str, Any] = {
        "status": Campaign.Status.OPEN,
        "opens_at": timezone.now() - timedelta(days=30),
        "title_km": "ញត្តិទាមទារសិទ្ធិបោះឆ្នោតសម្រាប់ពលរដ្ឋខ្មែរនៅក្រៅប្រទេស",
        "title_en": "The right to vote for Cambodians overseas",
        "summary_en": "Sign for the right to vote.",
        "body_km": "យើងទាមទារ **សិទ្ធិបោះឆ្នោត** សម្រាប់ពលរដ្ឋខ្មែររស់នៅក្រៅប្រទេស។",
        "body_en": "We ask for **the right to vote** for Cambodians living overseas.",
        "target_km": "គណៈកម្មាធិការជាតិរៀបចំការបោះឆ្នោត",
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


def make_signature(
    campaign: Campaign,
    *,
    status: str = Signature.Status.CONFIRMED,
    created_at: datetime | None = None,
    email_confirmed: bool = False,
    **fields: Any,
) -> Signature:
    """A signature stored as signing leaves it, then moved to `status` by the
    model's own state change (which writes the count delta, as in the app).
    `email_confirmed`: a suspect signature whose signer did open the link."""
    number = next(_numbers)
    fields.setdefault("full_name", f"Signer {number}")
    fields.setdefault("email", f"signer{number}@example.org")
    fields.setdefault("country", "FR")
    fields.setdefault("language", "en")
    fields.setdefault("ip_address", "198.51.100.7")
    fields.setdefault("name_key", name_key(fields["full_name"]))
    fields.setdefault("email_hash", email_hash(fields["email"]) if fields["email"] else None)
    suspect_reason = fields.pop("suspect_reason", "held for review")
    signature = Signature.objects.create(campaign=campaign, **fields)
    if created_at is not None:
        Signature.objects.filter(pk=signature.pk).update(created_at=created_at)
        signature.created_at = created_at
    if status == Signature.Status.CONFIRMED:
        signature.confirm()
    elif status == Signature.Status.SUSPECT:
        signature.mark_suspect(suspect_reason)
        if email_confirmed:
            signature.confirm()  # recorded; it stays suspect
    elif status == Signature.Status.INVALIDATED:
        signature.invalidate("invalid for the test")
    elif status == Signature.Status.WITHDRAWN:
        signature.withdraw()
    return signature


def submissions_process() -> int:
    """Do a worker's part for every signing form received so far: in tests
    Celery is eager, but the task is queued on commit, which a test inside
    one transaction never reaches."""
    return submissions_process_due(grace=timedelta(0))


def make_staff(
    role: str | None = None,
    *,
    permissions: Iterable[str] = (),
    two_factor: bool = False,
    staff: bool = True,
    username: str | None = None,
) -> User:
    """A staff member in `role` (a group of core.roles), with any extra
    `permissions` ("app_label.codename"), and TOTP enrolled if asked."""
    number = next(_numbers)
    username = username or f"staff{number}"
    user = User.objects.create_user(
        username=username, email=f"{username}@ceroc.example", password=PASSWORD, is_staff=staff
    )
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    if role:
        # Made by post_migrate, after migrate and after every flush.
        user.groups.add(Group.objects.get(name=role))
    for permission in permissions:
        app_label, codename = permission.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
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


def make_statement(
    slug: str = "statement-one",
    *,
    status: str = Statement.Status.DRAFT,
    body_km: str = KHMER_BODY,
    body_en: str = ENGLISH_BODY,
    title_km: str = "សេចក្តីថ្លែងការណ៍ជាសាធារណៈ",
    title_en: str = "Public statement",
    campaign: Campaign | None = None,
    **extra: Any,
) -> Statement:
    statement = Statement.objects.create(
        slug=slug,
        status=status,
        title_km=title_km,
        title_en=title_en,
        body_km=body_km,
        body_en=body_en,
        date=extra.pop("date", date(2013, 9, 1)),
        published_at=timezone.now() if status == Statement.Status.PUBLISHED else None,
        **extra,
    )
    Signatory.objects.create(
        statement=statement,
        name_km="សេង សុភ័ណ",
        name_en="Sophan Seng",
        role_km="ប្រធានក្រុមយុទ្ធនាការ",
        role_en="Campaign Team Leader",
        contact="Tel: (403) 455-8294",
    )
    if campaign is not None:
        statement.campaigns.add(campaign)
    return statement


def totp_now(secret: str) -> str:
    """The code of the current period, as an authenticator app shows it.

    The server accepts only the current period (allauth's tolerance is 0):
    in a period's last seconds, wait for the next one, as a person would, so
    that the code cannot expire between typing and checking on a busy machine."""
    period = app_settings.TOTP_PERIOD
    left = period - time.time() % period
    if left < 8:
        time.sleep(left + 0.1)
    return format_hotp_value(hotp_value(secret, int(time.time()) // period))
