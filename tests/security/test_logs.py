"""Logs carry no e-mail address, phone number or link token in clear."""

import json
import logging
from io import StringIO

from hypothesis import given
from hypothesis import strategies as st

from config.logging import JsonFormatter, RedactPersonalData, redact
from core import redaction
from tests.resilience.conftest import (
    CREATE_CAMPAIGN,
    SIGNING_ENV,
    FaultStack,
    FaultySmtp,
    confirmation_path,
    http,
    sign_through_pages,
    wait_until,
)
from tests.resilience.test_outbox_faults import FLUSH_AFTER_GRACE

EMAIL = "dara.sok+petition@example.org"
TOKEN = "eyJzIjoxLCJrIjoiYWJjZGVmIn0:1tQ2xZ:Vb7mTq0PlYx1cK9wzR4hN2sJ8aLfE3uDgI5oB6nM"


def test_redaction_removes_addresses_phones_and_tokens() -> None:
    line = (
        f"GET /km/sign/confirm/{TOKEN}/ from {EMAIL} (dara.sok%40example.org) "
        "phone +855 12 345 678 or 012-345-678"
    )
    clean = redact(line)
    assert "example.org" not in clean
    assert TOKEN not in clean and TOKEN[:24] not in clean
    assert "345" not in clean
    assert "/km/sign/confirm/[token]/" in clean


def test_redaction_removes_telegram_start_tokens_from_paths_referrers_and_links() -> None:
    """A start token is shorter than a signed one (22 characters) and is a
    key: whoever presses Start with it confirms that signature."""
    start = "L_UHpKRLrH_SzdMpHEblzA"
    line = (
        f'"GET /km/campaigns/right-to-vote/telegram/{start}/qr.svg HTTP/1.1" 200 2048 3ms '
        f'"https://sitthi.example.org/km/campaigns/right-to-vote/telegram/{start}/" '
        f"sent https://t.me/sitthi_bot?start={start}"
    )
    clean = redact(line)
    assert start not in clean and start[:12] not in clean
    assert "/km/campaigns/right-to-vote/telegram/[token]/qr.svg" in clean
    assert "?start=[token]" in clean


# Whole addresses, links and numbers, and pieces of them, in any order.
FRAGMENTS = [
    "dara.sok@example.org",
    "dara.sok%40example.org",
    '"a b"@example.org',
    "/telegram/L_UHpKRLrH_SzdMpHEblzA/",
    "?start=L_UHpKRLrH_SzdMpHEblzA",
    "/confirm/eyJzIjoxLCJrIjoiYWJj:1tQ2xZ:Vb7mTq0PlYx1cK9w/",
    "+855 12 345 678",
    "012-345-678",
    "dara",
    "@",
    "%40",
    "example.org",
    "/telegram/",
    "start=",
    "L_UHpKRLrH_SzdMpHEblzA",
    "/",
    " ",
    "200 8123",
    "&",
    '"',
]


@given(st.lists(st.sampled_from(FRAGMENTS), max_size=12).map("".join))
def test_redaction_skips_a_pattern_only_where_it_cannot_match(text: str) -> None:
    every_pattern = text
    for pattern, replacement in [
        (redaction.EMAIL, "[email]"),
        (redaction.TOKEN, "[token]"),
        (redaction.START_TOKEN, "[token]"),
    ]:
        every_pattern = pattern.sub(replacement, every_pattern)
    assert redact(text) == redaction.PHONE.sub(redaction._phone, every_pattern)


def test_redaction_keeps_ordinary_numbers_times_and_addresses() -> None:
    line = "2026-11-25T04:00:00 signature 12345 folded in 0.25s from 203.0.113.9"
    assert redact(line) == line


def test_the_json_formatter_redacts_arguments_and_tracebacks() -> None:
    stream = StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactPersonalData())
    logger = logging.getLogger("tests.security.logs")
    logger.addHandler(handler)
    try:
        try:
            raise ValueError(f"cannot mail {EMAIL}")
        except ValueError:
            logger.exception("sending to %s failed", EMAIL)
    finally:
        logger.removeHandler(handler)
    entry = json.loads(stream.getvalue())
    assert entry["level"] == "ERROR"
    assert EMAIL not in json.dumps(entry)
    assert "[email]" in entry["message"] and "[email]" in entry["exception"]


def test_no_address_phone_or_token_reaches_the_logs_of_web_and_workers(
    fault_stack: FaultStack, fault_smtp: FaultySmtp
) -> None:
    fault_stack.env.update(SIGNING_ENV)
    # Three processes set Django up (the one-off Python, gunicorn, the worker):
    # side by side, not one after another. None needs another to start.
    fault_stack.start_web(workers=1, wait=False)
    fault_stack.start_worker(wait=False)
    fault_stack.python(CREATE_CAMPAIGN.format(slug="logs"))
    fault_stack.python(
        "from campaigns.models import Campaign\n"
        "Campaign.objects.filter(slug='logs').update(ask_phone=True)\n"
    )
    fault_stack.wait_ready()
    fault_smtp.mode = "refuse"  # a failure is logged on the way
    status = sign_through_pages(
        fault_stack.web_url,
        "logs",
        email=EMAIL,
        full_name="Sok Dara",
        ip="203.0.113.5",
        extra={"phone": "+855 12 345 678"},
    )
    assert status == 302
    wait_until(lambda: fault_smtp.attempts >= 1, 30, "a first sending attempt")
    fault_smtp.mode = "accept"
    fault_stack.python(FLUSH_AFTER_GRACE)
    [message] = fault_smtp.wait_for(1)
    confirm = confirmation_path(message)
    token = confirm.rstrip("/").rsplit("/", 1)[1]
    assert http(fault_stack.web_url + confirm)[0] == 200
    http(fault_stack.web_url + confirm.replace("/confirm/", "/withdraw/"))
    http(f"{fault_stack.web_url}/en/campaigns/{EMAIL}/")  # a 404, logged with its path
    http(f"{fault_stack.web_url}/en/?email=dara.sok%40example.org&ref={token}")
    fault_stack.stop_all()

    logs = fault_stack.log_text("web") + fault_stack.log_text("worker")
    assert "/sign/confirm/[token]/" in logs  # the access log was written, redacted
    for secret in (EMAIL, "dara.sok", "example.org", "12345678", "12 345 678", token[:20]):
        assert secret not in logs, secret
    for line in fault_stack.log_text("web").splitlines():
        if line.startswith("{"):
            json.loads(line)
