"""Structured JSON logs that never carry a signer's e-mail, phone or token."""

import json
import logging
from datetime import UTC, datetime

from core.redaction import EMAIL, PHONE, TOKEN, redact

__all__ = ["EMAIL", "PHONE", "TOKEN", "JsonFormatter", "RedactPersonalData", "redact"]


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
