"""Structured JSON logs that never carry a signer's e-mail, phone or token."""

import json
import logging
import re
from datetime import UTC, datetime

# "@" or its URL-encoded form: access logs show query strings as sent.
EMAIL = re.compile(r"[\w.+-]+(?:@|%40)[\w-]+(\.[\w-]+)+", re.IGNORECASE)
# Not inside a longer token (UUIDs, hashes, versions, times).
PHONE = re.compile(r"(?<![\w.:-])\+?\d[\d ()-]{7,}\d(?![\w.:-])")
# Signed tokens in confirm/withdraw links, in a path or a query string: long
# runs of URL-safe characters.
TOKEN = re.compile(r"(?<=[/=])[A-Za-z0-9_\-:]{24,}(?=/|$|\s|\?|&|\")")


def redact(text: str) -> str:
    text = EMAIL.sub("[email]", text)
    text = TOKEN.sub("[token]", text)
    return PHONE.sub("[phone]", text)


class RedactPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)
