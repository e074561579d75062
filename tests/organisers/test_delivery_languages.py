"""The delivery document prints the language asked for: one language means
that language alone, "both" means each heading once in each language."""

from __future__ import annotations

from pathlib import Path

import pytest

from campaigns.models import Campaign
from organisers.delivery import delivery_write
from tests.factories import make_campaign, make_signature
from tests.pdf_extract import KHMER, pdftotext

KHMER_HEADINGS = ["ចំនួនហត្ថលេខាសរុប", "តាមប្រទេសដែលរស់នៅ", "តាមខេត្តកំណើត", "ប្រទេស", "ខេត្ត"]
ENGLISH_HEADINGS = [
    "Total signatures",
    "By country of residence",
    "By province of origin",
    "Country",
    "Province",
]


def _document(
    campaign: Campaign, tmp_path: Path, language: str, *, with_names: bool = False
) -> str:
    path = tmp_path / f"delivery-{language}.pdf"
    with path.open("wb") as handle:
        delivery_write(campaign, handle, with_names=with_names, language=language)
    return pdftotext(path)


@pytest.fixture
def campaign(db: None) -> Campaign:
    campaign = make_campaign()
    make_signature(campaign, country="AU", province="kampot", show_publicly=True)
    make_signature(campaign, country="", province="", show_publicly=True)  # neither given
    return campaign


def test_a_khmer_document_prints_each_heading_once_and_no_english(
    campaign: Campaign, tmp_path: Path
) -> None:
    text = _document(campaign, tmp_path, "km", with_names=True)
    # "ប្រទេស" also begins "ប្រទេសដែលរស់នៅ": counted as a word of its own.
    words = text.split()
    assert text.count("ចំនួនហត្ថលេខាសរុប") == 1
    assert text.count("តាមប្រទេសដែលរស់នៅ") == 1
    assert words.count("ប្រទេស") == 1, "the country column is headed once"
    lines = [line.strip() for line in text.splitlines()]
    assert lines.count("អ្នកចុះហត្ថលេខាដែលបានយល់ព្រមឱ្យបង្ហាញឈ្មោះ") == 1  # the names' heading
    assert text.count("មិនបានផ្តល់") == 2  # "not given", a country and a province
    assert "អូស្ត្រាលី" in text and "កំពត" in text
    for english in [*ENGLISH_HEADINGS, "Not given", "Australia", "Kampot", "To:", "Signers"]:
        assert english not in text, english
    assert "National Election Committee" not in text and "right to vote" not in text
    # Figures in Khmer digits: the total and each country's count.
    assert "២" in words and words.count("១") >= 2


def test_an_english_document_prints_no_khmer_at_all(campaign: Campaign, tmp_path: Path) -> None:
    text = _document(campaign, tmp_path, "en", with_names=True)
    assert not KHMER.search(text), [line for line in text.splitlines() if KHMER.search(line)]
    for heading in ENGLISH_HEADINGS:
        assert heading in text, heading
    assert text.count("Total signatures") == 1
    assert text.count("Not given") == 2  # in the English column, in English
    assert "Australia" in text and "Kampot" in text
    assert "Signers who agreed to be named" in text
    assert "2" in text.split()  # the total, in the digits of the document's language


def test_a_bilingual_document_prints_each_heading_once_in_each_language(
    campaign: Campaign, tmp_path: Path
) -> None:
    text = _document(campaign, tmp_path, "both")
    words = text.split()
    for khmer, english in zip(KHMER_HEADINGS, ENGLISH_HEADINGS, strict=True):
        if khmer in {"ប្រទេស", "ខេត្ត"}:  # column headings, also part of longer words
            assert words.count(khmer) == 1, khmer
        else:
            assert text.count(khmer) == 1, khmer
        assert text.count(english) == 1, english
    # The country column in each language: the English one in English.
    assert "Australia" in text and "អូស្ត្រាលី" in text
    assert text.count("Not given") == 2 and text.count("មិនបានផ្តល់") == 2
    assert "National Election Committee" in text and "គណៈកម្មាធិការជាតិរៀបចំការបោះឆ្នោត" in text


def test_an_unknown_document_language_is_refused(campaign: Campaign, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="language"):
        _document(campaign, tmp_path, "fr")
