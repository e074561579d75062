"""The statement PDF: rendered by the real task, fonts embedded, Khmer that
wraps inside the margins and copies out as it was written."""

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from celery.exceptions import Retry
from django.test import Client

from statements import services
from statements.demo import STATEMENTS, load_statements
from statements.models import Statement
from statements.tasks import statement_pdf_render
from tests.factories import ENGLISH_BODY, KHMER_BODY, make_statement
from tests.pdf_extract import KHMER, khmer_lines, khmer_similarity, pdftotext

pytestmark = pytest.mark.django_db

A4_WIDTH_PT, A4_HEIGHT_PT = 595.28, 841.89
MARGIN_LEFT_PT = MARGIN_RIGHT_PT = 20 / 25.4 * 72  # 20 mm, as in templates/statements/pdf.html


def rendered(statement: Statement) -> Path:
    assert statement_pdf_render.delay(statement.pk).get() is True
    statement.refresh_from_db()
    assert statement.pdf_status == Statement.PdfStatus.READY
    return Path(statement.pdf.path)


def test_fonts_are_embedded(settings: Any) -> None:
    path = rendered(make_statement())
    fonts = subprocess.run(
        ["pdffonts", str(path)], check=True, capture_output=True, text=True
    ).stdout
    rows = fonts.splitlines()[2:]
    assert any("Khmer" in row for row in rows) and any("Latin" in row for row in rows)
    for row in rows:
        emb, sub, uni = row.split()[-5:-2]
        assert (emb, uni) == ("yes", "yes"), row


def test_english_copies_out_exactly_and_khmer_at_least_99_percent() -> None:
    statement = make_statement(body_km=KHMER_BODY, body_en=ENGLISH_BODY)
    text = pdftotext(rendered(statement))
    flat = " ".join(text.split())
    assert ENGLISH_BODY in flat
    ratio = khmer_similarity(KHMER_BODY, _khmer_body_of(text))
    assert ratio >= 0.99, ratio
    assert "\u200b" not in text  # the word breaks are for layout only
    assert "\u25cc" not in text  # no dotted circle (broken cluster)


def _khmer_body_of(text: str) -> str:
    """The Khmer paragraph: from its first word to its last, as extracted."""
    lines = khmer_lines(text)
    start = lines.find("ក្នុងខណៈ")
    end = lines.find("ទាំងអស់គ្នា។")
    assert start >= 0 and end > start, lines
    return lines[start : end + len("ទាំងអស់គ្នា។")]


def test_long_khmer_paragraph_stays_inside_the_margins() -> None:
    long_body = " ".join(
        [KHMER_BODY.replace(" ", "")] * 6
    )  # few spaces: wrapping needs word breaks
    statement = make_statement(body_km=long_body, body_en="")
    html = pdftotext(rendered(statement), "-bbox")
    words = re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>', html
    )
    khmer_words = [(float(x0), float(x1)) for x0, _y, x1, word in words if KHMER.search(word)]
    lines = {(y) for _x0, y, _x1, word in words if KHMER.search(word)}
    assert len(lines) > 10  # the paragraph wrapped, line after line
    for x0, x1 in khmer_words:
        assert x0 >= MARGIN_LEFT_PT - 1
        assert x1 <= A4_WIDTH_PT - MARGIN_RIGHT_PT + 1, (x0, x1)
    pages = len(re.findall(r"<page ", html))
    assert pages >= 1


def test_metadata_title_author_and_language() -> None:
    from pypdf import PdfReader

    path = rendered(make_statement(body_en="", title_en=""))
    reader = PdfReader(path)
    assert reader.metadata is not None
    assert reader.metadata.title == "សេចក្តីថ្លែងការណ៍ជាសាធារណៈ"
    assert reader.metadata.author == "Sophan Seng"
    assert reader.trailer["/Root"]["/Lang"] == "km"  # type: ignore[index]
    text = pdftotext(path)
    assert re.search(r"\b1\s*/\s*1\b", text)  # page numbers
    assert "/statements/statement-one/" in text  # the link back


def test_each_demo_statement_renders_with_its_languages(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        load_statements()
    assert Statement.objects.count() == len(STATEMENTS)
    for statement in Statement.objects.all():
        assert statement.pdf_status == Statement.PdfStatus.READY, statement.pdf_error
        text = pdftotext(Path(statement.pdf.path))
        flat = " ".join(text.split())
        assert "Sophan Seng" in flat and "Campaign Team Leader" in flat
        assert "សេង សុភ័ណ" in flat and "(403) 455-8294" in flat
        if statement.body_en:
            assert " ".join(statement.body_en.split()[:8]) in flat
        else:
            assert "Committee for the Election Rights" in flat  # the letterhead only
        if not statement.body_km:
            assert "ប្រធានក្រុមយុទ្ធនាការ" in flat  # the signatory, in both languages


def test_demo_khmer_bodies_copy_out_at_least_99_percent(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        load_statements()
    bodies = Statement.objects.exclude(body_km="")
    assert bodies.count() == 2
    for statement in bodies:
        text = khmer_lines(pdftotext(Path(statement.pdf.path)))
        source = "".join(line.lstrip("- ") for line in statement.body_km.splitlines())
        first, last = source.split()[0][:8], source.rstrip()[-6:]
        start, end = text.find(first), text.rfind(last)
        assert start >= 0 and end > start, (first, last)
        extracted = text[start : end + len(last)].replace("•", "")
        assert khmer_similarity(source, extracted) >= 0.99


def test_failed_render_is_recorded_and_keeps_the_current_file(
    monkeypatch: Any, client: Client
) -> None:
    statement = make_statement(status=Statement.Status.PUBLISHED)
    rendered(statement)
    good_name = statement.pdf.name

    def broken(_statement: Statement) -> bytes:
        raise RuntimeError("font missing")

    monkeypatch.setattr("statements.pdf.render_pdf", broken)
    services.pdf_render_queue(statement=statement)
    with pytest.raises((RuntimeError, Retry)):  # eager Celery: the retry is raised here
        statement_pdf_render.delay(statement.pk).get()
    statement.refresh_from_db()
    assert statement.pdf_status == Statement.PdfStatus.FAILED
    assert "font missing" in statement.pdf_error
    assert statement.pdf_attempts >= 1
    assert statement.pdf.name == good_name
    page = client.get(statement.get_absolute_url())
    assert b"/pdf/" in page.content
    download = client.get(f"{statement.get_absolute_url()}pdf/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"%PDF-")  # type: ignore[attr-defined]


def test_statement_without_pdf_shows_no_link(client: Client) -> None:
    statement = make_statement(status=Statement.Status.PUBLISHED)
    page = client.get(statement.get_absolute_url())
    assert page.status_code == 200
    assert b"/pdf/" not in page.content


def test_admin_can_rebuild_the_pdf(
    editor: Any, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    from django.urls import reverse

    statement = make_statement(status=Statement.Status.PUBLISHED)
    client.force_login(editor)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:statements_statement_rebuild_pdf", args=[statement.pk])
        )
    assert response.status_code == 302
    statement.refresh_from_db()
    assert statement.pdf_status == Statement.PdfStatus.READY and statement.pdf
