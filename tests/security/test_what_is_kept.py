"""What is kept and logged: access lines without client IPs, redaction that
keeps status codes, links without a readable counter, single-use form tokens."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import runpy
import zlib
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.test import Client
from gunicorn.config import Config
from gunicorn.glogging import Logger

from config.logging import redact
from signatures import links, policy
from signatures.forms import form_token
from signatures.models import Signature
from tests.factories import make_campaign, make_signature, submissions_process

GUNICORN_CONFIG = Path(__file__).resolve().parents[2] / "config" / "gunicorn.py"
CLIENT_IP = "203.0.113.77"
CLIENT_IPV6 = "2001:db8:85a3::8a2e:370:7334"


# --- Access lines ---------------------------------------------------------------


class _Response:
    def __init__(self, status: str, sent: int) -> None:
        self.status = status
        self.sent = sent
        self.headers = [("Content-Type", "text/html")]


class _Request:
    headers = [("X-FORWARDED-FOR", f"{CLIENT_IP}, 10.0.0.2"), ("HOST", "sitthi.example")]


def access_lines(capsys: Any, requests: list[tuple[str, str, int, str]]) -> list[dict[str, Any]]:
    """Each (request line, status, size, remote address) through gunicorn's
    own access logger, configured by config/gunicorn.py, as JSON entries."""
    config = Config()
    for name, value in runpy.run_path(str(GUNICORN_CONFIG)).items():
        if name in config.settings:
            config.set(name, value)
    logger = Logger(config)
    capsys.readouterr()
    for request_line, status, size, address in requests:
        method, uri, protocol = request_line.split(" ")
        environ = {
            "REMOTE_ADDR": address,
            "REQUEST_METHOD": method,
            "RAW_URI": uri,
            "PATH_INFO": uri.split("?")[0],
            "QUERY_STRING": uri.partition("?")[2],
            "SERVER_PROTOCOL": protocol,
            "HTTP_REFERER": "https://m.facebook.com/",
            "HTTP_X_FORWARDED_FOR": f"{address}, 10.0.0.2",
        }
        logger.access(_Response(status, size), _Request(), environ, timedelta(milliseconds=12))
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_access_lines_carry_no_client_ip_but_keep_status_and_size(capsys: Any) -> None:
    entries = access_lines(
        capsys,
        [
            ("GET /km/campaigns/water/ HTTP/1.1", "200 OK", 4521, CLIENT_IP),
            ("POST /km/campaigns/water/sign/ HTTP/1.1", "302 Found", 0, CLIENT_IPV6),
            ("GET /en/campaigns/water/figures/ HTTP/1.1", "200 OK", 45213, CLIENT_IP),
            ("GET /staff/exports/signatures.csv HTTP/1.1", "200 OK", 123456789, CLIENT_IP),
            ("GET /en/no-such-page/ HTTP/1.1", "404 Not Found", 179, CLIENT_IP),
        ],
    )
    assert len(entries) == 5
    for entry in entries:
        assert entry["logger"] == "gunicorn.access"
        assert CLIENT_IP not in json.dumps(entry) and "203.0.113" not in json.dumps(entry)
        assert "2001:db8" not in json.dumps(entry)
    messages = [entry["message"] for entry in entries]
    assert '"GET /km/campaigns/water/ HTTP/1.1" 200 4521 12ms' in messages[0]
    assert '"POST /km/campaigns/water/sign/ HTTP/1.1" 302 0 12ms' in messages[1]
    assert " 200 45213 12ms" in messages[2]
    assert " 200 123456789 12ms" in messages[3]
    assert " 404 179 12ms" in messages[4]


def test_access_lines_still_hide_tokens_and_addresses(capsys: Any) -> None:
    [entry] = access_lines(
        capsys,
        [
            (
                "GET /en/?email=dara.sok%40example.org&ref=gAAAAABnQ2xZ4x9wz_R4hN2sJ8aLfE3u HTTP/1.1",
                "200 OK",
                51234,
                CLIENT_IP,
            )
        ],
    )
    assert "example.org" not in entry["message"] and "gAAAAAB" not in entry["message"]
    assert " 200 51234 12ms" in entry["message"]


# --- Redacting phone numbers precisely ---------------------------------------------

KEPT = [
    '"GET /km/campaigns/water/ HTTP/1.1" 200 4521 12ms "-"',
    '"GET /km/campaigns/water/ HTTP/1.1" 200 45213 3ms "-"',
    '"GET /staff/exports/all.csv HTTP/1.1" 200 123456789 20512ms "-"',
    '"POST /en/campaigns/water/sign/ HTTP/1.1" 302 0 1203ms "-"',
    '"GET /static/css/site.css HTTP/1.1" 304 0 1ms "-"',
    "2026-11-25 04:00:00 tallies folded 12345 deltas in 0.25s",
    "2026-11-25T04:00:00+00:00 took 1234.567 ms",
    "signature 6288 confirmed; campaign 12 now at 104 523",
    "outbox: 25 sent, 3 failed, next try in 300 s",
    "export 2026-11-25 rows 1000000 in 20512 ms",
]

REDACTED = [
    ("phone +855 12 345 678 given", "345"),
    ("phone +85512345678 given", "85512345678"),
    ("phone 0085512345678 given", "85512345678"),
    ("phone 00855 12 345 678 given", "345 678"),
    ("phone 012 345 678 given", "345 678"),
    ("phone 012-345-678 given", "345-678"),
    ("phone (012) 345 678 given", "345 678"),
    ("phone +33 6 12 34 56 78 given", "34 56 78"),
    ("phone 06 12 34 56 78 given", "34 56 78"),
    ("phone +1 (202) 555-0123 given", "555-0123"),
    ("phone (202) 555-0123 given", "555-0123"),
    ("phone 202-555-0123 given", "555-0123"),
    ("phone +44 7700 900123 given", "900123"),
    ("phone 855 12 345 678 given", "345 678"),
    ("phone 855-12-345-678 given", "345-678"),
    ("phone=+85512345678&x=1", "85512345678"),
    ("GET /en/?phone=%2B85512345678 HTTP/1.1", "85512345678"),
    ("phone 12 345 678 given", "345 678"),
]


@pytest.mark.parametrize("line", KEPT)
def test_redaction_keeps_status_sizes_dates_times_and_durations(line: str) -> None:
    assert redact(line) == line


@pytest.mark.parametrize(("line", "secret"), REDACTED)
def test_redaction_still_removes_phone_numbers_in_common_forms(line: str, secret: str) -> None:
    clean = redact(line)
    assert secret not in clean
    assert "[phone]" in clean


# --- Links carry no readable counter ------------------------------------------------


def decodings(token: str) -> list[bytes]:
    """The token read every way someone might try: each part, as base64
    (URL-safe or not, padded or not), zlib-inflated when it is compressed."""
    found: list[bytes] = [token.encode()]
    for part in re.split(r"[:.]", token) + [token]:
        for alphabet in (base64.urlsafe_b64decode, base64.b64decode):
            for candidate in (part, part.lstrip(".")):
                try:
                    raw = alphabet(candidate + "=" * (-len(candidate) % 4))
                except (binascii.Error, ValueError):
                    continue
                found.append(raw)
                with contextlib.suppress(zlib.error):
                    found.append(zlib.decompress(raw))
    return found


def token_of(link: str) -> str:
    return urlsplit(link).path.rstrip("/").rsplit("/", 1)[1]


@pytest.mark.django_db
def test_links_reveal_no_signature_id_however_they_are_decoded() -> None:
    campaign = make_campaign()
    signature = make_signature(campaign)
    # An id that cannot turn up by chance in a few bytes of ciphertext.
    Signature.objects.filter(pk=signature.pk).update(id=734_219)
    signature = Signature.objects.get(pk=734_219)
    for link in (links.confirmation_link(signature), links.withdrawal_link(signature)):
        token = token_of(link)
        for raw in decodings(token):
            assert b"734219" not in raw, raw
            assert (734_219).to_bytes(4, "big") not in raw and b'"s"' not in raw
            assert signature.link_secret.encode() not in raw
    assert links.signature_from_confirmation(token_of(links.confirmation_link(signature))) == (
        signature
    )
    for link in (links.confirmation_link(signature), links.withdrawal_link(signature)):
        assert token_of(link) not in redact(f'"GET {urlsplit(link).path} HTTP/1.1" 200 4521')
    assert links.signature_from_withdrawal(token_of(links.withdrawal_link(signature))) == signature


@pytest.mark.django_db
def test_tampered_or_crossed_links_are_refused() -> None:
    signature = make_signature(make_campaign())
    confirm = token_of(links.confirmation_link(signature))
    withdraw = token_of(links.withdrawal_link(signature))
    flipped = confirm[:40] + ("A" if confirm[40] != "A" else "B") + confirm[41:]
    for token in (flipped, confirm[:-3], confirm + "AAAA", "", "ក" * 80, "%%%", withdraw):
        with pytest.raises(links.LinkInvalid):
            links.signature_from_confirmation(token)
    with pytest.raises(links.LinkInvalid):
        links.signature_from_withdrawal(confirm)


@pytest.mark.django_db
def test_links_sent_before_the_change_still_work_until_they_expire(settings: Any) -> None:
    signature = make_signature(make_campaign())
    old_confirm = signing.dumps(
        {"s": signature.pk, "k": signature.link_secret}, salt=links.CONFIRM_SALT
    )
    old_withdraw = signing.dumps(
        {"s": signature.pk, "k": signature.link_secret}, salt=links.WITHDRAW_SALT
    )
    assert links.signature_from_confirmation(old_confirm) == signature
    assert links.signature_from_withdrawal(old_withdraw) == signature
    settings.SIGNATURE_CONFIRM_MAX_AGE_DAYS = -1
    with pytest.raises(links.LinkExpired):
        links.signature_from_confirmation(old_confirm)
    with pytest.raises(links.LinkExpired):
        links.signature_from_confirmation(token_of(links.confirmation_link(signature)))


@pytest.mark.django_db
def test_links_survive_a_secret_key_rotation(settings: Any) -> None:
    signature = make_signature(make_campaign())
    token = token_of(links.withdrawal_link(signature))
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    assert links.signature_from_withdrawal(token) == signature
    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(links.LinkInvalid):
        links.signature_from_withdrawal(token)


# --- One form token, one signature ----------------------------------------------

FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


def shown_token(page: Any) -> str:
    match = FORM_TOKEN.search(page.content.decode())
    assert match, "the page carries a form token"
    return match.group(1)


def signing_data(token: str, email: str, **fields: Any) -> dict[str, Any]:
    data = {
        "full_name": "Sok Dara",
        "email": email,
        "country": "FR",
        "consent": "on",
        "form_token": token,
    }
    data.update(fields)
    return data


@pytest.mark.django_db
def test_a_replayed_form_token_is_held_for_review_not_counted(settings: Any) -> None:
    settings.SIGNATURE_MIN_FILL_SECONDS = 0
    campaign = make_campaign()
    client = Client()
    token = shown_token(client.get(f"/en/campaigns/{campaign.slug}/"))
    sign_url = f"/en/campaigns/{campaign.slug}/sign/"
    first = client.post(sign_url, signing_data(token, "first@example.org"))
    replays = [
        client.post(sign_url, signing_data(token, f"bot{number}@example.org"))
        for number in range(3)
    ]
    assert first.status_code == 302
    assert [replay.status_code for replay in replays] == [302, 302, 302]  # nothing tells the bot
    submissions_process()

    signatures = {s.email: s for s in Signature.objects.filter(campaign=campaign)}
    assert len(signatures) == 4  # stored, never dropped
    assert signatures["first@example.org"].status == Signature.Status.PENDING
    for number in range(3):
        held = signatures[f"bot{number}@example.org"]
        assert held.status == Signature.Status.SUSPECT
        assert held.suspect_reason == policy.REPLAYED_FORM_REASON
    assert not Signature.objects.filter(campaign=campaign).counted().exists()


@pytest.mark.django_db
def test_a_form_corrected_after_an_error_or_sent_again_after_back_is_not_a_reuse(
    settings: Any,
) -> None:
    settings.SIGNATURE_MIN_FILL_SECONDS = 0
    campaign = make_campaign()
    client = Client()
    first_token = shown_token(
        client.get(f"/en/campaigns/{campaign.slug}/", HTTP_REFERER="https://m.facebook.com/x")
    )
    sign_url = f"/en/campaigns/{campaign.slug}/sign/"
    with_error = client.post(sign_url, signing_data(first_token, "not-an-address"))
    assert with_error.status_code == 400
    fresh_token = shown_token(with_error)
    assert fresh_token != first_token

    corrected = client.post(sign_url, signing_data(fresh_token, "dara@example.org"))
    # Pressed back to the first page (its token) and sent it, corrected, too.
    after_back = client.post(sign_url, signing_data(first_token, "sophea@example.org"))
    assert corrected.status_code == after_back.status_code == 302
    submissions_process()
    signatures = {s.email: s for s in Signature.objects.filter(campaign=campaign)}
    assert signatures["dara@example.org"].status == Signature.Status.PENDING
    assert signatures["dara@example.org"].referrer == "https://m.facebook.com/x"
    assert signatures["sophea@example.org"].status == Signature.Status.PENDING


@pytest.mark.django_db
def test_a_form_shown_again_keeps_the_time_it_was_first_shown(settings: Any) -> None:
    settings.SIGNATURE_MIN_FILL_SECONDS = 60
    campaign = make_campaign()
    old = signing.dumps({"t": 1, "r": "", "u": {}}, salt="signatures.form")  # long ago
    page = Client().post(
        f"/en/campaigns/{campaign.slug}/sign/", signing_data(old, "not-an-address")
    )
    assert signing.loads(shown_token(page), salt="signatures.form")["t"] == 1


def test_a_token_is_a_reuse_only_from_its_second_use(db: None) -> None:
    token = form_token()
    assert not policy.submission_marks(form_token=token, client="203.0.113.1").token_reused
    assert not policy.submission_marks(form_token=form_token(), client="203.0.113.2").token_reused
    assert policy.submission_marks(form_token=token, client="203.0.113.3").token_reused
    # No token (none came, or not one of ours): nothing to claim, no reuse.
    assert not policy.submission_marks(form_token="", client="203.0.113.4").token_reused
    assert not policy.submission_marks(form_token="", client="203.0.113.4").token_reused
