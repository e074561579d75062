from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from core import roles
from core.models import AuditEntry
from organisers.delivery import delivery_write
from organisers.models import GeneratedFile
from signatures.models import Signature
from tests.organisers.conftest import make_campaign, make_signature, make_staff, sign_in


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.mark.django_db
def test_the_document_lists_only_counted_signers_who_agreed_to_be_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from organisers import delivery

    monkeypatch.setattr(delivery, "NAMES_PER_CHUNK", 4)  # several chunks, merged
    campaign = make_campaign()
    shown = [
        make_signature(campaign, full_name=f"Shown Person {n}", show_publicly=True, country="AU")
        for n in range(10)
    ]
    make_signature(campaign, full_name="Private Person", show_publicly=False)
    make_signature(
        campaign, full_name="Pending Person", show_publicly=True, status=Signature.Status.PENDING
    )
    make_signature(campaign, full_name="Kampot Signer", province="kampot")
    with_names = io.BytesIO()
    listed = delivery_write(campaign, with_names, with_names=True, language="en")
    text = _text(with_names.getvalue())
    assert listed == 10
    for signature in shown:
        assert signature.full_name in text
    assert "Private Person" not in text and "Pending Person" not in text
    assert "Australia" in text and "France" in text
    assert "12" in text  # the total: ten shown, one private, one from Kampot
    assert "National Election Committee" in text
    pages = PdfReader(io.BytesIO(with_names.getvalue())).pages
    assert len(pages) > 4  # the front part, then a part per four names
    for number, page in enumerate(pages, start=1):  # numbering runs on across parts
        assert page.extract_text().split()[-1] == str(number)

    counts_only = io.BytesIO()
    assert delivery_write(campaign, counts_only, with_names=False, language="km") == 0
    text = _text(counts_only.getvalue())
    assert "Shown Person" not in text
    assert "12" in text


@pytest.mark.django_db
def test_an_organiser_gets_the_document_as_an_expiring_download(
    django_capture_on_commit_callbacks: Any,
) -> None:
    campaign = make_campaign()
    make_signature(campaign, full_name="Shown Person", show_publicly=True)
    organiser = make_staff(roles.ORGANISER, two_factor=True)
    client = Client()
    sign_in(client, organiser)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("organisers:delivery", args=[campaign.slug]),
            {"with_names": "on", "language": "en"},
        )
    assert response.status_code == 302
    job = GeneratedFile.objects.get()
    assert (job.kind, job.status, job.rows) == ("delivery_names", "done", 1)
    download = client.get(reverse("organisers:file_download", args=[job.pk, job.token]))
    assert "Shown Person" in _text(b"".join(download.streaming_content))  # type: ignore[attr-defined]
    assert AuditEntry.objects.filter(action=AuditEntry.Action.EXPORTED).count() == 2


@pytest.mark.django_db
def test_names_never_leave_without_two_factor_but_counts_may() -> None:
    campaign = make_campaign()
    client = Client()
    sign_in(client, make_staff(roles.ORGANISER, two_factor=False))
    url = reverse("organisers:delivery", args=[campaign.slug])
    assert client.post(url, {"with_names": "on", "language": "en"}).status_code == 403
    assert client.post(url, {"language": "en"}).status_code == 302
