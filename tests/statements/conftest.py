"""Helpers for statement tests: statements, staff in each role, signers."""

from datetime import date
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone

from campaigns.models import Campaign
from statements.models import Signatory, Statement

LEAD_PERMISSIONS = ["view_statement", "add_statement", "change_statement", "submit_statement"]
EDITOR_PERMISSIONS = LEAD_PERMISSIONS + ["review_statement", "publish_statement"]

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


def make_staff(username: str, permissions: list[str]) -> Any:
    user = get_user_model().objects.create_user(
        username=username,
        email=f"{username}@example.org",
        password="a-long-test-password",
        is_staff=True,
    )
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="statements", codename__in=permissions)
    )
    return get_user_model().objects.get(pk=user.pk)  # fresh permission cache


@pytest.fixture
def lead(db: None) -> Any:
    """A campaign lead: writes and submits."""
    return make_staff("lead", LEAD_PERMISSIONS)


@pytest.fixture
def editor(db: None) -> Any:
    """An editor: reviews, publishes, unpublishes."""
    return make_staff("editor", EDITOR_PERMISSIONS)


@pytest.fixture
def outsider(db: None) -> Any:
    """Staff without any statement role."""
    return make_staff("outsider", [])


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


def make_campaign(slug: str = "right-to-vote-overseas") -> Campaign:
    return Campaign.objects.create(
        slug=slug, status=Campaign.Status.OPEN, title_km="សិទ្ធិបោះឆ្នោត", title_en="Right to vote"
    )
