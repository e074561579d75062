from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation

from core import roles
from core.models import AuditEntry
from organisers.paper import PaperFileRefused, paper_confirm, paper_preview
from signatures.models import Signature
from signatures.tallies import figures_compute
from tests.factories import make_campaign, make_signature, make_staff, sign_in

SHEET = """\
full_name,email,phone,country,province,city,show_publicly
សុខ ស្តារ៉ា,,,FR,កំពត,Paris,yes
Chan Thida,chan.thida@example.org,+33611111111,France,takeo,Lyon,
,nobody@example.org,,FR,,,
Bad Mail,not-an-e-mail,,FR,,,
Nowhere Person,,,Atlantis,,,
Dara Sok,Dara.Sok+paper@gmail.com,,US,,,
ស្រី មុំ,,,បារាំង,,,
Chan Thida again,CHAN.THIDA@example.org,,FR,,,
សុខ ស្ដារ៉ា,,,FR,,,
Wrong Province,,,FR,Atlantis Province,,
"""


@pytest.mark.django_db
def test_paper_import_keeps_good_rows_and_reports_each_bad_one() -> None:
    campaign = make_campaign()
    # Signed online already, with the canonical form of the paper row's address.
    make_signature(campaign, full_name="Dara Sok", email="darasok@gmail.com", country="US")
    before = figures_compute(campaign).total

    with translation.override("en"):
        preview = paper_preview(
            campaign=campaign, data=SHEET.encode(), event="Paris, 9 March 2014", user=None
        )
        assert not Signature.objects.filter(source=Signature.Source.PAPER).exists()
        report = paper_confirm(campaign=campaign, token=preview.token, user=None)

    assert report.refused == preview.refused  # the report repeats what the preview said
    refused = {error.line: error.message for error in report.refused}
    assert report.imported == 3  # lines 2, 3 and 8
    assert sorted(refused) == [4, 5, 6, 7, 9, 10, 11]
    assert "missing" in refused[4]
    assert "country" in refused[6].lower()
    assert "Already signed" in refused[7]  # Dara Sok: same e-mail key as online
    assert "Already signed" in refused[9]  # same address as line 3, other case
    assert "Already signed" in refused[10]  # ស្ដ / ស្ត: one name to the matching key
    assert "province" in refused[11].lower()

    paper = Signature.objects.filter(source=Signature.Source.PAPER).order_by("pk")
    assert [s.full_name for s in paper] == ["សុខ ស្តារ៉ា", "Chan Thida", "ស្រី មុំ"]
    assert {s.event for s in paper} == {"Paris, 9 March 2014"}
    assert {s.status for s in paper} == {Signature.Status.CONFIRMED}
    first = paper[0]
    assert (first.country, first.province, first.show_publicly) == ("FR", "kampot", True)
    assert paper[2].country == "FR"  # the Khmer name of France
    assert figures_compute(campaign).total == before + 3


@pytest.mark.django_db
def test_a_file_without_a_header_row_is_refused_whole() -> None:
    campaign = make_campaign()
    with translation.override("en"), pytest.raises(PaperFileRefused, match="first row"):
        paper_preview(campaign=campaign, data=b"Sok Dara,FR\n", event="x", user=None)
    assert not Signature.objects.exists()


@pytest.mark.django_db
def test_the_import_page_shows_the_report_and_records_the_import(client: Any) -> None:
    campaign = make_campaign()
    organiser = make_staff(roles.ORGANISER)
    client = Client()
    sign_in(client, organiser)
    upload = SimpleUploadedFile("sheet.csv", ("\ufeff" + SHEET).encode(), "text/csv")
    preview = client.post(
        reverse("organisers:paper_import", args=[campaign.slug]),
        {"event": "Melbourne community day", "file": upload},
    )
    assert preview.status_code == 200
    assert b'id="refused-rows"' in preview.content
    assert not Signature.objects.exists()
    page = client.post(
        reverse("organisers:paper_import_confirm", args=[campaign.slug]),
        {"token": preview.context["preview"].token},
    )
    assert page.status_code == 200
    assert b'id="refused-rows"' in page.content
    assert page.context["report"].imported == 4  # no online duplicate this time
    entry = AuditEntry.objects.get(action=AuditEntry.Action.IMPORTED)
    assert entry.user == organiser
    assert "Melbourne community day" in entry.detail
