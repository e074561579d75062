"""Demo statements from the committee's press releases; attachments that are what they say."""

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from statements.demo import STATEMENTS, load_statements
from statements.models import Attachment, Statement, attachment_upload_to, validate_attachment
from tests.factories import make_statement


@pytest.mark.django_db(transaction=True)
def test_load_demo_loads_the_seed_statements_with_pdfs_and_is_idempotent(settings: Any) -> None:
    call_command("load_demo", "--no-organiser", verbosity=0)
    call_command("load_demo", "--no-organiser", verbosity=0)
    assert Statement.objects.count() == len(STATEMENTS) == 3
    for statement in Statement.objects.all():
        assert statement.is_published
        assert statement.pdf_status == Statement.PdfStatus.READY and statement.pdf
        signatory = statement.signatories.get()
        assert (signatory.name_en, signatory.name_km) == ("Sophan Seng", "សេង សុភ័ណ")
        assert signatory.role_km == "ប្រធានក្រុមយុទ្ធនាការ"
        assert signatory.contact == "Tel: (403) 455-8294"
        assert statement.transitions.filter(action="publish").count() == 1
    petition = Statement.objects.get(slug="press-release-petition-2014-03-16")
    assert petition.body_km == "" and petition.languages == ["en"]  # the seed has no Khmer text
    assert petition.campaigns.filter(slug="right-to-vote-overseas").exists()
    registration = Statement.objects.get(slug="press-release-voter-registration-2013-09-01")
    assert registration.body_km.startswith("ថ្ងៃទី១ខែកញ្ញានេះជាថ្ងៃដំបូង")
    assert registration.languages == ["km", "en"]


@pytest.mark.django_db
def test_load_statements_returns_how_many() -> None:
    assert load_statements() == 3


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("statement.pdf", b"MZ\x90\x00 not a pdf"),
        ("photo.png", b"%PDF-1.7 a pdf named png"),
        ("script.html", b"<script>alert(1)</script>"),
        ("archive.pdf.exe", b"MZ"),
    ],
)
def test_attachments_must_be_what_their_name_says(name: str, content: bytes) -> None:
    with pytest.raises(ValidationError):
        validate_attachment(SimpleUploadedFile(name, content))


def test_real_pdf_and_png_attachments_are_accepted_with_safe_names() -> None:
    validate_attachment(SimpleUploadedFile("ok.pdf", b"%PDF-1.7\n..."))
    validate_attachment(SimpleUploadedFile("ok.png", b"\x89PNG\r\n\x1a\n...."))
    name = attachment_upload_to(Attachment(), "../../ សេចក្តី Statement (final).PDF")
    assert name.startswith("statements/attachments/statement-final-") and name.endswith(".pdf")
    assert ".." not in name and " " not in name


def test_oversized_attachment_is_refused() -> None:
    big = SimpleUploadedFile("big.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024))
    with pytest.raises(ValidationError):
        validate_attachment(big)


@pytest.mark.django_db
def test_attachment_is_listed_on_the_page(client: Any) -> None:
    statement = make_statement(status=Statement.Status.PUBLISHED)
    Attachment.objects.create(
        statement=statement,
        file=SimpleUploadedFile("detail.pdf", b"%PDF-1.7\n"),
        title_en="Detailed information",
    )
    html = client.get(f"/en/statements/{statement.slug}/").content.decode()
    assert "Detailed information" in html and "/media/statements/attachments/detail-" in html
