"""The petition delivery document: the PDF handed to the petition's target.

The first part (petition text in Khmer and English, the total, counts by
country and by province, the date range) is one WeasyPrint render. The list
of names, when the organiser asks for it and only for signers who agreed to
be shown, is rendered in chunks of a few thousand names and the PDFs are
merged with pypdf: memory stays flat however long the list, and 100,000
names take well under the 90 s the benchmark allows. Three names share a
paragraph: WeasyPrint lays out one long line much faster than many boxes.
Both go through `core.pdf.pdf_write`, so Khmer wraps and copies out as written.

pypdf, like WeasyPrint in `core.pdf`, is imported by the functions that use
it: every web and worker process imports this module at start, and pypdf
cost each about 0.07 s of CPU (measured with -X importtime).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import IO, Any

from django.core.files import File
from django.db.models import Max, Min
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, gettext_noop
from django_countries import countries

from campaigns.models import Campaign
from campaigns.provinces import PROVINCE_CODES, province_name
from core.background import after_commit
from core.pdf import PDF_FONTS_DIR, pdf_font_faces, pdf_write
from organisers.figures import counts_by_country, counts_by_province
from organisers.models import GeneratedFile
from signatures.models import Signature

NAMES_PER_CHUNK = 6_000
NAMES_PER_LINE = 3
DOWNLOAD_HOURS = 72


def _render(html: str, target: IO[bytes], *, word_breaks: bool = True) -> None:
    pdf_write(html, target, base_url=str(PDF_FONTS_DIR), word_breaks=word_breaks)


# The document's languages: one chosen means one printed; "both" prints each
# heading once in each language, Khmer first.
DOCUMENT_LANGUAGES = {"km": ("km",), "en": ("en",), "both": ("km", "en")}

# Headings translated into each printed language, never through the active
# language alone (that printed "ចំនួនហត្ថលេខាសរុប / ចំនួនហត្ថលេខាសរុប").
HEADINGS = {
    "total": gettext_noop("Total signatures"),
    "by_country": gettext_noop("By country of residence"),
    "by_province": gettext_noop("By province of origin"),
    "country": gettext_noop("Country"),
    "province": gettext_noop("Province"),
    "signatures": gettext_noop("Signatures"),
    "names": gettext_noop("Signers who agreed to be named"),
    "names_follow": gettext_noop("The names of the signers who agreed to be shown follow."),
}


# Before the petition's addressee, in each text's own language.
TARGET_LABEL = gettext_noop("To:")


def document_languages(language: str) -> tuple[str, ...]:
    """The languages a document asked for in `language` prints, Khmer first."""
    try:
        return DOCUMENT_LANGUAGES[language]
    except KeyError:
        raise ValueError(f"Unknown document language: {language!r}") from None


def _translated(message: str, language: str) -> str:
    with translation.override(language):
        return gettext(message)


def _in_each(message: str, languages: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(language, _translated(message, language)) for language in languages]


def _country_label(code: str, language: str) -> str:
    # Khmer country names come from our translation catalogue (CLDR).
    with translation.override(language):
        return str(countries.name(code) or code) if code else gettext("Not given")


def _province_label(code: str, language: str) -> str:
    if code in PROVINCE_CODES:
        return province_name(code, language)
    with translation.override(language):
        return code or gettext("Not given")


def _dates(span: dict[str, Any], generated_at: Any, language: str) -> list[str]:
    with translation.override(language):
        lines = []
        if span["first"]:
            lines.append(
                gettext("Signatures collected from %(first)s to %(last)s.")
                % {
                    "first": date_format(timezone.localtime(span["first"]), "j F Y"),
                    "last": date_format(timezone.localtime(span["last"]), "j F Y"),
                }
            )
        lines.append(
            gettext("Document prepared on %(at)s.")
            % {"at": date_format(timezone.localtime(generated_at), "j F Y")}
        )
        return lines


def delivery_context(campaign: Campaign, language: str = "both") -> dict[str, Any]:
    languages = document_languages(language)
    counted = Signature.objects.counted().filter(campaign=campaign)
    span = counted.aggregate(first=Min("created_at"), last=Max("confirmed_at"))
    by_country = counts_by_country(campaign)
    by_province = counts_by_province(campaign)
    generated_at = timezone.now()
    texts = []
    for text_language in languages:
        texts.append(
            {
                "lang": text_language,
                "title": campaign.text("title", text_language).text,
                "target": getattr(campaign, f"target_{text_language}"),
                "target_label": _translated(TARGET_LABEL, text_language),
                "body": getattr(campaign, f"body_{text_language}"),
            }
        )
    return {
        "campaign": campaign,
        "language": language,
        "languages": languages,
        "html_lang": languages[0],
        # Khmer digits in a Khmer document; a bilingual one keeps the digits
        # both kinds of reader know.
        "figures_language": languages[0] if len(languages) == 1 else "en",
        "title": texts[0]["title"],
        "texts": texts,
        "headings": {key: _in_each(message, languages) for key, message in HEADINGS.items()},
        "total": sum(n for _code, _name, n in by_country),
        "by_country": [
            ([(each, _country_label(code, each)) for each in languages], n)
            for code, _name, n in by_country
        ],
        "by_province": [
            ([(each, _province_label(code, each)) for each in languages], n)
            for code, _name, n in by_province
        ],
        "dates": [(each, _dates(span, generated_at, each)) for each in languages],
        "first": span["first"],
        "last": span["last"],
        "generated_at": generated_at,
        # Our own family name and file paths: nothing to escape.
        "font_faces": mark_safe(pdf_font_faces({"khmer": "Noto Sans Khmer"})),  # nosec B308 B703 # noqa: S308
    }


def _names_html(rows: list[tuple[int, str, str]], context: dict[str, Any], first_page: int) -> str:
    lines = []
    for start in range(0, len(rows), NAMES_PER_LINE):
        entries = [
            f"{number}. {escape(name)}" + (f" ({escape(country)})" if country else "")
            for number, name, country in rows[start : start + NAMES_PER_LINE]
        ]
        lines.append("<p>" + " \u2003·\u2003 ".join(entries) + "</p>")
    return render_to_string(
        "organisers/delivery_names.html",
        {**context, "lines_html": "".join(lines), "first_page": first_page},
    )


def delivery_write(
    campaign: Campaign,
    target: IO[bytes],
    *,
    with_names: bool,
    language: str,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the document to `target`; returns how many names it lists.
    `progress` hears the parts done: 1 for the front part, then 1 + names."""
    from pypdf import PdfWriter

    languages = document_languages(language)
    with translation.override(languages[0]):
        context = delivery_context(campaign, language)
        context["with_names"] = with_names
        writer = PdfWriter()
        parts: list[Any] = []
        front = tempfile.TemporaryFile()  # noqa: SIM115 - closed after the merge
        _render(render_to_string("organisers/delivery.html", context), front)
        parts.append(front)
        pages = _page_count(front)  # each part's numbering follows on from the last
        if progress is not None:
            progress(1)
        listed = 0
        if with_names:
            names = (
                Signature.objects.public()
                .filter(campaign=campaign)
                .order_by("confirmed_at", "pk")
                .values_list("full_name", "country")
                .iterator(chunk_size=NAMES_PER_CHUNK)
            )
            chunk: list[tuple[int, str, str]] = []
            labels: dict[str, str] = {}
            for name, country in names:
                listed += 1
                if country not in labels:
                    labels[country] = _country_label(country, languages[0]) if country else ""
                chunk.append((listed, name, labels[country]))
                if len(chunk) >= NAMES_PER_CHUNK:
                    parts.append(_names_part(chunk, context, pages + 1))
                    pages += _page_count(parts[-1])
                    chunk = []
                    if progress is not None:
                        progress(1 + listed)
            if chunk:
                parts.append(_names_part(chunk, context, pages + 1))
            if progress is not None:
                progress(1 + listed)
        for part in parts:
            part.seek(0)
            writer.append(part)
        writer.write(target)
        for part in parts:
            part.close()
    return listed


