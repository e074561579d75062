"""core.pdf: Khmer word breaks go into text only, and WeasyPrint is changed by
rendering a PDF, never by importing a module."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import weasyprint
from weasyprint.draw import text as weasyprint_text

from core import pdf_actualtext
from core.pdf import WORD_BREAK, install, khmer_word_breaks

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def test_word_breaks_go_between_khmer_words_in_text_only() -> None:
    html = (
        '<html><head><title>សិទ្ធិបោះឆ្នោត</title></head><body class="ខ្មែរ">'
        '<a href="/km/សិទ្ធិបោះឆ្នោត/" title="a > សិទ្ធិបោះឆ្នោត">សិទ្ធិបោះឆ្នោត</a>'
        "<!-- សិទ្ធិបោះឆ្នោត --></body></html>"
    )
    broken = khmer_word_breaks(html)
    assert f">សិទ្ធិ{WORD_BREAK}បោះឆ្នោត</a>" in broken
    assert broken.replace(f"សិទ្ធិ{WORD_BREAK}បោះឆ្នោត</a>", "សិទ្ធិបោះឆ្នោត</a>") == html


# Runs in a fresh interpreter: in this one, an earlier test may have rendered.
IMPORTING_DOES_NOT_PATCH = """
import io, logging
import weasyprint.draw.text as weasyprint_text
own = weasyprint_text.draw_first_line
font_tools_level = logging.getLogger("fontTools").level
import django
django.setup()
import core.pdf, organisers.delivery, statements.pdf
assert weasyprint_text.draw_first_line is own, "importing patched WeasyPrint"
assert logging.getLogger("fontTools").level == font_tools_level, "importing set log levels"
core.pdf.pdf_write('<p lang="km">សិទ្ធិបោះឆ្នោត</p>', io.BytesIO(), base_url=".")
from core import pdf_actualtext
assert weasyprint_text.draw_first_line is pdf_actualtext.draw_first_line, "rendering did not"
print("ok")
"""


def test_importing_the_pdf_modules_leaves_weasyprint_alone_and_rendering_switches_it_on() -> None:
    result = subprocess.run(
        [sys.executable, "-c", IMPORTING_DOES_NOT_PATCH],
        cwd=BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]


def test_another_weasyprint_version_keeps_weasyprints_own_drawing_and_warns(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(
        weasyprint_text, "draw_first_line", pdf_actualtext.WEASYPRINT_DRAW_FIRST_LINE
    )
    monkeypatch.setattr(weasyprint, "__version__", "71.0")
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        assert install() is False
    assert weasyprint_text.draw_first_line is pdf_actualtext.WEASYPRINT_DRAW_FIRST_LINE
    assert "WeasyPrint 71.0 not supported" in caplog.text
