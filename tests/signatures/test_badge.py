"""The count as an SVG badge, for pages that cannot frame the widget: valid
SVG, kept a minute by caches, its Khmer drawn from the self-hosted font as
HarfBuzz shapes it."""

import ctypes
import ctypes.util
import io
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from django.test import Client
from fontTools.ttLib import TTFont

from campaigns.models import Campaign
from signatures import badges, views
from tests.factories import make_campaign, make_signature

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"


def _badge(client: Client, lang: str, slug: str) -> ET.Element:
    response = client.get(f"/{lang}/campaigns/{slug}/badge.svg")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    return ET.fromstring(response.content)  # noqa: S314 - our own test server's answer


@pytest.mark.django_db
def test_badge_in_khmer_says_the_count_in_khmer_digits(client: Client, campaign: Campaign) -> None:
    for _ in range(3):
        make_signature(campaign)
    svg = _badge(client, "km", campaign.slug)
    assert svg.tag == f"{SVG}svg"
    assert svg.get("role") == "img"
    assert svg.findtext(f"{SVG}title") == "សិទ្ធិ: ហត្ថលេខា ៣"
    assert svg.get("aria-label") == "សិទ្ធិ: ហត្ថលេខា ៣"


@pytest.mark.django_db
def test_badge_in_english_says_the_count(client: Client, campaign: Campaign) -> None:
    make_signature(campaign)
    assert _badge(client, "en", campaign.slug).findtext(f"{SVG}title") == "Sitthi: 1 signature"
    make_signature(campaign)
    views.tallies.figures_forget(campaign)
    assert _badge(client, "en", campaign.slug).findtext(f"{SVG}title") == "Sitthi: 2 signatures"


def test_large_counts_are_grouped_in_the_badge() -> None:
    from django.utils import translation

    with translation.override("km"):
        assert badges.badge_context(1234567, "km")["figure"]["text"] == "ហត្ថលេខា ១,២៣៤,៥៦៧"
    with translation.override("en"):
        assert badges.badge_context(1234567, "en")["figure"]["text"] == "1,234,567 signatures"


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["km", "en"])
def test_badge_draws_every_glyph_it_uses_and_needs_no_font(
    client: Client, campaign: Campaign, lang: str
) -> None:
    svg = _badge(client, lang, campaign.slug)
    outlines = {path.get("id"): path.get("d") for path in svg.iter(f"{SVG}path")}
    used = [use.get(f"{XLINK}href", "")[1:] for use in svg.iter(f"{SVG}use")]
    assert used and set(used) <= set(outlines)
    assert ".notdef" not in outlines  # the font's box for a character it lacks
    assert all(outlines[name] for name in used if name != "space")
    # No text for the reader's fonts to draw (or to draw as boxes).
    assert list(svg.iter(f"{SVG}text")) == []
    assert svg.find(f".//{SVG}style") is None


@pytest.mark.django_db
def test_badge_may_be_shown_by_other_sites_and_kept_a_minute(
    client: Client, campaign: Campaign
) -> None:
    response = client.get(f"/km/campaigns/{campaign.slug}/badge.svg")
    assert response["Cache-Control"] == "public, max-age=60"
    assert response["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert response.cookies == {}
    assert len(response.content) < 10 * 1024


@pytest.mark.django_db
def test_badge_of_a_draft_or_an_unknown_campaign_is_not_found(client: Client) -> None:
    draft = make_campaign(slug="not-yet", status=Campaign.Status.DRAFT)
    assert client.get(f"/en/campaigns/{draft.slug}/badge.svg").status_code == 404
    assert client.get("/en/campaigns/no-such-campaign/badge.svg").status_code == 404


def test_a_khmer_word_nobody_shaped_is_refused_rather_than_drawn_wrong() -> None:
    with pytest.raises(ValueError, match="needs shaping"):
        badges.badge_line("ញត្តិ", 0)


# --- The stored shaping is HarfBuzz's --------------------------------------------


class _GlyphInfo(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint32) for name in ("codepoint", "mask", "cluster", "v1", "v2")]


class _GlyphPosition(ctypes.Structure):
    _fields_ = [
        *((name, ctypes.c_int32) for name in ("x_advance", "y_advance", "x_offset", "y_offset")),
        ("var", ctypes.c_uint32),
    ]


