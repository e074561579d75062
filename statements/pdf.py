"""A statement as an A4 PDF: letterhead, Khmer text, English text, signatories.

Khmer line breaking and exact copying out are `core.pdf`'s: `pdf_write`
segments the Khmer words and marks each phrase with its real text.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.formats import date_format
from django.utils.safestring import mark_safe

from core.markup import render_markdown
from core.pdf import pdf_font_faces, pdf_write
from core.templatetags.sitthi import to_local_digits

if TYPE_CHECKING:
    from statements.models import Statement

# The letterhead prints both languages at once, whatever the reader's language.
KIND_KM = {
    "press_release": "សេចក្តីប្រកាសព័ត៌មាន",
    "public_statement": "សេចក្តីថ្លែងការណ៍ជាសាធារណៈ",
    "news": "ព័ត៌មាន",
}


# `Statement.pdf` holds the English-language file; each other language's file
# (the same text, its own language's URL in the footer) is stored beside it
# under a derived name, so a reader on /km/ gets the /km/ address to go back to.
PRIMARY_LANGUAGE = "en"
OTHER_LANGUAGES = ("km",)


def statement_html(statement: Statement, language: str = PRIMARY_LANGUAGE) -> str:
    """The HTML WeasyPrint lays out: letterhead, Khmer text, English text,
    signatories, and in the footer the page's address in `language`."""
    page_url = settings.SITE_URL + statement_url(statement, language)
    # For a CSS string in <style> (raw text: HTML escaping would show as is).
    page_url_css = mark_safe(re.sub(r'[\\"<>\n]', "", page_url))  # nosec B308 B703 # noqa: S308
    with translation.override("en"):
        return render_to_string(
            "statements/pdf.html",
            {
                "statement": statement,
                # Our own family names and file paths: nothing to escape.
                "font_faces": mark_safe(  # nosec B308 B703 # noqa: S308
                    pdf_font_faces({"khmer": "Sitthi Khmer", "latin": "Sitthi Latin"})
                ),
                "page_url": page_url,
                "page_url_css": page_url_css,
                "page_url_en": settings.SITE_URL + statement_url(statement, "en"),
                "page_url_km": settings.SITE_URL + statement_url(statement, "km"),
                "language": language,
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


def render_pdf(statement: Statement, language: str = PRIMARY_LANGUAGE) -> bytes:
    pdf = io.BytesIO()
    pdf_write(statement_html(statement, language), pdf, base_url=str(settings.BASE_DIR))
    return pdf.getvalue()


# --- One file per language ---------------------------------------------------


def render_language_copies(statement: Statement) -> dict[str, bytes]:
    """The PDF in each language other than the primary one."""
    return {language: render_pdf(statement, language) for language in OTHER_LANGUAGES}


def language_file_name(primary_name: str, language: str) -> str:
    """`statements/pdf/x_Ab12.pdf` -> `statements/pdf/x_Ab12.km.pdf`: tied to
    the primary file, so a new render never serves an old copy."""
    if language == PRIMARY_LANGUAGE:
        return primary_name
    stem = primary_name[:-4] if primary_name.endswith(".pdf") else primary_name
    return f"{stem}.{language}.pdf"


def language_copies_store(statement: Statement, copies: dict[str, bytes]) -> None:
    """Store the copies beside the primary file just saved in `statement.pdf`."""
    storage = statement.pdf.storage
    for language, content in copies.items():
        name = language_file_name(statement.pdf.name or "", language)
        if storage.exists(name):
            storage.delete(name)
        stored = storage.save(name, ContentFile(content))
        if stored != name:  # a storage that renames would break the link
            storage.delete(stored)
            raise RuntimeError(f"storage stored {name} as {stored}")


def language_files_delete(storage: Storage, primary_name: str) -> None:
    """Delete a primary file and its copies (a render replaced them)."""
    for language in (PRIMARY_LANGUAGE, *OTHER_LANGUAGES):
        storage.delete(language_file_name(primary_name, language))


def language_file(statement: Statement, language: str) -> str | None:
    """The stored name of the PDF a reader in `language` gets: its own
    language's file, else (rendered before there were copies, until the next
    render) the primary one. None when there is no PDF."""
    if not statement.pdf:
        return None
    primary = statement.pdf.name or ""
    name = language_file_name(primary, language)
    if name != primary and statement.pdf.storage.exists(name):
        return name
    return primary


def language_file_size(statement: Statement, language: str) -> int | None:
    """Bytes of the PDF a reader in `language` downloads, None if there is none."""
    name = language_file(statement, language)
    if name is None:
        return None
    try:
        return int(statement.pdf.storage.size(name))
    except (FileNotFoundError, OSError):
        return None
