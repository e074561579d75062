"""Text that goes into a spreadsheet (exports) or came from one (names typed
online or on paper): the one owner of the formula-trigger rule."""

from __future__ import annotations

import re
from typing import Any

# A spreadsheet program runs a cell that starts with one of these as a
# formula (OWASP "CSV injection"); tab and line breaks start one in some.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")

# A phone number in E.164 form ("+" and up to 15 digits) starts with a
# trigger but is data: as a formula it is a plain positive number, with no
# function to call and nothing to fetch. Guarding it wrote `'+85512345678`,
# and the apostrophe showed in Excel.
E164_PHONE = re.compile(r"\+[1-9][0-9]{6,14}")


def starts_like_formula(text: str) -> bool:
    return text.startswith(FORMULA_TRIGGERS)


def is_e164_phone(text: str) -> bool:
    return E164_PHONE.fullmatch(text) is not None


def needs_formula_guard(text: str) -> bool:
    """True for text a spreadsheet would run as a formula (a valid E.164
    phone number is data, not a formula)."""
    return starts_like_formula(text) and not is_e164_phone(text)


def spreadsheet_safe(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula gets a leading
    apostrophe (OWASP's advice); numbers, dates and phone numbers pass untouched."""
    if isinstance(value, str) and needs_formula_guard(value):
        return "'" + value
    return value
