"""PDFs with Khmer that wraps and copies out as it was written.

Every PDF we make goes through `pdf_write`, which does two things WeasyPrint
does not do on its own for Khmer:

- line breaks: Pango finds no break opportunity inside a run of Khmer, so a
  paragraph would run off the page. `khmer_word_breaks` puts a zero-width
  space between words (khmercut) in the HTML handed to WeasyPrint; the stored
  text never holds one;
- copying out: WeasyPrint maps each glyph to a piece of text, which garbles
  reordered clusters ("នៃ" comes out "នេ"). `pdf_actualtext` marks each Khmer
  phrase with its real text; it is switched on by the first render, not by
  importing anything, and only on the WeasyPrint version it was copied from.

Plain Python: no Django, no project app. WeasyPrint and khmercut are
imported by the functions that use them, on purpose: a web process that
never renders a PDF does not pay their memory and start-up time. The fonts
are static files of our own (`pdf_font_faces`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import IO

KHMER_RUN = re.compile(r"[\u1780-\u17ff\u19e0-\u19ff]+")
# A comment, a tag (a quoted attribute may hold ">"), or text up to the next "<".
MARKUP_OR_TEXT = re.compile(r"""(<!--.*?-->|<(?:[^>"']|"[^"]*"|'[^']*')*>)|([^<]+)""", re.DOTALL)
WORD_BREAK = "\u200b"


@cache
def _tokenize() -> Callable[[str], list[str]]:
    # Loading the segmenter's model takes a while: once, and only when needed.
    import khmercut

    return khmercut.tokenize  # type: ignore[no-any-return]


def _khmer_words(text: str) -> str:
    tokenize = _tokenize()
    return KHMER_RUN.sub(lambda run: WORD_BREAK.join(tokenize(run.group(0))), text)


def khmer_word_breaks(html: str) -> str:
    """`html` with U+200B between Khmer words, in the body's text only.

    Never inside a tag or an attribute (a URL or a class must stay as written),
    and not in <head>: the title becomes the PDF's metadata.
    """
    head, separator, body = html.partition("<body")
    if not separator:
        head, body = "", html

    def text_only(match: re.Match[str]) -> str:
        markup, text = match.groups()
        return markup if markup is not None else _khmer_words(text)

    return head + separator + MARKUP_OR_TEXT.sub(text_only, body)


# The fonts our PDFs embed (OFL-1.1, their licences beside them): static
# instances of Noto Sans Khmer (Latin letters too) and Noto Sans (for longer
# English text), made by core.pdf_fonts_make from the variable fonts of
# their fontpkg packages. Variable fonts cost WeasyPrint an instancing per
# font and PDF, 60% of a statement's rendering time.
PDF_FONTS_DIR = Path(__file__).resolve().parent / "pdf_fonts"
PDF_FONT_WEIGHTS = (400, 600, 700)  # every weight the PDF templates ask for
SOURCES_FILE = "sources.json"
# face: (file name stem, CSS font-style)
FACES = {
    "khmer": ("NotoSansKhmer", "normal"),
    "latin": ("NotoSans", "normal"),
    "latin_italic": ("NotoSans-Italic", "italic"),
}


def instance_name(face: str, weight: int) -> str:
    return f"{FACES[face][0]}-{weight}.ttf"


def pdf_font_faces(families: dict[str, str]) -> str:
    """The @font-face rules for `families` ({"khmer": CSS family name,
    "latin": ...}; "latin" brings its italic): one rule per weight and
    style, so that no weight is synthesised."""
    rules = []
    for face, (_stem, style) in FACES.items():
        family = families.get(face.removesuffix("_italic"))
        if family is None:
            continue
        for weight in PDF_FONT_WEIGHTS:
            url = (PDF_FONTS_DIR / instance_name(face, weight)).as_uri()
            rules.append(
                f'@font-face {{ font-family: "{family}"; src: url("{url}");'
                f" font-weight: {weight}; font-style: {style}; }}"
            )
    return "\n".join(rules)


def install() -> bool:
    """Switch on what our PDFs need in WeasyPrint. Idempotent: every render calls it.

    True when Khmer will copy out exactly (the ActualText drawing is in place).
    """
    from core import pdf_actualtext

    # fontTools logs every variable-font instancing step at INFO, WeasyPrint
    # every rendering step: noise in the worker log.
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    return pdf_actualtext.install()


def pdf_write(
    html: str, target: str | Path | IO[bytes], *, base_url: str, word_breaks: bool = True
) -> None:
    """Render `html` to a PDF in `target` (a path or a binary file).

    `word_breaks=False` skips the Khmer segmentation, for text that already
    breaks at spaces and is long enough for its cost to matter (a list of
    names: 13 s for 100,000 names, measured on a 2-core box).
    """
    import weasyprint

    install()
    if word_breaks:
        html = khmer_word_breaks(html)
    weasyprint.HTML(string=html, base_url=base_url).write_pdf(target)
