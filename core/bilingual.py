"""Texts kept in Khmer and in English, shown in the reader's language.

A model stores `<field>_km` and `<field>_en`. When the reader's language is
missing, the other one is shown, marked with its own `lang` so that screen
readers and fonts follow, and the page says so.
"""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import get_language

LANGUAGE_CODES = [code for code, _name in settings.LANGUAGES]


@dataclass(frozen=True)
class LocalizedText:
    text: str
    lang: str
    is_fallback: bool

    def __str__(self) -> str:
        return self.text

    def __bool__(self) -> bool:
        return bool(self.text)


def localized(obj: Any, field: str, language: str | None = None) -> LocalizedText:
    """`obj.<field>_<language>`, or the other language's text when it is empty."""
    wanted = (language or get_language() or settings.LANGUAGE_CODE)[:2]
    if wanted not in LANGUAGE_CODES:
        wanted = settings.LANGUAGE_CODE
    order = [wanted] + [code for code in LANGUAGE_CODES if code != wanted]
    for code in order:
        text = getattr(obj, f"{field}_{code}", "") or ""
        if text.strip():
            return LocalizedText(text=text, lang=code, is_fallback=code != wanted)
    return LocalizedText(text="", lang=wanted, is_fallback=False)


def available_languages(obj: Any, field: str) -> list[str]:
    return [code for code in LANGUAGE_CODES if (getattr(obj, f"{field}_{code}", "") or "").strip()]
