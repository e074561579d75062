"""The count as an SVG badge, its text drawn as the self-hosted font's glyph
outlines (signatures.views.badge serves it).

An SVG shown as an image loads no font, and few readers have a Khmer one,
so nothing here is typeset by the reader's machine.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from django.conf import settings
from fontTools.pens.svgPathPen import SVGPathPen
from fontTools.ttLib import TTFont

from core.templatetags.sitthi import digits

# Khmer needs shaping (subscripts, vowels drawn before their consonant), so
# its two words are stored as HarfBuzz shaped them in this font: (glyph,
# advance, x offset, y offset) in font units. tests/signatures/test_badge.py
# shapes them again and fails if the font or the words change. Digits,
# separators and Latin letters need no shaping: one glyph each.
BADGE_FONT = settings.BASE_DIR / "static" / "fonts" / "NotoSansKhmer.woff2"
BADGE_SHAPED_WORDS: dict[str, tuple[tuple[str, int, int, int], ...]] = {
    "សិទ្ធិ": (
        ("uni179F", 928, 0, 0),
        ("uni17B7", 0, -32, -29),
        ("uni1791", 599, 0, 0),
        ("uni17D21792", 0, 17, -26),
        ("uni17B7", 0, -10, -29),
    ),
    "ហត្ថលេខា": (
        ("uni17A0", 928, 0, 0),
        ("uni178F", 635, 0, 0),
        ("uni17D21790", 0, 15, -26),
        ("uni17C1", 288, 0, 0),
        ("uni179B", 928, 0, 0),
        ("uni178117B6", 923, 0, 0),
    ),
}
# The badge's words are not in locale/: they are drawn, not typeset.
BADGE_WORDS = {
    "km": {"site": "សិទ្ធិ", "one": "ហត្ថលេខា {count}", "many": "ហត្ថលេខា {count}"},
    "en": {"site": "Sitthi", "one": "{count} signature", "many": "{count} signatures"},
}
BADGE_FONT_PX = 12
BADGE_HEIGHT_PX = 24
BADGE_BASELINE_PX = 16
BADGE_PADDING_PX = 7
KHMER_LETTERS = re.compile("[\u1780-\u17dd]")


@functools.cache
def _badge_font() -> TTFont:
    return TTFont(BADGE_FONT)


@functools.cache
def _glyph_outline(name: str) -> str:
    """The glyph's outline as SVG path data, in font units (y up)."""
    glyphs = _badge_font().getGlyphSet()
    pen = SVGPathPen(glyphs, ntos=lambda number: f"{number:g}")
    glyphs[name].draw(pen)
    return str(pen.getCommands())


def _glyph_run(text: str) -> list[tuple[str, int, int, int]]:
    font = _badge_font()
    cmap, metrics = font.getBestCmap(), font["hmtx"]
    run: list[tuple[str, int, int, int]] = []
    for part in re.split("(" + "|".join(BADGE_SHAPED_WORDS) + ")", text):
        if part in BADGE_SHAPED_WORDS:
            run.extend(BADGE_SHAPED_WORDS[part])
            continue
        if KHMER_LETTERS.search(part):
            raise ValueError(f"{part!r} needs shaping: add it to BADGE_SHAPED_WORDS")
        run.extend((cmap[ord(char)], metrics[cmap[ord(char)]][0], 0, 0) for char in part)
    return run


def badge_line(text: str, left: float) -> dict[str, Any]:
    """`text` placed at `left` px: its glyphs (name, x, y in font units)
    and its width in px."""
    scale = BADGE_FONT_PX / _badge_font()["head"].unitsPerEm
    glyphs, x = [], 0
    for name, advance, x_offset, y_offset in _glyph_run(text):
        glyphs.append({"id": name, "x": x + x_offset, "y": y_offset})
        x += advance
    return {
        "text": text,
        "glyphs": glyphs,
        "width": round(x * scale + 2 * BADGE_PADDING_PX, 1),
        "transform": f"translate({left + BADGE_PADDING_PX} {BADGE_BASELINE_PX}) "
        f"scale({scale} -{scale})",
    }


def badge_context(count: int, language: str) -> dict[str, Any]:
    words = BADGE_WORDS.get(language, BADGE_WORDS["en"])
    site = badge_line(words["site"], 0)
    template = words["one"] if count == 1 else words["many"]
    figure = badge_line(template.format(count=digits(count)), site["width"])
    used = {glyph["id"] for line in (site, figure) for glyph in line["glyphs"]}
    return {
        "site": site,
        "figure": figure,
        "outlines": {name: _glyph_outline(name) for name in sorted(used)},
        "width": round(site["width"] + figure["width"], 1),
        "height": BADGE_HEIGHT_PX,
        "language": language,
    }
