"""Organisers see how signers confirmed (e-mail or Telegram) in review, in
exports and on the dashboard, and never a Telegram signer's chat or hash."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from campaigns.models import Campaign
from core import roles
from organisers.models import GeneratedFile
from signatures.identity import name_key
from signatures.models import Signature
from signatures.telegram import user_hash
from tests.factories import make_campaign, make_signature, make_staff, sign_in

pytestmark = pytest.mark.django_db

# A chat id and a hash that nothing else on a page or in a file could spell.
CHAT_ID = "918273645501"
TELEGRAM_HASH = user_hash(918273645501)


def make_telegram_signer(campaign: Campaign, **fields: Any) -> Signature:
    """A signature confirmed by pressing Start in our bot: no e-mail address."""
    fields.setdefault("telegram_hash", TELEGRAM_HASH)
    fields.setdefault("telegram_chat", CHAT_ID)
    return make_signature(
        campaign, email="", channel=Signature.Channel.TELEGRAM, full_name="Sok Telegram", **fields
    )


def seed(campaign: Campaign) -> None:
    """Counted: three by e-mail, one by Telegram, one on paper. Not counted:
    a Telegram signer who never pressed Start, one who withdrew."""
    for _n in range(3):
        make_signature(campaign)
    make_telegram_signer(campaign)
    Signature.paper_entry(
        campaign=campaign, full_name="Chan Paper", name_key=name_key("Chan Paper"), country="FR"
    )
    make_telegram_signer(
        campaign, status=Signature.Status.PENDING, telegram_hash=None, telegram_chat=""
    )
    make_telegram_signer(
        campaign, status=Signature.Status.WITHDRAWN, telegram_hash=user_hash(5), telegram_chat="5"
    )


def signed_in(role: str | None, *, two_factor: bool = True, staff: bool = True) -> Client:
    client = Client()
    sign_in(client, make_staff(role, two_factor=two_factor, staff=staff))
    return client


def in_english(name: str, *args: Any) -> str:
    with translation.override("en"):
        return reverse(name, args=args)


def refused(response: Any) -> bool:
    """403, or the admin's redirect to sign in for people who are not staff."""
    return response.status_code == 403 or (
        response.status_code == 302 and "login" in response["Location"]
    )


def assert_no_telegram_data(content: bytes | str) -> None:
    text = content if isinstance(content, str) else content.decode("utf-8", "replace")
    assert CHAT_ID not in text
    assert TELEGRAM_HASH not in text


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def xlsx_text(content: bytes) -> str:
    sheet = load_workbook(io.BytesIO(content), read_only=True).active
    return "\n".join(
        ",".join("" if value is None else str(value) for value in row)
        for row in sheet.iter_rows(values_only=True)
    )


# --- Review ---------------------------------------------------------------------


def test_the_signature_list_shows_and_filters_how_each_signer_confirmed() -> None:
    campaign = make_campaign()
    seed(campaign)
    client = signed_in(roles.MODERATOR)
    listing = client.get(in_english("admin:signatures_signature_changelist"))
    assert listing.status_code == 200
    page = listing.content.decode()
    assert "confirmed by" in page.lower()
    assert "Telegram" in page and "E-mail" in page
    only_telegram = client.get(
        in_english("admin:signatures_signature_changelist") + "?channel=telegram"
    )
    shown = list(only_telegram.context["cl"].result_list)
    assert shown and {signature.channel for signature in shown} == {"telegram"}


def test_no_one_sees_a_telegram_signers_chat_or_hash_not_even_with_personal_data() -> None:
    campaign = make_campaign()
    signature = make_telegram_signer(campaign)
    pages = [
        in_english("admin:signatures_signature_changelist"),
        in_english("admin:signatures_signature_changelist") + "?channel=telegram",
        in_english("admin:signatures_signature_change", signature.pk),
    ]
    for client in (signed_in(roles.ORGANISER), signed_in(roles.MODERATOR)):
        for url in pages:
            response = client.get(url)
            assert response.status_code == 200, url
            assert "Telegram" in response.content.decode()
            assert_no_telegram_data(response.content)


def test_the_signature_list_stays_closed_to_roles_without_review() -> None:
    make_telegram_signer(make_campaign())
    url = in_english("admin:signatures_signature_changelist")
    assert signed_in(roles.VIEWER).get(url).status_code == 403
    assert signed_in(None).get(url).status_code == 403
    assert refused(signed_in(None, staff=False).get(url))


# --- Exports --------------------------------------------------------------------


def test_the_full_export_says_who_confirmed_by_e_mail_or_telegram_and_nothing_more() -> None:
    campaign = make_campaign()
    seed(campaign)
    response = signed_in(roles.ORGANISER).post(
        in_english("organisers:signature_export", campaign.slug)
    )
    assert response.status_code == 200
    content = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert_no_telegram_data(content)
    header, *rows = csv_rows(content)
    column = header.index("Confirmed by")
    channels = sorted((row[4], row[column]) for row in rows)  # withdrawn: not exported
    assert [channel for name, channel in channels if name.startswith("Signer")] == ["E-mail"] * 3
    assert [channel for name, channel in channels if name == "Sok Telegram"] == ["Telegram"] * 2
    # Confirmed by no channel: its source column says Paper.
    assert [channel for name, channel in channels if name == "Chan Paper"] == [""]


