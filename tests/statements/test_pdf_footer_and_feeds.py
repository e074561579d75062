"""Each language's statement PDF prints its own language's address in the
footer, and feeds carry that PDF as an enclosure with its true length."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import feedparser
import pytest
from django.conf import settings
from django.test import Client

from statements import pdf
from statements.models import Statement
from statements.tasks import statement_pdf_render
from tests.factories import make_statement
from tests.pdf_extract import pdftotext

pytestmark = pytest.mark.django_db

# The bottom margin of an A4 page (24 mm of 842 pt), where the footer prints.
FOOTER = ("-x", "0", "-y", "775", "-W", "595", "-H", "67")


def _published_with_pdf(slug: str = "statement-one") -> Statement:
    statement = make_statement(slug, status=Statement.Status.PUBLISHED)
    assert statement_pdf_render.delay(statement.pk).get() is True
    statement.refresh_from_db()
    return statement


def _download(client: Client, language: str, slug: str, tmp_path: Path) -> tuple[bytes, str]:
    response = client.get(f"/{language}/statements/{slug}/pdf/")
    assert response.status_code == 200
    content = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    path = tmp_path / f"{language}.pdf"
    path.write_bytes(content)
    return content, pdftotext(path, *FOOTER)


@pytest.mark.parametrize(("language", "other"), [("km", "en"), ("en", "km")])
def test_each_languages_pdf_prints_its_own_address_in_the_footer(
    client: Client, tmp_path: Path, language: str, other: str
) -> None:
    statement = _published_with_pdf()
    _content, footer = _download(client, language, statement.slug, tmp_path)
    assert f"{settings.SITE_URL}/{language}/statements/{statement.slug}/" in footer
    assert f"/{other}/" not in footer


def test_a_new_render_replaces_every_languages_file(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    statement = _published_with_pdf()
    storage = statement.pdf.storage
    first = statement.pdf.name or ""
    first_km = pdf.language_file_name(first, "km")
    assert first_km != first and storage.exists(first_km)
    with django_capture_on_commit_callbacks(execute=True):
        assert statement_pdf_render.delay(statement.pk).get() is True
    statement.refresh_from_db()
    assert statement.pdf.name != first
    assert storage.exists(pdf.language_file_name(statement.pdf.name or "", "km"))
    assert not storage.exists(first) and not storage.exists(first_km)


def test_a_pdf_rendered_before_language_copies_is_still_served_and_enclosed(
    client: Client, tmp_path: Path
) -> None:
    statement = _published_with_pdf()
    statement.pdf.storage.delete(pdf.language_file_name(statement.pdf.name or "", "km"))
    content, _footer = _download(client, "km", statement.slug, tmp_path)
    assert content == Path(statement.pdf.path).read_bytes()  # the one file there is
    parsed = feedparser.parse(client.get("/km/statements/feed/rss/").content)
    assert int(parsed.entries[0].enclosures[0].length) == len(content)


@pytest.mark.parametrize("kind", ["rss", "atom"])
@pytest.mark.parametrize("language", ["km", "en"])
def test_feeds_carry_the_pdf_in_their_language_with_its_length(
    client: Client, tmp_path: Path, kind: str, language: str
) -> None:
    statement = _published_with_pdf()
    make_statement("no-pdf-yet", status=Statement.Status.PUBLISHED, title_en="Without a PDF")
    content, _footer = _download(client, language, statement.slug, tmp_path)
    parsed = feedparser.parse(client.get(f"/{language}/statements/feed/{kind}/").content)
    assert not parsed.bozo, parsed.bozo_exception
    by_link = {entry.link.rstrip("/").rsplit("/", 1)[-1]: entry for entry in parsed.entries}
    assert by_link["no-pdf-yet"].enclosures == []
    (enclosure,) = by_link[statement.slug].enclosures
    assert enclosure.href == f"{settings.SITE_URL}/{language}/statements/{statement.slug}/pdf/"
    assert enclosure.type == "application/pdf"
    assert int(enclosure.length) == len(content)  # the bytes that URL serves
