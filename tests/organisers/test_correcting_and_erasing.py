"""Correcting a paper signature, re-entering one that was ruled out, and
erasing a signer at their request: each through the model's own changes, so
the count stays exact, and each in the audit log."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign
from core import roles
from core.models import AuditEntry
from organisers import paper
from outbox.models import Message
from signatures.identity import name_key
from signatures.models import Signature
from signatures.services import signature_submit
from signatures.tallies import figures_compute
from tests.factories import make_campaign, make_signature, make_staff, sign_in

Status = Signature.Status
LIST = "admin:signatures_signature_changelist"
HEADER = "full_name,email,phone,country,province,city,show_publicly\n"


def _paper(campaign: Campaign, **fields: Any) -> Signature:
    fields.setdefault("full_name", "Sok Dara")
    fields.setdefault("country", "FR")
    fields.setdefault("phone", "+33611111111")
    return Signature.paper_entry(
        campaign=campaign,
        event="Paris",
        name_key=name_key(fields["full_name"]),
        email="",
        email_hash=None,
        confirmed_at=timezone.now(),
        **fields,
    )


def _client(user: User) -> Client:
    client = Client(REMOTE_ADDR="192.0.2.20")
    sign_in(client, user)
    return client


def _by_country(campaign: Campaign) -> dict[str, int]:
    return dict(figures_compute(campaign).by_country)


def _import(campaign: Campaign, sheet: str) -> paper.PaperReport:
    organiser = make_staff(roles.ORGANISER)
    preview = paper.paper_preview(
        campaign=campaign, data=(HEADER + sheet).encode(), event="again", user=organiser
    )
    return paper.paper_confirm(campaign=campaign, token=preview.token, user=organiser)


# --- An invalidated signature does not block its corrected re-entry ----------


@pytest.mark.django_db
def test_an_invalidated_paper_row_does_not_block_its_corrected_version() -> None:
    campaign = make_campaign()
    misread = _paper(campaign, full_name="Sok Dara", country="FR")
    misread.invalidate("entered with the wrong country")
    with_mail = make_signature(campaign, full_name="Chan Thida", email="thida@example.org")
    with_mail.invalidate("typo in the city")
    still_counted = _paper(campaign, full_name="Lina Chan")

    report = _import(
        campaign,
        "Sok Dara,,,KH,,,\nChan Thida,thida@example.org,,KH,,,\nLina Chan,,,KH,,,\n",
    )

    assert report.imported == 2
    assert [error.line for error in report.duplicates] == [4]  # Lina still stands
    assert _by_country(campaign) == {"KH": 2, "FR": 1}
    assert still_counted.pk  # untouched


@pytest.mark.django_db
def test_an_invalidated_online_signature_does_not_block_signing_again_online() -> None:
    campaign = make_campaign()
    first = make_signature(campaign, email="dara@example.org", full_name="Sok Dara")
    first.invalidate("signed from a flooding network")
    data = {"full_name": "Sok Dara", "email": "Dara@example.org", "country": "KH"}

    again = signature_submit(campaign=campaign, data=data, ip_address=None, language="km")

    assert again.pk != first.pk
    assert again.status == Status.PENDING
    assert again.confirm() and figures_compute(campaign).total == 1
    # Restoring the first would count the person twice: refused while the second stands.
    assert not first.restore()
    assert first.status == Status.INVALIDATED
    assert figures_compute(campaign).total == 1


@pytest.mark.django_db
def test_the_restore_action_leaves_a_signature_whose_re_entry_stands() -> None:
    campaign = make_campaign()
    old = _paper(campaign, full_name="Sok Dara")
    old.invalidate("wrong country")
    _import(campaign, "Sok Dara,,,KH,,,\n")
    client = _client(make_staff(roles.MODERATOR))

    client.post(reverse(LIST), {"action": "restore", "_selected_action": [old.pk]})

    old.refresh_from_db()
    assert old.status == Status.INVALIDATED
    assert figures_compute(campaign).total == 1


# --- Correcting a paper signature in the admin ------------------------------


def _change_url(signature: Signature) -> str:
    return reverse("admin:signatures_signature_change", args=[signature.pk])


def _correction(**fields: str) -> dict[str, str]:
    data = {
        "full_name": "Sok Dara",
        "country": "FR",
        "province": "",
        "city": "Paris",
        "phone": "+33611111111",
    }
    data.update(fields)
    return data


@pytest.mark.django_db
def test_an_organiser_with_two_factor_corrects_a_paper_signature_and_the_count_moves() -> None:
    campaign = make_campaign()
    signature = _paper(campaign, city="Paris")
    make_signature(campaign, country="FR")
    organiser = make_staff(roles.ORGANISER, two_factor=True)
    client = _client(organiser)
    assert _by_country(campaign) == {"FR": 2}

    form = client.get(_change_url(signature))
    assert b'name="full_name"' in form.content and b'name="phone"' in form.content
    saved = client.post(
        _change_url(signature),
        _correction(full_name="សុខ ដារា", country="KH", province="kampot", phone="+855 12 345 678"),
    )

    assert saved.status_code == 302
    signature.refresh_from_db()
    assert (signature.full_name, signature.country, signature.province, signature.phone) == (
        "សុខ ដារា",
        "KH",
        "kampot",
        "+85512345678",
    )
    assert signature.name_key == name_key("សុខ ដារា")
    assert _by_country(campaign) == {"FR": 1, "KH": 1}
    assert figures_compute(campaign).total == 2
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CHANGED, user=organiser)
    assert entry.object_id == str(signature.pk) and "country" in entry.detail.lower()
    assert "+855" not in entry.detail  # the log names fields, never values


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("full_name", "=HYPERLINK(1)"),
        ("full_name", "<b>x</b>"),
        ("full_name", "\u202eanirak"),
        ("phone", "012 345 678"),
        ("country", "XX"),
        ("city", "=cmd()"),
    ],
)
def test_a_correction_is_checked_as_the_online_form_checks(field: str, value: str) -> None:
    campaign = make_campaign()
    signature = _paper(campaign, city="Paris")
    client = _client(make_staff(roles.ORGANISER, two_factor=True))

    page = client.post(_change_url(signature), _correction(**{field: value}))

    assert page.status_code == 200
    assert field in page.context["adminform"].form.errors
    signature.refresh_from_db()
    assert (signature.full_name, signature.phone, signature.country) == (
        "Sok Dara",
        "+33611111111",
        "FR",
    )


@pytest.mark.django_db
def test_only_staff_who_may_see_personal_data_correct_and_only_paper_signatures() -> None:
    campaign = make_campaign()
    signature = _paper(campaign)
    online = make_signature(campaign, full_name="Online Signer")
    no_two_factor = _client(make_staff(roles.ORGANISER))
    moderator = _client(make_staff(roles.MODERATOR, two_factor=True))
    organiser = _client(make_staff(roles.ORGANISER, two_factor=True))

    for client in (no_two_factor, moderator):
        form = client.get(_change_url(signature))
        assert b'name="full_name"' not in form.content
        client.post(_change_url(signature), _correction(full_name="Changed", country="KH"))
    assert b'name="full_name"' not in organiser.get(_change_url(online)).content
    organiser.post(_change_url(online), _correction(full_name="Changed", country="KH"))

    signature.refresh_from_db()
    online.refresh_from_db()
    assert (signature.full_name, signature.country) == ("Sok Dara", "FR")
    assert (online.full_name, online.country) == ("Online Signer", "FR")
    assert _by_country(campaign) == {"FR": 2}


# --- Erasing a signer at their request --------------------------------------


@pytest.mark.django_db
def test_erasing_asks_first_then_does_what_a_withdrawal_does() -> None:
    campaign = make_campaign()
    paper_signer = _paper(campaign, full_name="Sok Dara", city="Paris")
    data = {"full_name": "Chan Thida", "email": "thida@example.org", "country": "AU"}
    online = signature_submit(
        campaign=campaign, data=data, ip_address="198.51.100.4", language="en"
    )
    assert Message.objects.filter(key__startswith=f"signature:{online.pk}:").exists()
    kept = make_signature(campaign, full_name="Lina Chan")
    organiser = make_staff(roles.ORGANISER, two_factor=True)
    client = _client(organiser)
    selected = {"action": "erase_personal_data", "_selected_action": [paper_signer.pk, online.pk]}

    asked = client.post(reverse(LIST), selected)

    assert asked.status_code == 200 and b'id="erase-question"' in asked.content
    assert b"Sok Dara" in asked.content
    assert Signature.objects.get(pk=paper_signer.pk).full_name == "Sok Dara"  # not yet

    done = client.post(reverse(LIST), {**selected, "confirm": "yes"})

    assert done.status_code == 302
    for signature in (paper_signer, online):
        signature.refresh_from_db()
        assert signature.status == Status.WITHDRAWN
        assert (signature.full_name, signature.email, signature.phone, signature.city) == (
            "",
            "",
            "",
            "",
        )
        assert signature.email_hash is None and signature.ip_address is None
    assert paper_signer.country == "FR"  # kept for the counts, as a withdrawal keeps it
    assert not Message.objects.filter(key__startswith=f"signature:{online.pk}:").exists()
    assert figures_compute(campaign).total == 1
    kept.refresh_from_db()
    assert kept.full_name == "Lina Chan"
    entries = AuditEntry.objects.filter(user=organiser, action=AuditEntry.Action.CHANGED)
    assert {entry.object_id for entry in entries} == {str(paper_signer.pk), str(online.pk)}
    assert not any("Sok Dara" in entry.object_repr + entry.detail for entry in entries)


@pytest.mark.django_db
def test_only_staff_with_two_factor_may_erase() -> None:
    campaign = make_campaign()
    signature = _paper(campaign)
    for user in (
        make_staff(roles.ORGANISER),  # the permission, but no two-factor
        make_staff(roles.MODERATOR, two_factor=True),  # two-factor, not personal data
        make_staff(roles.VIEWER, two_factor=True),
    ):
        client = _client(user)
        listing = client.get(reverse(LIST))
        if listing.status_code == 200:
            assert b'value="erase_personal_data"' not in listing.content
        client.post(
            reverse(LIST),
            {"action": "erase_personal_data", "_selected_action": [signature.pk], "confirm": "yes"},
        )
    signature.refresh_from_db()
    assert signature.status == Status.CONFIRMED and signature.full_name == "Sok Dara"
    organiser = _client(make_staff(roles.ORGANISER, two_factor=True))
    assert b'value="erase_personal_data"' in organiser.get(reverse(LIST)).content
