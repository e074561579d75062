"""Text as a reader copies it out of a PDF (poppler's pdftotext), and how close
its Khmer is to the source."""

import difflib
import re
import subprocess
from pathlib import Path

KHMER = re.compile(r"[\u1780-\u17ff]")


def pdftotext(path: Path, *args: str) -> str:
    return subprocess.run(
        ["pdftotext", *args, str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def khmer_similarity(source: str, extracted: str) -> float:
    """difflib ratio of the Khmer text, white space ignored (line breaks fall between words)."""
    keep = "".join(ch for ch in source if not ch.isspace())
    got = "".join(ch for ch in extracted if not ch.isspace())
    return difflib.SequenceMatcher(None, keep, got, autojunk=False).ratio()


def khmer_lines(text: str) -> str:
    return "".join(line for line in text.splitlines() if KHMER.search(line))
