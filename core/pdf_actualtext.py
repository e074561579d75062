"""Khmer text that copies out of our PDFs as it was written.

WeasyPrint maps each glyph to one piece of text (its ToUnicode table), so a
Khmer cluster whose glyphs are reordered or shared ("នៃ" drawn as a prefix
glyph and a consonant) extracts wrongly: about 0.89 similarity. PDF readers
honour an /ActualText on a marked-content span instead of the glyph mapping
(poppler, pdf.js, Acrobat), which is what Chromium writes. This module is
WeasyPrint 70's `draw_first_line` (BSD licence, (c) Kozea) with one change:
in a Khmer run every phrase (up to a space) is wrapped in
`/Span <</ActualText (the cluster's text)>> BDC ... EMC`. The zero-width
spaces we insert for line breaking are left out of the actual text, so the
copied text equals the stored text.

`install()` swaps it in when a PDF is rendered (`core.pdf.pdf_write`), never
on import; it refuses a WeasyPrint it was not written for (70.* only: check
this copy against upstream's before changing the pin in pyproject.toml).
"""
# ruff: noqa
# Copied code keeps WeasyPrint's own style so a diff against upstream stays readable.

from bisect import bisect_right
from typing import Any
from io import BytesIO
from xml.etree import ElementTree  # nosec B405 # parses SVG glyphs of our own vendored fonts only

import weasyprint
from PIL import Image
from weasyprint.draw import text as weasyprint_text
from weasyprint.images import RasterImage, SVGImage
from weasyprint.logger import LOGGER
from weasyprint.text.ffi import FROM_UNITS, TO_UNITS, ffi, pango
from weasyprint.text.fonts import get_hb_object_data
from weasyprint.text.line_break import get_last_word_end

SUPPORTED_WEASYPRINT = ("70.",)
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"


def _has_khmer(utf8: bytes) -> bool:
    return any(
        "\u1780" <= char <= "\u17ff" or "\u19e0" <= char <= "\u19ff"
        for char in utf8.decode(errors="ignore")
    )


def _word_starts(utf8: bytes) -> list[int]:
    """Byte offsets where a span starts: after each space.

    Not one span per cluster: poppler places a span's text at the span's
    first glyph, so a subscript drawn with a text rise in a span of its own
    lands on another line. Not one per word (zero-width space) either: a
    span's extent ends with its last glyph's own advance, so a word ending
    in a mark drawn back over its base seems to stop short and poppler puts
    a space before the next word. A span that ends with a space glyph ends
    where the next one starts.
    """
    starts = [0]
    position = 0
    for char in utf8.decode(errors="ignore"):
        position += len(char.encode())
        if char == " " and position < len(utf8):
            starts.append(position)
    return starts


def _actual_text(utf8: bytes) -> bytes:
    text = utf8.decode(errors="ignore")
    for char in INVISIBLE:
        text = text.replace(char, "")
    return b"<</ActualText <FEFF" + text.encode("utf-16-be").hex().upper().encode() + b">>>"


def _flush(stream: Any, string: str) -> str:
    """Show the glyphs gathered so far and start a new glyph list."""
    if string.endswith("<"):
        string = string[:-1]
    else:
        string += ">"
    if string:
        stream.show_text(string)
    return "<"


# WeasyPrint's own, kept to tell whether ours is in place (and for tests).
WEASYPRINT_DRAW_FIRST_LINE = weasyprint_text.draw_first_line


def install() -> bool:
    """Use this `draw_first_line` in WeasyPrint. False if the version is not the one copied.

    Idempotent: a render calls it every time, it swaps once.
    """
    if weasyprint_text.draw_first_line is draw_first_line:
        return True
    if not weasyprint.__version__.startswith(SUPPORTED_WEASYPRINT):
        # Once per process would be enough, but a warning per PDF is what makes
        # an unplanned upgrade visible in the worker log.
        LOGGER.warning(
            "core.pdf_actualtext: WeasyPrint %s not supported; Khmer copies out approximately",
            weasyprint.__version__,
        )
        return False
    weasyprint_text.draw_first_line = draw_first_line
    return True


