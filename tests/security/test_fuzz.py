"""Ten thousand hostile requests, generated from fixed seeds: foreign and
unknown charsets, bodies that are not UTF-8 or not forms at all, broken and
oversized multipart, odd Referer, Accept-Language, X-Forwarded-For, Host and
cookies. Not one may answer 5xx, and only the valid submissions store a row.

Sent in four runs of 2,500 (seeds 13 to 16), so that pytest-xdist spreads
them over its processes, through a test client that skips the bookkeeping
nothing here reads (a copy of every rendered template's context): the
requests go through the whole middleware stack and views all the same."""

import logging
import random
import string
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from signatures.forms import form_token
from signatures.models import Signature, Submission
from tests.factories import make_campaign, submissions_process

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

REQUESTS = 10_000
RUNS = 4
SEED = 13

CHARSETS = [
    "latin-1", "iso-8859-1", "ISO-8859-15", "utf-16", "utf-16le", "UTF-32", "cp1252",
    "shift_jis", "koi8-r", "ascii", "utf-7", "x-unknown", '"utf-16"', "",
]  # fmt: skip
REFERERS = [
    "http://[x]/", "http://[::1", "https://[::1]]/a", "http://a:99999/", "http://a:b/",
    "http://\xe9\xff\xc3/", "https://example.org/" + "a" * 10_000, "//x", "http:", "\x00",
    "javascript:alert(1)", "https://t.me/ceroc/1?x=1", "http://[::1]:8080/",
]  # fmt: skip
LANGUAGES = ["km", "en", "*", "zz-ZZ;q=2", "km;q=abc", "x" * 300, ",,,;;;", "en-US,km;q=0.5"]
FORWARDED = ["", "1.2.3.4", "garbage", "::1, 2001:db8::1", "1.2.3.4, , ,", "[::1]:80", "ក"]
HOSTS = ["testserver", "TESTSERVER", "testserver:80", "testserver.", "sitthi.example:443"]


def random_text(rng: random.Random, size: int) -> str:
    alphabet = string.printable + "ក្មេងអ\u200b\u202e\ufeff\x00"
    return "".join(rng.choice(alphabet) for _ in range(size))


def random_headers(rng: random.Random, csrf_token: str) -> dict[str, Any]:
    cookie = f"csrftoken={csrf_token}"
    if rng.random() < 0.2:
        cookie += rng.choice(
            ["; sessionid=garbage", "; django_language=zz", "; a=\xff", ";;;=", "; messages=x"]
        )
    headers: dict[str, Any] = {"HTTP_COOKIE": cookie, "HTTP_HOST": rng.choice(HOSTS)}
    if rng.random() < 0.5:
        headers["HTTP_REFERER"] = rng.choice(REFERERS)
    if rng.random() < 0.5:
        headers["HTTP_ACCEPT_LANGUAGE"] = rng.choice(LANGUAGES)
    if rng.random() < 0.5:
        headers["HTTP_X_FORWARDED_FOR"] = rng.choice(FORWARDED)
    return headers


def multipart(rng: random.Random, csrf_token: str) -> tuple[bytes, str]:
    """Broken multipart: no boundary, a wrong one, truncated, or too big."""
    boundary = "".join(rng.choice(string.ascii_letters) for _ in range(rng.randint(1, 70)))
    part = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n'
        f"{csrf_token}\r\n--{boundary}\r\nContent-Disposition: form-data; "
        f'name="full_name"\r\n\r\n{random_text(rng, 20)}\r\n--{boundary}--\r\n'
    ).encode()
    choice = rng.randrange(5)
    if choice == 0:
        return part, "multipart/form-data"  # no boundary at all
    if choice == 1:
        return part, "multipart/form-data; boundary=other"
    if choice == 2:
        return part[: rng.randrange(len(part))], f"multipart/form-data; boundary={boundary}"
    if choice == 3:
        return part * 30, f"multipart/form-data; boundary={boundary}"  # over the size limit
    return rng.randbytes(rng.randint(1, 300)), f"multipart/form-data; boundary={boundary}"


class BareClient(Client):
    """Django's test client without the per-request template and exception
    bookkeeping (it copies every template's context; half the time of an
    error page). A view's exception still answers 500, which the test fails on."""

    def request(self, **request: Any) -> Any:
        return self.handler(self._base_environ(**request))  # type: ignore[attr-defined]


