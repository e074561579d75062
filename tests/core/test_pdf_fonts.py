"""The static fonts our PDFs embed: made from the installed variable fonts,
static, one per weight the templates ask for, and all declared."""

import json
import re
from pathlib import Path

from fontTools.ttLib import TTFont

from core.pdf import (
    FACES,
    PDF_FONT_WEIGHTS,
    PDF_FONTS_DIR,
    SOURCES_FILE,
    instance_name,
    pdf_font_faces,
)
from core.pdf_fonts_make import sources_described

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
PDF_TEMPLATES = [
    TEMPLATES / "statements" / "pdf.html",
    TEMPLATES / "organisers" / "_pdf_style.html",
]
NAMED_WEIGHTS = {"normal": 400, "bold": 700}


def test_the_instances_were_made_from_the_installed_fonts() -> None:
    # Failing after a fontpkg upgrade: run `make pdf-fonts` and commit.
    kept = json.loads((PDF_FONTS_DIR / SOURCES_FILE).read_text())
    assert kept == sources_described()


def test_each_instance_is_static_and_of_its_weight() -> None:
    for face in FACES:
        for weight in PDF_FONT_WEIGHTS:
            font = TTFont(PDF_FONTS_DIR / instance_name(face, weight), lazy=True)
            assert "fvar" not in font and "gvar" not in font, (face, weight)
            assert font["OS/2"].usWeightClass == weight, (face, weight)


def test_every_weight_a_pdf_template_asks_for_has_its_instance() -> None:
    asked = set()
    for template in PDF_TEMPLATES:
        for value in re.findall(r"font-weight:\s*([\w]+)", template.read_text()):
            asked.add(NAMED_WEIGHTS.get(value) or int(value))
    assert asked and asked <= set(PDF_FONT_WEIGHTS), asked


def test_the_rules_name_every_weight_and_style_of_the_families_asked_for() -> None:
    rules = pdf_font_faces({"khmer": "K", "latin": "L"}).splitlines()
    assert len(rules) == 3 * len(PDF_FONT_WEIGHTS)
    for rule in rules:
        path = Path(re.search(r'url\("file://([^"]+)"\)', rule).group(1))  # type: ignore[union-attr]
        assert path.is_file(), rule
    assert sum('font-family: "L"' in rule and "italic" in rule for rule in rules) == 3
    assert pdf_font_faces({"khmer": "K"}).count("@font-face") == len(PDF_FONT_WEIGHTS)
    assert "NotoSans-" not in pdf_font_faces({"khmer": "K"})
