"""Text that goes into a spreadsheet (exports) or came from one (names typed
online or on paper): the one owner of the formula-trigger rule."""

from __future__ import annotations

from typing import Any

# A spreadsheet program runs a cell that starts with one of these as a
# formula (OWASP "CSV injection"); tab and line breaks start one in some.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")


def starts_like_formula(text: str) -> bool:
    return text.startswith(FORMULA_TRIGGERS)


def spreadsheet_safe(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula gets a leading
    apostrophe (OWASP's advice); numbers and dates pass untouched."""
    if isinstance(value, str) and starts_like_formula(value):
        return "'" + value
    return value
