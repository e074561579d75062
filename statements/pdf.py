"""A statement as an A4 PDF: letterhead, Khmer text, English text, signatories.

Khmer line breaking and exact copying out are `core.pdf`'s: `pdf_write`
segments the Khmer words and marks each phrase with its real text.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.formats import date_format
from django.utils.safestring import mark_safe

from core.markup import render_markdown
from core.pdf import pdf_fonts, pdf_write
from core.templatetags.sitthi import to_local_digits

if TYPE_CHECKING:
    from statements.models import Statement

# The letterhead prints both languages at once, whatever the reader's language.
KIND_KM = {
    "press_release": "សេចក្តីប្រកាសព័ត៌មាន",
    "public_statement": "សេចក្តីថ្លែងការណ៍ជាសាធារណៈ",
    "news": "ព័ត៌មាន",
}


def statement_html(statement: Statement) -> str:
    """The HTML WeasyPrint lays out: letterhead, Khmer text, English text, signatories."""
    page_url = settings.SITE_URL + statement_url(statement, "en")
    # For a CSS string in <style> (raw text: HTML escaping would show as is).
    page_url_css = mark_safe(re.sub(r'[\\"<>\n]', "", page_url))  # nosec B308 B703 # noqa: S308
    with translation.override("en"):
        return render_to_string(
            "statements/pdf.html",
            {
                "statement": statement,
                "fonts": {name: path.as_uri() for name, path in pdf_fonts().items()},
                "page_url": page_url,
                "page_url_css": page_url_css,
                "page_url_km": settings.SITE_URL + statement_url(statement, "km"),
                "signatories": list(statement.signatories.all()),
                "sections": sections(statement),
                "kind_km": KIND_KM.get(statement.kind, ""),
            },
        )


def statement_url(statement: Statement, language: str) -> str:
    with translation.override(language):
        return statement.get_absolute_url()


def sections(statement: Statement) -> list[dict[str, object]]:
    """One section per language the statement is written in, Khmer first."""
    result = []
    for language in ("km", "en"):
        title = getattr(statement, f"title_{language}")
        body = getattr(statement, f"body_{language}")
        if not (title.strip() or body.strip()):
            continue
        with translation.override(language):
            date = to_local_digits(date_format(statement.date, "DATE_FORMAT"), language)
        result.append(
            {
                "lang": language,
                "date": date,
                "title": title,
                "summary": getattr(statement, f"summary_{language}"),
                "place": getattr(statement, f"place_{language}"),
                "body": render_markdown(body),
            }
        )
    return result


def render_pdf(statement: Statement) -> bytes:
    pdf = io.BytesIO()
    pdf_write(statement_html(statement), pdf, base_url=str(settings.BASE_DIR))
    return pdf.getvalue()
