"""A statement as an A4 PDF, with Khmer that wraps and copies out correctly.

WeasyPrint finds no line break inside a run of Khmer, so the HTML handed to it
gets a zero-width space between words (khmercut) at render time; the stored
text never holds one. `pdf_text` marks each Khmer cluster with its real text,
so text copied out of the PDF equals the source.
"""

from __future__ import annotations

import logging
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import fontpkg_noto_sans
import fontpkg_noto_sans_khmer
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import mark_safe

from statements import pdf_text

if TYPE_CHECKING:
    from statements.models import Statement

KHMER_RUN = re.compile(r"[\u1780-\u17ff\u19e0-\u19ff]+")
TEXT_BETWEEN_TAGS = re.compile(r">([^<]+)<")
WORD_BREAK = "\u200b"
# The letterhead prints both languages at once, whatever the reader's language.
KIND_KM = {
    "press_release": "សេចក្តីប្រកាសព័ត៌មាន",
    "public_statement": "សេចក្តីថ្លែងការណ៍ជាសាធារណៈ",
    "news": "ព័ត៌មាន",
}

pdf_text.install()
# fontTools logs every variable-font instancing step at INFO: noise in the worker log.
logging.getLogger("fontTools").setLevel(logging.WARNING)
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


@cache
def _tokenize() -> object:
    import khmercut

    return khmercut.tokenize


def khmer_words(text: str) -> str:
    """Khmer runs of `text` with U+200B between words (for line breaking only)."""
    tokenize = _tokenize()

    def split(match: re.Match[str]) -> str:
        return WORD_BREAK.join(tokenize(match.group(0)))  # type: ignore[operator]

    return KHMER_RUN.sub(split, text)


def with_word_breaks(html: str) -> str:
    """Insert Khmer word breaks into the text of `html`'s body, never inside a tag.

    Not in <head>: the title becomes the PDF's metadata and must stay as written.
    """
    head, separator, body = html.partition("<body")
    if not separator:
        head, body = "", html
    body = TEXT_BETWEEN_TAGS.sub(lambda match: ">" + khmer_words(match.group(1)) + "<", body)
    return head + separator + body


@cache
def font_files() -> dict[str, Path]:
    """The embedded fonts (OFL-1.1, shipped by their PyPI packages with the licence)."""
    khmer = fontpkg_noto_sans_khmer.ROOT / "files"
    latin = Path(fontpkg_noto_sans.__file__).resolve().parent / "files"
    return {
        "khmer": next(khmer.glob("NotoSansKhmer*.ttf")),
        "latin": next(p for p in latin.glob("NotoSans*.ttf") if "Italic" not in p.name),
        "latin_italic": next(latin.glob("NotoSans-Italic*.ttf")),
    }


def statement_html(statement: Statement) -> str:
    """The HTML WeasyPrint lays out: letterhead, Khmer text, English text, signatories."""
    page_url = settings.SITE_URL + statement_url(statement, "en")
    # For a CSS string in <style> (raw text: HTML escaping would show as is).
    page_url_css = mark_safe(re.sub(r'[\\"<>\n]', "", page_url))  # nosec B308 B703 # noqa: S308
    with translation.override("en"):
        html = render_to_string(
            "statements/pdf.html",
            {
                "statement": statement,
                "fonts": {name: path.as_uri() for name, path in font_files().items()},
                "page_url": page_url,
                "page_url_css": page_url_css,
                "page_url_km": settings.SITE_URL + statement_url(statement, "km"),
                "signatories": list(statement.signatories.all()),
                "sections": sections(statement),
                "kind_km": KIND_KM.get(statement.kind, ""),
            },
        )
    return with_word_breaks(html)


def statement_url(statement: Statement, language: str) -> str:
    with translation.override(language):
        return statement.get_absolute_url()


def sections(statement: Statement) -> list[dict[str, object]]:
    """One section per language the statement is written in, Khmer first."""
    from django.utils.formats import date_format

    from core.markup import render_markdown
    from core.templatetags.sitthi import to_local_digits

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
    import weasyprint

    html = statement_html(statement)
    document = weasyprint.HTML(string=html, base_url=str(settings.BASE_DIR))
    return document.write_pdf(pdf_variant=None, uncompressed_pdf=False)  # type: ignore[no-any-return]
