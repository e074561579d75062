"""The country of residence: which countries the form offers, in what order,
and how the <select> is drawn.

On the form the countries where most overseas Cambodians live come first, in
their own group, then every country sorted in the page's language: English
by django-countries' own order, Khmer by `khmer_sort_key` (django-countries
folds names to ASCII to sort them, and a Khmer name folds to nothing).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from django import forms
from django.conf import settings
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext
from django_countries import countries

# Where most overseas Cambodians live, most first (the campaign's own list),
# then Cambodia's neighbours not already named. Each has a Khmer name in our
# catalogue (tests/signatures/test_countries.py checks it).
COUNTRIES_FIRST = ("US", "FR", "AU", "CA", "NZ", "KR", "TH", "JP", "MY", "GB", "DE", "VN", "LA")

Choices = list[tuple[str, Any]]


# --- Khmer alphabetical order ----------------------------------------------

_CONSONANTS = [chr(code) for code in range(0x1780, 0x17A3)]  # ក ... អ, in alphabet order
# Dependent vowels in the order of the alphabet as taught and as in Chuon
# Nath's dictionary: U+17B6-U+17C5 are encoded in that order; the vowels
# written with NIKAHIT or REAHMUK follow, ុំ before ំ as in CLDR.
_VOWELS = [chr(code) for code in range(0x17B6, 0x17C6)] + [
    "\u17bb\u17c6",  # ុំ
    "\u17c6",  # ំ
    "\u17b6\u17c6",  # ាំ
    "\u17c7",  # ះ
    "\u17b7\u17c7",  # ិះ
    "\u17bb\u17c7",  # ុះ
    "\u17c1\u17c7",  # េះ
    "\u17c4\u17c7",  # ោះ
    "\u17c8",  # ៈ
]
_COENG = "\u17d2"


def _primary_order() -> list[str]:
    order: list[str] = []
    for consonant in _CONSONANTS:
        order.append(consonant)
        if consonant == "រ":
            order += ["ឫ", "ឬ"]  # the vocalic RO, after RO
        elif consonant == "ល":
            order += ["ឭ", "ឮ"]  # the vocalic LO, after LO
    return [*order, *_VOWELS, _COENG]


_KHMER_BASE = 1000  # after space, punctuation and digits; before other scripts
_PRIMARY = {element: _KHMER_BASE + rank for rank, element in enumerate(_primary_order())}
_CONTRACTIONS = sorted((element for element in _PRIMARY if len(element) > 1), key=len, reverse=True)
_OTHER_SCRIPTS = 100_000

# Signs that change a consonant's register or mark a sound, not its place in
# the alphabet: MUUSIKATOAN, TRIISAP, BANTOC, ROBAT, TOANDAKHIAT, ... (the order
# of CLDR's tailoring). They break ties only.
_SECONDARY = {sign: rank for rank, sign in enumerate("៎៏៑័៝់៉៊៍៌៓", start=1)}
_INDEPENDENT_MARK = len(_SECONDARY) + 1
# An independent vowel sorts as អ with the dependent vowel it sounds like,
# just after it (CLDR: &អិ<<ឥ ...).
_INDEPENDENT = {
    "ឣ": "អ",
    "ឤ": "អា",
    "ឥ": "អិ",
    "ឦ": "អី",
    "ឧ": "អុ",
    "ឨ": "អុក",
    "ឩ": "អូ",
    "ឪ": "អូវ",
    "ឯ": "អែ",
    "ឰ": "អៃ",
    "ឱ": "អោ",
    "ឲ": "អោ",
    "ឳ": "អៅ",
}
# Zero-width spaces mark word breaks in CLDR's names; they are not letters.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u17b4\u17b5"))


def khmer_sort_key(text: str) -> tuple[tuple[int, ...], tuple[int, ...], str]:
    """A key that sorts Khmer text in dictionary order, without ICU.

    Python compares code points, and django-countries folds names to ASCII
    (a Khmer name becomes ""), so neither gives Khmer order. PyICU would,
    but needs a compiler and libicu on every machine; this key follows the
    same rules, CLDR's Khmer collation (the one ICU and PostgreSQL's
    `km-x-icu` use, itself the order of Chuon Nath's dictionary), for the
    letters names are written with:

    - Primary: consonants ក ... អ in alphabet order, which is their code
      point order (U+1780-U+17A2), vocalic ឫ ឬ after រ and ឭ ឮ after ល.
      A consonant with no vowel sign comes before the same consonant with
      one (ករ before កា), then the dependent vowels in alphabet order
      (ា ិ ី ... ោ ៅ ុំ ំ ាំ ះ ...), and COENG (U+17D2, the subscript) last,
      so a consonant cluster follows every vowel of its first consonant
      (កៅ before ក្រ), clusters in the order of the subscript consonant.
    - An independent vowel sorts as អ with the matching vowel, just after
      it (ឧ just after អុ).
    - Secondary: the signs ៉ ៊ ់ ៍ ... change the sound, not the place in
      the alphabet: they only break ties (មា before ម៉ា).
    - Zero-width spaces are ignored; spaces and punctuation sort before
      letters, digits (Khmer or Arabic, by value) before letters, other
      scripts after Khmer. Equal keys are ordered by the text itself, so the
      order never depends on the input's order.
    """
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    primaries: list[int] = []
    secondaries: list[int] = []
    position = 0
    while position < len(text):
        char = text[position]
        element = next((c for c in _CONTRACTIONS if text.startswith(c, position)), char)
        position += len(element)
        if element in _PRIMARY:
            primaries.append(_PRIMARY[element])
            secondaries.append(0)
        elif element in _INDEPENDENT:
            for part in _INDEPENDENT[element]:
                primaries.append(_PRIMARY[part])
                secondaries.append(0)
            secondaries[-1] = _INDEPENDENT_MARK
        elif element in _SECONDARY:
            if secondaries:
                secondaries[-1] = secondaries[-1] * 16 + _SECONDARY[element]
        elif unicodedata.decimal(element, None) is not None:
            primaries.append(10 + unicodedata.decimal(element))
            secondaries.append(0)
        elif element.isspace() or unicodedata.category(element)[0] in "PSZC":
            primaries.append(1)
            secondaries.append(0)
        else:
            primaries.append(_OTHER_SCRIPTS + ord(element.casefold()[0]))
            secondaries.append(0)
    return tuple(primaries), tuple(secondaries), text


# --- Choices ---------------------------------------------------------------


def country_name(code: str) -> str:
    """In the page's language: Khmer names come from our catalogue (CLDR)."""
    return str(countries.name(code) or code)


