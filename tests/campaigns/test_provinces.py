from django.utils import translation

from campaigns.provinces import PROVINCES, province_choices, province_name


def test_there_are_twenty_five_provinces_with_both_names() -> None:
    assert len(PROVINCES) == 25
    assert all(code.isascii() and khmer and english for code, khmer, english in PROVINCES)
    assert len({code for code, _k, _e in PROVINCES}) == 25


def test_province_names_follow_the_page_language() -> None:
    with translation.override("km"):
        assert province_name("battambang") == "បាត់ដំបង"
        assert ("siem-reap", "សៀមរាប") in province_choices()
    with translation.override("en"):
        assert province_name("battambang") == "Battambang"