def test_a_khmer_export_names_the_channel_in_khmer(campaign: Campaign) -> None:
    make_signature(campaign)
    with translation.override("km"):
        url = reverse("organisers:signature_export", args=[campaign.slug])
    response = signed_in(roles.ORGANISER).post(url)
    header, *rows = csv_rows(b"".join(response.streaming_content))  # type: ignore[attr-defined]
    assert rows[0][-1] == "អ៊ីមែល"


def test_an_xlsx_export_job_holds_no_telegram_data(
    campaign: Campaign, django_capture_on_commit_callbacks: Any
) -> None:
    seed(campaign)
    client = signed_in(roles.ORGANISER)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(in_english("organisers:signature_export_xlsx", campaign.slug))
    job = GeneratedFile.objects.get()
    download = client.get(in_english("organisers:file_download", job.pk, job.token))
    assert download.status_code == 200
    text = xlsx_text(b"".join(download.streaming_content))  # type: ignore[attr-defined]
    assert "Telegram" in text
    assert_no_telegram_data(text)


def test_the_full_export_stays_behind_personal_data_and_two_factor(campaign: Campaign) -> None:
    make_telegram_signer(campaign)
    url = in_english("organisers:signature_export", campaign.slug)
    assert signed_in(roles.ORGANISER, two_factor=False).post(url).status_code == 403
    assert signed_in(roles.MODERATOR).post(url).status_code == 403
    assert signed_in(roles.ORGANISER).post(url).status_code == 200


def test_counts_by_channel_equal_the_dashboard_and_hold_no_telegram_data(
    campaign: Campaign,
) -> None:
    seed(campaign)
    client = signed_in(roles.VIEWER, two_factor=False)
    expected = [
        ["email", "E-mail", "3"],
        ["telegram", "Telegram", "1"],
        ["paper", "Paper", "1"],
    ]
    as_csv = client.get(in_english("organisers:count_export", campaign.slug, "channel", "csv"))
    assert as_csv.status_code == 200
    assert csv_rows(as_csv.content)[1:] == expected
    as_xlsx = client.get(in_english("organisers:count_export", campaign.slug, "channel", "xlsx"))
    assert as_xlsx.status_code == 200
    dashboard = client.get(in_english("organisers:dashboard", campaign.slug))
    on_screen = [[s.code, s.name, str(s.count)] for s in dashboard.context["channels"]]
    assert on_screen == expected
    for by in ("country", "province", "day", "channel"):
        for extension in ("csv", "xlsx"):
            response = client.get(
                in_english("organisers:count_export", campaign.slug, by, extension)
            )
            assert response.status_code == 200
            content = response.content if extension == "csv" else xlsx_text(response.content)
            assert_no_telegram_data(content)


def test_counts_by_channel_are_open_to_dashboard_roles_only(campaign: Campaign) -> None:
    url = in_english("organisers:count_export", campaign.slug, "channel", "csv")
    assert signed_in(roles.VIEWER, two_factor=False).get(url).status_code == 200
    assert signed_in(None).get(url).status_code == 403
    assert refused(signed_in(None, staff=False).get(url))


# --- Dashboard ------------------------------------------------------------------


def test_the_dashboard_shows_each_channels_share_of_counted_signatures(
    campaign: Campaign,
) -> None:
    for _n in range(3):
        make_signature(campaign)
    make_telegram_signer(campaign)
    make_telegram_signer(campaign, status=Signature.Status.PENDING, telegram_hash=user_hash(6))
    client = signed_in(roles.VIEWER, two_factor=False)
    english = client.get(in_english("organisers:dashboard", campaign.slug))
    assert english.status_code == 200
    page = english.content.decode()
    assert "E-mail 75% (3)" in page
    assert "Telegram 25% (1)" in page
    assert "Paper" not in page.split('data-figure="channels"')[1].split("</dd>")[0]
    assert_no_telegram_data(page)
    with translation.override("km"):
        url = reverse("organisers:dashboard", args=[campaign.slug])
    khmer = client.get(url).content.decode()
    shares = khmer.split('data-figure="channels"')[1].split("</dd>")[0]
    assert '<span data-channel="email">អ៊ីមែល ៧៥% (៣)</span>' in shares
    assert "២៥% (១)</span>" in shares.split('data-channel="telegram"')[1]


def test_a_dashboard_with_nothing_counted_shows_no_share(campaign: Campaign) -> None:
    make_telegram_signer(campaign, status=Signature.Status.PENDING)
    page = signed_in(roles.VIEWER, two_factor=False).get(
        in_english("organisers:dashboard", campaign.slug)
    )
    assert page.context["channels"] == []
    assert "0%" not in page.content.decode().split('data-figure="channels"')[1][:40]


def test_the_dashboard_stays_closed_to_staff_without_a_role(campaign: Campaign) -> None:
    url = in_english("organisers:dashboard", campaign.slug)
    assert signed_in(roles.VIEWER, two_factor=False).get(url).status_code == 200
    assert signed_in(None).get(url).status_code == 403
    assert refused(signed_in(None, staff=False).get(url))