def draw_first_line(
    stream: Any, textbox: Any, text_overflow: str, block_ellipsis: Any, matrix: Any
) -> list[Any]:  # noqa: C901
    """WeasyPrint 70's `draw_first_line`, with Khmer clusters marked by their ActualText."""
    # Don’t draw lines with only invisible characters.
    if not textbox.text.strip():
        return []

    if textbox.style["font_size"] < 1e-6:  # default float precision used by pydyf
        return []

    pango.pango_layout_set_single_paragraph_mode(textbox.pango_layout.layout, True)

    if text_overflow == "ellipsis" or block_ellipsis != "none":
        assert textbox.pango_layout.max_width is not None
        max_width = textbox.pango_layout.max_width
        pango.pango_layout_set_width(textbox.pango_layout.layout, int(max_width * TO_UNITS))
        if text_overflow == "ellipsis":
            pango.pango_layout_set_ellipsize(textbox.pango_layout.layout, pango.PANGO_ELLIPSIZE_END)
        else:
            if block_ellipsis == "auto":
                ellipsis = "…"
            else:
                assert block_ellipsis[0] == "string"
                ellipsis = block_ellipsis[1]

            # Remove last word if hyphenated.
            new_text = textbox.pango_layout.text
            if new_text.endswith(textbox.style["hyphenate_character"]):
                last_word_end = get_last_word_end(
                    new_text[: -len(textbox.style["hyphenate_character"])], textbox.style["lang"]
                )
                if last_word_end:
                    new_text = new_text[:last_word_end]

            textbox.pango_layout.set_text(new_text + ellipsis)

    first_line, index = textbox.pango_layout.get_first_line()

    if block_ellipsis != "none":
        while index:
            last_word_end = get_last_word_end(
                textbox.pango_layout.text[: -len(ellipsis)], textbox.style["lang"]
            )
            if last_word_end is None:
                break
            new_text = textbox.pango_layout.text[:last_word_end]
            textbox.pango_layout.set_text(new_text + ellipsis)
            first_line, index = textbox.pango_layout.get_first_line()

    stream.set_text_matrix(*matrix.values)
    previous_pango_font = None
    string = ""
    x_advance = 0
    emojis = []
    run = first_line.runs[0]
    while run != ffi.NULL:
        # Get Pango objects.
        glyph_item = run.data
        run = run.next
        glyph_string = glyph_item.glyphs
        glyphs_info = glyph_string.glyphs
        num_glyphs = glyph_string.num_glyphs
        clusters = glyph_string.log_clusters
        utf8_text = None

        pango_font = glyph_item.item.analysis.font
        if pango_font != previous_pango_font:
            # Add font file content and get font size.
            previous_pango_font = pango_font
            font, font_size = stream.add_font(pango_font)

            # Workaround for https://gitlab.gnome.org/GNOME/pango/-/issues/530.
            # This is also needed by raster emoji fonts, see #2800.
            if pango.pango_version() < 14802 or font.png:
                font_size = textbox.style["font_size"]

            # Go through the run glyphs.
            if string:
                stream.show_text(string)
            string = ""
            stream.set_font_size(font.hash, 1 if font.bitmap else font_size)
        string += "<"
        # Sitthi: in a Khmer run, each cluster is its own marked-content span.
        item_offset = glyph_item.item.offset
        item_length = glyph_item.item.length
        full_text = textbox.pango_layout.text.encode()
        khmer_run = not glyph_item.item.analysis.level % 2 and _has_khmer(
            full_text[item_offset : item_offset + item_length]
        )
        open_cluster = None
        if khmer_run:
            word_starts = _word_starts(full_text[item_offset : item_offset + item_length])
        for i, glyph_info in enumerate(glyphs_info[0:num_glyphs]):
            glyph_id = glyph_info.glyph
            if khmer_run:
                word = bisect_right(word_starts, clusters[i]) - 1
                if word != open_cluster:
                    string = _flush(stream, string)
                    if open_cluster is not None:
                        stream.end_marked_content()
                    open_cluster = word
                    start = word_starts[word]
                    end = word_starts[word + 1] if word + 1 < len(word_starts) else item_length
                    stream.begin_marked_content(
                        "Span", _actual_text(full_text[item_offset + start : item_offset + end])
                    )
            width = glyph_info.geometry.width

            # Display zero-width empty glyph.
            if glyph_id == pango.PANGO_GLYPH_EMPTY:
                string += f">{-width / font_size}<"
                continue

            # Display .notdef and log warning for missing glyphs.
            if glyph_id & pango.PANGO_GLYPH_UNKNOWN_FLAG:
                codepoint = glyph_id - pango.PANGO_GLYPH_UNKNOWN_FLAG
                LOGGER.warning(
                    '.notdef glyph rendered for Unicode string unsupported by fonts: "%s" (U+%04X)',
                    chr(codepoint),
                    codepoint,
                )
                glyph_id = font.get_unused_glyph_id(codepoint)
                font.widths[glyph_id] = round(width * 1000 * FROM_UNITS / font_size)
                if 0 not in font.widths:
                    # "width" is actually Pango’s get_approximate_char_width. Force
                    # .notdef’s to use this width, even if it’s not the right, as we
                    # want to keep Pango’s layout for next glyphs.
                    font.widths[0] = font.widths[glyph_id]

            # Create mapping between glyphs and Unicode codepoints.
            if glyph_id not in font.to_unicode:
                # Get positions of the glyph in the UTF-8 string.
                offset = glyph_item.item.offset
                t1 = clusters[i]
                if glyph_item.item.analysis.level % 2:  # rtl
                    t2 = glyph_item.item.length if i == 0 else clusters[i - 1]
                else:
                    t2 = glyph_item.item.length if i == num_glyphs - 1 else clusters[i + 1]
                utf8_text = utf8_text or textbox.pango_layout.text.encode()
                font.to_unicode[glyph_id] = utf8_text[offset + t1 : offset + t2].decode()

            # Set horizontal and vertical offsets.
            offset = glyph_info.geometry.x_offset / font_size
            rise = glyph_info.geometry.y_offset / 1000
            if rise:
                if string[-1] == "<":
                    string = string[:-1]
                else:
                    string += ">"
                if string:
                    stream.show_text(string)
                stream.set_text_rise(-rise)
                string = ""
                if offset:
                    string = f"{-offset}"
                string += f"<{glyph_id:02x}>" if font.bitmap else f"<{glyph_id:04x}>"
                stream.show_text(string)
                stream.set_text_rise(0)
                string = "<"
            else:
                if offset:
                    string += f">{-offset}<"
                string += f"{glyph_id:02x}" if font.bitmap else f"{glyph_id:04x}"

            # Get glyph logical widths.
            if glyph_id in font.widths:
                logical_width = font.widths[glyph_id]
            else:
                pango.pango_font_get_glyph_extents(
                    pango_font, glyph_id, stream.ink_rect, stream.logical_rect
                )
                logical_width = font.widths[glyph_id] = round(
                    stream.logical_rect.width * 1000 * FROM_UNITS / font_size
                )

            # Set kerning, word spacing, letter spacing.
            kerning = logical_width + offset - width * 1000 * FROM_UNITS / font_size
            if kerning:
                string += f">{int(kerning)}<"

            # Create list of emojis.
            if font.svg:
                svg_data = get_hb_object_data(font.hb_face, "svg", glyph_id)
                if svg_data:
                    # Do as explained in specification
                    # https://learn.microsoft.com/typography/opentype/spec/svg
                    tree = ElementTree.fromstring(svg_data)  # nosec B314 # SVG glyphs of our own vendored fonts
                    if tree.get("id") != f"glyph{glyph_id}":
                        defs = ElementTree.Element("defs")
                        for child in list(tree):
                            defs.append(child)
                            tree.remove(child)
                        tree.append(defs)
                        ElementTree.SubElement(tree, "use", attrib={"href": f"#glyph{glyph_id}"})
                    if "viewBox" not in tree.attrib:
                        tree.attrib["viewBox"] = f"0 0 {font.upem} {font.upem}"
                    image = SVGImage(tree, None, None, None)
                    a = d = 1
                    emojis.append([image, font, a, d, x_advance, 0])
            elif font.png:
                png_data = get_hb_object_data(font.hb_font, "png", glyph_id)
                if png_data:
                    pillow_image = Image.open(BytesIO(png_data))
                    image_id = f"{font.hash}{glyph_id}"
                    image = RasterImage(pillow_image, image_id, png_data)
                    d = logical_width / 1000
                    a = pillow_image.width / pillow_image.height * d
                    pango.pango_font_get_glyph_extents(
                        pango_font, glyph_id, stream.ink_rect, stream.logical_rect
                    )
                    f = -stream.logical_rect.y
                    f = f * FROM_UNITS / font_size - font_size
                    emojis.append([image, font, a, d, x_advance, f])
            elif font.colr:
                svg_data = get_hb_object_data(font.hb_font, "colr", glyph_id)
                if svg_data:
                    tree = ElementTree.fromstring(svg_data)  # nosec B314 # SVG glyphs of our own vendored fonts
                    image = SVGImage(tree, None, None, None)
                    a = d = 1
                    e = x_advance - kerning
                    emojis.append([image, font, a, d, e, -textbox.baseline])

            x_advance += (logical_width + offset - kerning) / 1000

        # Close the last glyphs list, remove if empty.
        if string[-1] == "<":
            string = string[:-1]
        else:
            string += ">"
        if khmer_run and open_cluster is not None:
            if string:
                stream.show_text(string)
            string = ""
            stream.end_marked_content()

    # Draw text.
    if string:
        stream.show_text(string)

    return emojis
