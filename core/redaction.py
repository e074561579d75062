"""Removing signers' e-mail addresses, phone numbers and link tokens from text
that is kept: log lines (config.logging), stored mail errors (outbox), audit
entries (core.audit). One set of patterns for all of them."""

import re

# "@" or its URL-encoded form: access logs show query strings as sent. A
# quoted local part ("sok dara"@example.org) is an address too: mail servers
# echo it back in their refusals.
EMAIL = re.compile(r'(?:"[^"\n]{1,64}"|[\w.+-]+)(?:@|%40)[\w-]+(\.[\w-]+)+', re.IGNORECASE)
# A run of digits and the separators people type between them, not inside
# a longer token (UUIDs, hashes, versions, times, IP addresses); "+" may be
# URL-encoded. Whether a run is a phone number is decided by `_phone`.
PHONE = re.compile(r"(?<![\w.:-])(?:\+|%2[Bb]|\(\+?)?\d(?:[\d ()-]*\d)?(?![\w.:-])")
# What looks like digits in groups but is not a phone number: the
# "status size" pair of an access line (302 0, 200 45213, 200 123456789),
# and an ISO date.
STATUS_AND_SIZE = re.compile(r"[1-5]\d\d \d+")
ISO_DATE = re.compile(r"\d{4}-\d\d-\d\d")
# Signed tokens in confirm/withdraw links, in a path or a query string: long
# runs of URL-safe characters.
TOKEN = re.compile(r"(?<=[/=])[A-Za-z0-9_\-:]{24,}(?=/|$|\s|\?|&|\")")
# Telegram start tokens, shorter (22 characters): in our start page's path
# (and so in referrers) and in the bot's t.me links.
START_TOKEN = re.compile(
    r"(?<=/telegram/)[A-Za-z0-9_-]{16,32}(?=/)|(?<=start=)[A-Za-z0-9_-]{16,32}"
)


def redact(text: str) -> str:
    # Each log line goes through here (the access log: every request). An
    # address needs an "@" (or "%40") and a start token follows "/telegram/"
    # or "start=": a line without them skips the pattern, the costly one
    # above all (EMAIL: 35 us on an access line, measured; the four: 50).
    if "@" in text or "%40" in text:
        text = EMAIL.sub("[email]", text)
    text = TOKEN.sub("[token]", text)
    if "/telegram/" in text or "start=" in text:
        text = START_TOKEN.sub("[token]", text)
    return PHONE.sub(_phone, text)


def _phone(match: re.Match[str]) -> str:
    """ "[phone]" for a phone number in E.164 or a common national form, else
    the text unchanged (counts, sizes, dates, durations)."""
    text = match.group()
    digits = sum(char.isdigit() for char in text)
    groups = len(re.findall(r"\d+", text))
    if text.startswith(("+", "%2", "(+")):  # international: a country code, at most 15 digits
        looks_like_phone = 8 <= digits <= 15
    elif text.startswith("00"):  # the international prefix most of our signers dial
        looks_like_phone = 10 <= digits <= 17
    elif text.lstrip("(").startswith("0"):  # a national number with its trunk 0
        looks_like_phone = 8 <= digits <= 12 and (groups > 1 or digits >= 9)
    elif STATUS_AND_SIZE.fullmatch(text) or ISO_DATE.fullmatch(text):
        looks_like_phone = False
    else:  # no prefix: long, or written in three or more groups
        looks_like_phone = 9 <= digits <= 15 or (digits == 8 and groups >= 3)
    return "[phone]" if looks_like_phone else text
