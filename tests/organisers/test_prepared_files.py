"""Prepared files: each shows its kind and language, reports its progress as
invalidation jobs do, and downloads under a stable, readable name."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from campaigns.models import Campaign
from core import roles
from organisers import delivery, exports
from organisers.models import GeneratedFile, JobStatus
from tests.factories import make_campaign, make_signature, make_staff, sign_in


def _organiser() -> tuple[Client, Any]:
    client = Client()
    user = make_staff(roles.ORGANISER, two_factor=True)
    sign_in(client, user)
    return client, user


@pytest.fixture
def campaign(db: None) -> Campaign:
    campaign = make_campaign()
    for number in range(3):
        make_signature(campaign, full_name=f"Named {number}", show_publicly=True)
    return campaign


def test_a_delivery_document_in_both_languages_is_listed_with_its_kind_and_language(
    campaign: Campaign, django_capture_on_commit_callbacks: Any
) -> None:
    client, _user = _organiser()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/en" + reverse("organisers:delivery", args=[campaign.slug])[3:],
            {"language": "both", "with_names": "on"},
        )
    assert response.status_code == 302
    job = GeneratedFile.objects.get()
    assert (job.status, job.language, job.rows) == (JobStatus.DONE, "both", 3)
    assert (job.total, job.processed, job.percent) == (4, 4, 100)  # the front part, 3 names
    name = f"{campaign.slug}-delivery-names-both-{timezone.localdate():%Y-%m-%d}.pdf"
    assert job.download_name == name
    page = client.get("/en" + reverse("organisers:files")[3:]).content.decode()
    assert name in page
    assert "Delivery document with names (PDF)" in page
    assert "ខ្មែរ + English" in page
    download = client.get(reverse("organisers:file_download", args=[job.pk, job.token]))
    assert download["Content-Disposition"] == f'attachment; filename="{name}"'


def test_the_files_page_lists_the_language_in_khmer_and_english(campaign: Campaign) -> None:
    client, user = _organiser()
    for language, kind in [("km", "delivery_counts"), ("en", "signatures")]:
        GeneratedFile.objects.create(
            kind=kind, campaign=campaign, created_by=user, language=language
        )
    page = client.get("/km" + reverse("organisers:files")[3:]).content.decode()
    assert "ឯកសារដាក់ជូនញត្តិ មានតែចំនួន (PDF)" in page
    assert "នាំចេញហត្ថលេខាទាំងអស់ (CSV)" in page
    assert "<td>ខ្មែរ</td>" in page and "<td>English</td>" in page


def test_a_running_job_reports_its_progress_on_the_page_and_as_json(campaign: Campaign) -> None:
    client, user = _organiser()
    job = GeneratedFile.objects.create(
        kind=GeneratedFile.Kind.SIGNATURE_EXPORT,
        campaign=campaign,
        created_by=user,
        status=JobStatus.RUNNING,
        total=200,
        processed=50,
    )
    with translation.override("km"):  # whatever language an earlier test left active
        files_url = reverse("organisers:files")
    page = client.get(files_url).content.decode()
    assert '<progress max="100" value="25"' in page
    data = client.get(files_url + "?format=json").json()
    assert data["pending"] == 1
    assert data["jobs"] == [
        {
            "id": job.pk,
            "status": "running",
            "status_label": "កំពុងដំណើរការ",  # the page is on /km/
            "processed": 50,
            "total": 200,
            "percent": 25,
            "finished": False,
            "display": {"processed": "៥០", "total": "២០០"},  # as the page writes them
        }
    ]


def test_an_export_job_records_its_progress_as_it_writes(
    campaign: Campaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    _client, user = _organiser()
    monkeypatch.setattr(exports, "EXPORT_CHUNK_ROWS", 1)
    seen: list[int] = []
    progress = GeneratedFile.progress

    def spy(self: GeneratedFile, processed: int) -> None:
        progress(self, processed)
        seen.append(GeneratedFile.objects.get(pk=self.pk).processed)

    monkeypatch.setattr(GeneratedFile, "progress", spy)
    job = exports.export_start(campaign=campaign, user=user, language="en", extension="xlsx")
    assert job.total == 3
    exports.export_build(job.pk)
    assert seen[:3] == [1, 2, 3]
    job.refresh_from_db()
    assert (job.status, job.rows, job.percent) == (JobStatus.DONE, 3, 100)
    assert job.download_name.endswith(f"-signatures-en-{timezone.localdate():%Y-%m-%d}.xlsx")


def test_an_unknown_delivery_language_is_refused_before_anything_is_queued(
    campaign: Campaign,
) -> None:
    client, user = _organiser()
    response = client.post(reverse("organisers:delivery", args=[campaign.slug]), {"language": "fr"})
    assert response.status_code == 200 and response.context["form"].errors["language"]
    with pytest.raises(ValueError, match="language"):
        delivery.delivery_start(campaign=campaign, with_names=False, language="fr", user=user)
    assert not GeneratedFile.objects.exists()
