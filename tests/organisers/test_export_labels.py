"""The full export reads in its own language (labels, not codes), keeps
valid phone numbers as they are while still guarding formulas, and XLSX
days and times are date cells."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from campaigns.models import Campaign
from core import roles
from core.spreadsheet import spreadsheet_safe
from organisers.models import GeneratedFile
from signatures.models import Signature
from tests.factories import make_campaign, make_signature, make_staff, sign_in

PHONE = "+85512345678"
CODES = {"confirmed", "online", "paper", "kampot", "True", "False", "km", "en", "FR", "KH"}


def _organiser() -> Client:
    client = Client()
    sign_in(client, make_staff(roles.ORGANISER, two_factor=True))
    return client


@pytest.fixture
def campaign(db: None) -> Campaign:
    campaign = make_campaign()
    make_signature(
        campaign,
        full_name="Sok Dara",
        phone=PHONE,
        country="KH",
        province="kampot",
        show_publicly=True,
        wants_updates=False,
        language="km",
        source=Signature.Source.PAPER,
    )
    make_signature(campaign, full_name='=HYPERLINK("http://evil.example","x")', phone="-1+2")
    return campaign


def _csv(client: Client, campaign: Campaign, language: str) -> list[dict[str, str]]:
    url = f"/{language}" + reverse("organisers:signature_export", args=[campaign.slug])[3:]
    response = client.post(url)
    assert response.status_code == 200
    content = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_a_streamed_export_is_named_for_its_campaign_language_and_day(campaign: Campaign) -> None:
    url = "/km" + reverse("organisers:signature_export", args=[campaign.slug])[3:]
    response = _organiser().post(url)
    today = timezone.localdate().isoformat()
    expected = f'attachment; filename="{campaign.slug}-signatures-km-{today}.csv"'
    assert response["Content-Disposition"] == expected


def test_spreadsheet_safe_keeps_a_valid_phone_number_and_guards_formulas() -> None:
    assert spreadsheet_safe(PHONE) == PHONE
    assert spreadsheet_safe("+14155550123") == "+14155550123"
    for formula in ["+1+2", "+855 12 345 678", "+0123456789", "+1234567890123456", "-1", "=1"]:
        assert spreadsheet_safe(formula) == "'" + formula, formula
    assert spreadsheet_safe("@SUM(A1)") == "'@SUM(A1)"
    assert spreadsheet_safe(42) == 42


def test_a_khmer_csv_export_writes_khmer_labels_and_the_phone_as_it_is(
    campaign: Campaign,
) -> None:
    rows = _csv(_organiser(), campaign, "km")
    sok = next(row for row in rows if row["ឈ្មោះពេញ"] == "Sok Dara")
    assert sok["ទូរស័ព្ទ"] == PHONE  # no apostrophe: it is a number, not a formula
    assert sok["ស្ថានភាព"] == "បានបញ្ជាក់"
    assert sok["ប្រភព"] == "លើក្រដាស"
    assert sok["ខេត្តកំណើត"] == "កំពត"
    assert sok["ប្រទេសដែលរស់នៅ"] == "កម្ពុជា"
    assert sok["អាចបង្ហាញឈ្មោះ"] == "បាទ/ចាស"
    assert sok["ចង់ទទួលព័ត៌មានថ្មីៗ"] == "ទេ"
    assert sok["ភាសា"] == "ខ្មែរ"
    assert not CODES & set(sok.values())
    other = next(row for row in rows if row is not sok)
    assert other["ឈ្មោះពេញ"] == '\'=HYPERLINK("http://evil.example","x")'
    assert other["ទូរស័ព្ទ"] == "'-1+2"


def test_an_english_csv_export_writes_english_labels(campaign: Campaign) -> None:
    rows = _csv(_organiser(), campaign, "en")
    sok = next(row for row in rows if row["Full name"] == "Sok Dara")
    assert (sok["Status"], sok["Source"], sok["Province of origin"]) == (
        "Confirmed",
        "Paper",
        "Kampot",
    )
    assert (sok["Country of residence"], sok["Language"]) == ("Cambodia", "Khmer")
    assert (sok["Name may be shown"], sok["Wants updates"], sok["Phone"]) == ("Yes", "No", PHONE)


def test_an_xlsx_export_is_a_job_with_text_cells_and_real_times(
    campaign: Campaign, django_capture_on_commit_callbacks: Any
) -> None:
    client = _organiser()
    url = "/km" + reverse("organisers:signature_export_xlsx", args=[campaign.slug])[3:]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url)
    assert response.status_code == 302
    job = GeneratedFile.objects.get()
    assert (job.status, job.rows, job.language, job.percent) == ("done", 2, "km", 100)
    today = timezone.localdate().isoformat()
    assert job.download_name == f"{campaign.slug}-signatures-km-{today}.xlsx"
    download = client.get(reverse("organisers:file_download", args=[job.pk, job.token]))
    assert job.download_name in download["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(b"".join(download.streaming_content))).active  # type: ignore[attr-defined]
    header = [cell.value for cell in sheet[1]]
    rows = [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2)]
    sok = next(row for row in rows if row["ឈ្មោះពេញ"].value == "Sok Dara")
    assert sok["ទូរស័ព្ទ"].value == PHONE and sok["ទូរស័ព្ទ"].data_type == "s"
    assert (sok["ស្ថានភាព"].value, sok["ខេត្តកំណើត"].value) == ("បានបញ្ជាក់", "កំពត")
    signed_at = sok["ពេលចុះហត្ថលេខា (UTC)"]
    assert isinstance(signed_at.value, datetime) and signed_at.is_date
    assert signed_at.number_format == "yyyy-mm-dd hh:mm:ss"
    assert abs(signed_at.value - datetime.utcnow()) < timedelta(minutes=5)  # noqa: DTZ003
    other = next(row for row in rows if row is not sok)
    # Text, not a formula, and no apostrophe to show.
    assert other["ឈ្មោះពេញ"].value == '=HYPERLINK("http://evil.example","x")'
    assert other["ឈ្មោះពេញ"].data_type == "s"


@pytest.mark.django_db
def test_days_in_a_count_export_are_date_cells() -> None:
    campaign = make_campaign()
    make_signature(campaign)
    client = Client()
    sign_in(client, make_staff(roles.VIEWER))
    response = client.get(reverse("organisers:count_export", args=[campaign.slug, "day", "xlsx"]))
    sheet = load_workbook(io.BytesIO(response.content)).active
    day = sheet["A2"]
    assert day.is_date and day.number_format == "yyyy-mm-dd"
    assert day.value.date() == timezone.localdate()
    assert isinstance(day.value.date(), date)