def _names_part(
    chunk: list[tuple[int, str, str]], context: dict[str, Any], first_page: int
) -> IO[bytes]:
    part = tempfile.TemporaryFile()  # noqa: SIM115 - closed after the merge
    # Names wrap at the spaces between them, and segmenting 100,000 names
    # took 13 s (up to 36 s on a busy box) of the benchmark's 90.
    _render(_names_html(chunk, context, first_page), part, word_breaks=False)
    return part


def _page_count(part: IO[bytes]) -> int:
    from pypdf import PdfReader

    part.seek(0)
    return len(PdfReader(part).pages)


def delivery_start(
    *, campaign: Campaign, with_names: bool, language: str, user: Any
) -> GeneratedFile:
    document_languages(language)  # refuse an unknown language before queueing
    job = GeneratedFile.objects.create(
        kind=GeneratedFile.Kind.DELIVERY_NAMES
        if with_names
        else GeneratedFile.Kind.DELIVERY_COUNTS,
        campaign=campaign,
        created_by=user,
        language=language,
        # Progress: the front part, then each name.
        total=1
        + (Signature.objects.public().filter(campaign=campaign).count() if with_names else 0),
    )
    after_commit("organisers.tasks.delivery_build", job.pk)
    return job


def delivery_build(generated_file_id: int) -> None:
    job = GeneratedFile.objects.select_related("campaign").get(pk=generated_file_id)
    if not job.claim():
        return
    with_names = job.kind == GeneratedFile.Kind.DELIVERY_NAMES
    try:
        with tempfile.TemporaryFile() as handle:
            listed = delivery_write(
                job.campaign,
                handle,
                with_names=with_names,
                language=job.language,
                progress=job.progress,
            )
            handle.seek(0)
            job.mark_ready(
                name=job.download_name,
                content=File(handle),
                rows=listed,
                hours=DOWNLOAD_HOURS,
            )
    except Exception as error:
        job.mark_failed(str(error))
        raise