def country_choices() -> list[tuple[str, str]]:
    """Every country, named and sorted in the page's language."""
    return list(_country_choices(get_language() or settings.LANGUAGE_CODE))


@cache
def _country_choices(language: str) -> tuple[tuple[str, str], ...]:
    # Translating and sorting ~250 names costs milliseconds: once per language
    # and process, not once per request. `language` is the active one.
    named = [(country.code, str(country.name)) for country in countries]
    if language.split("-")[0] == "km":
        named.sort(key=lambda choice: khmer_sort_key(choice[1]))
    return tuple(named)


def country_choices_first() -> list[tuple[str, str]]:
    """The countries where most overseas Cambodians live, in COUNTRIES_FIRST's order."""
    return [(code, country_name(code)) for code in COUNTRIES_FIRST]


def country_choices_with_blank() -> Choices:
    # Called by the field on each form (signing and every page view), so
    # built once per language and process; plain gettext reads the page's
    # language. The first countries appear in both groups: a signer who looks
    # for hers in the full list finds it where the alphabet puts it. Both
    # options carry the country's code, which is what is checked and stored.
    return _country_choices_with_blank(get_language() or settings.LANGUAGE_CODE)


@cache
def _country_choices_with_blank(language: str) -> Choices:
    return [
        ("", gettext("Choose a country")),
        (gettext("Where most Cambodians abroad live"), country_choices_first()),
        (gettext("All countries"), country_choices()),
    ]


@cache
def _country_codes() -> frozenset[str]:
    return frozenset(country.code for country in countries)


class CountryField(forms.ChoiceField):
    """Checks a code against a set: ChoiceField walks all ~250 choices, named
    in the page's language, for every signature."""

    def valid_value(self, value: Any) -> bool:
        return str(value) in _country_codes()


class CountrySelect(forms.Select):
    """The <select> of `country_choices_with_blank` in the page's language,
    whatever choices the field holds. Its ~250 <option>s, each escaped, were
    a fifth of a campaign page's first rendering: they are drawn once per
    language and process, and the signer's country, when a form comes back
    with an error, is marked in a copy. A country listed twice is selected
    once, in the first group."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        final_attrs = self.build_attrs(self.attrs, attrs)
        options = _options_drawn(get_language() or settings.LANGUAGE_CODE)
        code = str(value)
        if code in _country_codes():  # two capital letters: nothing to escape
            unmarked = f'<option value="{code}">'
            options = options.replace(unmarked, unmarked[:-1] + " selected>", 1)
        return format_html(
            '<select name="{}"{}>{}</select>',
            name,
            flatatt(final_attrs),
            mark_safe(options),  # nosec B308 B703 # noqa: S308 - escaped when drawn; a known code added
        )


@cache
def _options_drawn(language: str) -> str:
    # `language` is the active one (see country_choices_with_blank).
    return _options(_country_choices_with_blank(language))


def _options(choices: Iterable[tuple[str, Any]]) -> SafeString:
    """<option>s (and <optgroup>s), each escaped, none selected."""
    parts: list[str] = []
    for value, label in choices:
        if isinstance(label, Sequence) and not isinstance(label, str):
            parts.append(format_html('<optgroup label="{}">{}</optgroup>', value, _options(label)))
        else:
            parts.append(format_html('<option value="{}">{}</option>', value, label))
    return mark_safe("".join(parts))  # nosec B308 B703 # noqa: S308 - each part escaped above


__all__ = [
    "COUNTRIES_FIRST",
    "CountryField",
    "CountrySelect",
    "country_choices",
    "country_choices_first",
    "country_choices_with_blank",
    "country_name",
    "khmer_sort_key",
]