@pytest.mark.parametrize("run", range(RUNS))
def test_ten_thousand_hostile_requests_make_no_server_error_and_store_nothing_invalid(
    settings: Any, run: int
) -> None:
    settings.SIGNATURE_MIN_FILL_SECONDS = 0
    settings.SIGNATURE_RATE_BURST = settings.SIGNATURE_RATE_SUSTAINED = "100000/m"
    settings.TRUSTED_PROXY_COUNT = 1  # X-Forwarded-For is read, as behind a proxy
    settings.ALLOWED_HOSTS = ["testserver", "sitthi.example"]
    # Small limits, so oversized bodies and field floods are cheap to send.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 50
    campaign = make_campaign()
    client = BareClient(enforce_csrf_checks=True)
    csrf_token = client.get("/en/accounts/login/").cookies["csrftoken"].value
    rng = random.Random(SEED + run)
    sign_path = f"/{{lang}}/campaigns/{campaign.slug}/sign/"
    valid_submissions = 0

    def valid_body(email: str) -> str:
        return (
            f"csrfmiddlewaretoken={csrf_token}&full_name=Sok+Dara&email={email}"
            f"&country=FR&consent=on&form_token={form_token()}"
        )

    kinds: list[tuple[str, float, Callable[[], tuple[str, bytes, str, set[int]]]]] = [
        (
            "foreign charset",
            35,
            lambda: (
                "POST",
                valid_body(f"charset{rng.randrange(10**6)}%40example.org").encode(),
                "application/x-www-form-urlencoded; charset=" + rng.choice(CHARSETS),
                {400},
            ),
        ),
        (
            "bytes that are not UTF-8",
            20,
            lambda: (
                "POST",
                f"csrfmiddlewaretoken={csrf_token}&full_name=".encode()
                + rng.randbytes(rng.randint(1, 200))
                + b"\xff",
                "application/x-www-form-urlencoded",
                {400},
            ),
        ),
        (
            "no CSRF token",
            15,
            lambda: (
                "POST",
                random_text(rng, rng.randint(0, 300)).encode(),
                rng.choice(["application/x-www-form-urlencoded", "text/plain", "", "a/b; c"]),
                {400, 403},  # 400 when the random text holds a broken %-escape
            ),
        ),
        ("broken multipart", 15, lambda: ("POST", *multipart(rng, csrf_token), set())),
        (
            "oversized or flooded form",
            12,
            lambda: (
                "POST",
                (
                    f"csrfmiddlewaretoken={csrf_token}&full_name=" + "x" * 5000
                    if rng.random() < 0.5
                    else f"csrfmiddlewaretoken={csrf_token}&" + "&".join(["a=1"] * 60)
                ).encode(),
                "application/x-www-form-urlencoded",
                {400},
            ),
        ),
        (
            "invalid form",
            0.5,
            lambda: (
                "POST",
                f"csrfmiddlewaretoken={csrf_token}&full_name=Sok&email=dara%40&country=XX".encode(),
                "application/x-www-form-urlencoded",
                {400},
            ),
        ),
        ("campaign page", 0.5, lambda: ("GET", b"", "", {200})),
        (
            "valid submission",
            0.5,
            lambda: (
                "POST",
                valid_body(f"dara{rng.randrange(10**9)}%40example.org").encode(),
                rng.choice(
                    [
                        "application/x-www-form-urlencoded",
                        "application/x-www-form-urlencoded; charset=UTF-8",
                    ]
                ),
                {302},
            ),
        ),
    ]
    names = [name for name, _weight, _make in kinds]
    weights = [weight for _name, weight, _make in kinds]
    makers = dict((name, make) for name, _weight, make in kinds)
    statuses: Counter[tuple[str, int]] = Counter()
    errors = _ErrorRecords()
    logging.getLogger().addHandler(errors)
    # Thousands of expected warnings, and Django's SuspiciousOperation errors
    # (django.security.*, errors by design), are not formatted; any other error is.
    logging.disable(logging.WARNING)
    security_logger = logging.getLogger("django.security")
    security_level = security_logger.level
    security_logger.setLevel(logging.CRITICAL)
    try:
        for _ in range(REQUESTS // RUNS):
            kind = rng.choices(names, weights)[0]
            method, body, content_type, expected = makers[kind]()
            lang = rng.choice(["km", "en"])
            path = sign_path.format(lang=lang)
            if method == "GET":
                path = f"/{lang}/campaigns/{campaign.slug}/"
            before = Submission.objects.count() if kind == "valid submission" else 0
            response = client.generic(
                method,
                path,
                body,
                content_type=content_type,
                **random_headers(rng, csrf_token),
            )
            statuses[(kind, response.status_code)] += 1
            assert response.status_code < 500, (kind, body[:200], content_type)
            if expected:
                assert response.status_code in expected, (kind, response.status_code, body[:200])
            else:
                assert 400 <= response.status_code < 500, (kind, response.status_code)
            if kind == "valid submission":
                valid_submissions += 1
                assert Submission.objects.count() == before + 1
    finally:
        logging.disable(logging.NOTSET)
        security_logger.setLevel(security_level)
        logging.getLogger().removeHandler(errors)
    assert sum(statuses.values()) == REQUESTS // RUNS
    # Every kind was sent, valid submissions included: the loop was not empty.
    assert {kind for kind, _status in statuses} == set(names)
    assert Submission.objects.count() == valid_submissions  # and nothing else was kept
    assert submissions_process() == valid_submissions
    assert Signature.objects.count() == valid_submissions
    assert errors.records == []  # a 4xx logs at most a warning


class _ErrorRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{record.name}: {record.getMessage()}")
