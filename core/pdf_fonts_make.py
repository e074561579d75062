"""Make `core/pdf_fonts/`: the static instances our PDFs embed.

Noto Sans and Noto Sans Khmer come (fontpkg packages on PyPI) as variable
fonts, and a PDF holds only static ones: WeasyPrint instantiated them anew
for every PDF, with fontTools, which was 60% of a statement's rendering
time (0.29 s a copy against 0.12 s with static files, measured). Making
the instances takes about a minute of CPU, so they are made once, here,
and committed with their licences; `sources.json` names the files they
were made from, and a test fails when the installed fonts differ from it
(after upgrading a fontpkg package: `make pdf-fonts`, and commit).

The instancing is WeasyPrint's own: each weight the templates use, other
axes (Noto Sans's width) pinned to their defaults.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from importlib import metadata
from pathlib import Path

from fontTools.ttLib import TTFont
from fontTools.varLib.instancer import instantiateVariableFont

from core.pdf import FACES, PDF_FONT_WEIGHTS, PDF_FONTS_DIR, SOURCES_FILE, instance_name

# The fontpkg packages, and which of their files each face comes from.
PACKAGES = {"khmer": "fontpkg-noto-sans-khmer", "latin": "fontpkg-noto-sans"}


def variable_sources() -> dict[str, Path]:
    """The variable fonts the instances are made from, by face."""
    import fontpkg_noto_sans
    import fontpkg_noto_sans_khmer

    khmer = Path(fontpkg_noto_sans_khmer.__file__).resolve().parent / "files"
    latin = Path(fontpkg_noto_sans.__file__).resolve().parent / "files"
    return {
        "khmer": next(khmer.glob("NotoSansKhmer*.ttf")),
        "latin": next(p for p in latin.glob("NotoSans*.ttf") if "Italic" not in p.name),
        "latin_italic": next(latin.glob("NotoSans-Italic*.ttf")),
    }


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sources_described() -> dict[str, dict[str, str]]:
    """What `sources.json` says for the installed fonts."""
    return {
        face: {
            "package": PACKAGES[face.removesuffix("_italic")],
            "version": metadata.version(PACKAGES[face.removesuffix("_italic")]),
            "file": path.name,
            "sha256": sha256(path),
        }
        for face, path in variable_sources().items()
    }


def make(directory: Path = PDF_FONTS_DIR) -> None:
    directory.mkdir(exist_ok=True)
    for face, source in variable_sources().items():
        for weight in PDF_FONT_WEIGHTS:
            font = TTFont(source)
            instantiateVariableFont(font, {"wght": weight}, static=True, inplace=True)
            font.save(directory / instance_name(face, weight))
            print(f"{instance_name(face, weight)} from {source.name}")
        family = FACES[face][0].split("-")[0]  # NotoSansKhmer, NotoSans
        shutil.copyfile(source.parent.parent / "LICENSE", directory / f"OFL-{family}.txt")
    (directory / SOURCES_FILE).write_text(json.dumps(sources_described(), indent=2) + "\n")


if __name__ == "__main__":
    import logging

    logging.getLogger("fontTools").setLevel(logging.WARNING)
    make()
