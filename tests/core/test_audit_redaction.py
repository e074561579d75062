"""The audit log keeps what staff searched for as a marker, never the address,
phone or name itself, and shows entries' details only to staff who may see
personal data (permission, two-factor enrolled, and passed in this session)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from campaigns.models import Campaign
from core import roles
from core.audit import audit_record
from core.models import AuditEntry
from tests.factories import make_campaign, make_signature, make_staff, sign_in

pytestmark = pytest.mark.django_db

SIGNATURES = "/en/admin/signatures/signature/"
AUDIT_LOG = "/en/admin/core/auditentry/"


@pytest.fixture
def campaign() -> Campaign:
    return make_campaign()


def signed_in(user: Any) -> Client:
    client = Client()
    sign_in(client, user)
    return client


def searched_entries() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=AuditEntry.Action.VIEWED_PERSONAL_DATA))


@pytest.mark.parametrize(
    ("search", "secrets", "marker"),
    [
        ("signer5@gmail.com", ["signer5", "gmail", "%40", "@"], "[e-mail]"),
        ("Sok Dara", ["Sok", "Dara", "sok", "dara"], "[name]"),
        ("សុខ ដារា", ["សុខ", "ដារា", "%E1"], "[name]"),
        ("+855 12 345 678", ["345", "855", "678"], "[phone]"),
    ],
    ids=["e-mail", "latin-name", "khmer-name", "phone"],
)
def test_a_search_is_stored_as_a_marker_not_as_typed(
    campaign: Campaign, search: str, secrets: list[str], marker: str
) -> None:
    organiser = make_staff(roles.ORGANISER, two_factor=True)
    make_signature(campaign, full_name="Sok Dara", email="signer5@gmail.com")
    response = signed_in(organiser).get(SIGNATURES, {"q": search, "status__exact": "confirmed"})
    assert response.status_code == 200
    [entry] = searched_entries()
    for secret in secrets:
        assert secret not in entry.detail
    assert marker in entry.detail
    # What is not personal stays useful: the page and its filters.
    assert entry.detail.startswith(SIGNATURES)
    assert "status__exact=confirmed" in entry.detail


def test_an_address_in_any_other_parameter_is_not_stored_either(campaign: Campaign) -> None:
    organiser = make_staff(roles.ORGANISER, two_factor=True)
    signed_in(organiser).get(SIGNATURES, {"o": "someone@example.org"})
    [entry] = searched_entries()
    assert "someone" not in entry.detail and "example.org" not in entry.detail


@pytest.fixture
def entries(campaign: Campaign) -> list[AuditEntry]:
    signature = make_signature(campaign, full_name="Sok Dara", email="sok.dara@example.org")
    return [
        # What AuditedAdmin writes for a change to a signature: its name as the object.
        audit_record(
            action=AuditEntry.Action.CHANGED,
            user=make_staff(roles.MODERATOR),
            obj=signature,
            detail="Invalidated: sok.dara@example.org asked by letter",
        ),
        audit_record(
            action=AuditEntry.Action.VIEWED_PERSONAL_DATA,
            object_type="signatures.signature",
            object_repr="Signature list",
            detail="/en/admin/signatures/signature/?q=%5Be-mail%5D",
        ),
    ]


def test_staff_who_may_see_personal_data_read_each_entry_in_full(
    entries: list[AuditEntry],
) -> None:
    organiser = make_staff(roles.ORGANISER, two_factor=True)
    client = signed_in(organiser)
    page = client.get(AUDIT_LOG).content.decode()
    assert "Sok Dara" in page
    assert "sok.dara@example.org asked by letter" in page
    one = client.get(f"{AUDIT_LOG}{entries[0].pk}/change/").content.decode()
    assert "sok.dara@example.org asked by letter" in one


@pytest.mark.parametrize(
    "how",
    ["without two-factor", "two-factor not passed in this session"],
)
def test_an_organiser_without_two_factor_sees_that_something_happened_not_to_whom(
    entries: list[AuditEntry], how: str
) -> None:
    organiser = make_staff(roles.ORGANISER, two_factor=how != "without two-factor")
    client = Client()
    client.force_login(organiser)  # no two-factor step in this session
    response = client.get(AUDIT_LOG)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Sok Dara" not in page and "sok.dara" not in page
    assert "Changed" in page and "Viewed personal data" in page  # the entries are listed
    assert page.count("Hidden without two-factor sign-in") >= 2
    # The page says why, and what to do.
    assert 'id="personal-data-hidden"' in page
    one = client.get(f"{AUDIT_LOG}{entries[0].pk}/change/")
    assert one.status_code == 200
    assert "sok.dara" not in one.content.decode() and "Sok Dara" not in one.content.decode()
    # Searching the hidden columns finds nothing through them.
    for term in ("Sok Dara", "sok.dara", "e-mail"):
        assert client.get(AUDIT_LOG, {"q": term}).context["cl"].result_count == 0


def test_another_role_and_an_outsider_do_not_read_the_audit_log(
    entries: list[AuditEntry],
) -> None:
    moderator = signed_in(make_staff(roles.MODERATOR, two_factor=True))
    assert moderator.get(AUDIT_LOG).status_code == 403
    outsider = signed_in(make_staff(staff=False))
    response = outsider.get(AUDIT_LOG)
    assert response.status_code == 302
    assert "Sok Dara" not in response.content.decode()