def _harfbuzz_shaping(font_path: Any, text: str) -> tuple[tuple[str, int, int, int], ...]:
    """`text` shaped by the system's HarfBuzz (the library Pango and
    Chromium use) in the font: (glyph, advance, x offset, y offset)."""
    library = ctypes.util.find_library("harfbuzz")
    if library is None:
        pytest.skip("libharfbuzz is not installed")
    harfbuzz = ctypes.CDLL(library)
    pointer = ctypes.c_void_p
    harfbuzz.hb_blob_create.restype = pointer
    harfbuzz.hb_blob_create.argtypes = [
        ctypes.c_char_p,
        ctypes.c_uint,
        ctypes.c_int,
        pointer,
        pointer,
    ]
    harfbuzz.hb_face_create.restype = pointer
    harfbuzz.hb_face_create.argtypes = [pointer, ctypes.c_uint]
    harfbuzz.hb_font_create.restype = pointer
    harfbuzz.hb_font_create.argtypes = [pointer]
    harfbuzz.hb_buffer_create.restype = pointer
    harfbuzz.hb_buffer_add_utf8.argtypes = [
        pointer,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_int,
    ]
    harfbuzz.hb_buffer_guess_segment_properties.argtypes = [pointer]
    harfbuzz.hb_shape.argtypes = [pointer, pointer, pointer, ctypes.c_uint]
    harfbuzz.hb_buffer_get_glyph_infos.restype = ctypes.POINTER(_GlyphInfo)
    harfbuzz.hb_buffer_get_glyph_infos.argtypes = [pointer, ctypes.POINTER(ctypes.c_uint)]
    harfbuzz.hb_buffer_get_glyph_positions.restype = ctypes.POINTER(_GlyphPosition)
    harfbuzz.hb_buffer_get_glyph_positions.argtypes = [pointer, ctypes.POINTER(ctypes.c_uint)]
    for destroy in ("hb_buffer_destroy", "hb_font_destroy", "hb_face_destroy", "hb_blob_destroy"):
        getattr(harfbuzz, destroy).argtypes = [pointer]

    font = TTFont(font_path)
    font.flavor = None  # HarfBuzz reads TrueType, not WOFF2
    data = io.BytesIO()
    font.save(data)
    raw_font = data.getvalue()
    blob = harfbuzz.hb_blob_create(raw_font, len(raw_font), 1, None, None)  # 1: read-only
    face = harfbuzz.hb_face_create(blob, 0)
    hb_font = harfbuzz.hb_font_create(face)
    buffer = harfbuzz.hb_buffer_create()
    encoded = text.encode()
    harfbuzz.hb_buffer_add_utf8(buffer, encoded, len(encoded), 0, len(encoded))
    harfbuzz.hb_buffer_guess_segment_properties(buffer)
    harfbuzz.hb_shape(hb_font, buffer, None, 0)
    length = ctypes.c_uint()
    infos = harfbuzz.hb_buffer_get_glyph_infos(buffer, ctypes.byref(length))
    positions = harfbuzz.hb_buffer_get_glyph_positions(buffer, ctypes.byref(length))
    glyph_order = font.getGlyphOrder()
    shaped = tuple(
        (
            glyph_order[infos[index].codepoint],
            positions[index].x_advance,
            positions[index].x_offset,
            positions[index].y_offset,
        )
        for index in range(length.value)
    )
    harfbuzz.hb_buffer_destroy(buffer)
    harfbuzz.hb_font_destroy(hb_font)
    harfbuzz.hb_face_destroy(face)
    harfbuzz.hb_blob_destroy(blob)
    return shaped


@pytest.mark.parametrize("word", sorted(badges.BADGE_SHAPED_WORDS))
def test_badge_khmer_words_are_drawn_as_harfbuzz_shapes_them(word: str) -> None:
    assert badges.BADGE_SHAPED_WORDS[word] == _harfbuzz_shaping(badges.BADGE_FONT, word)


def test_badge_words_are_the_shaped_ones() -> None:
    khmer = badges.BADGE_WORDS["km"]
    assert khmer["site"] in badges.BADGE_SHAPED_WORDS
    assert khmer["many"].replace(" {count}", "") in badges.BADGE_SHAPED_WORDS
