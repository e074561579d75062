"""HTTP headers and cookies with production settings, read from a real gunicorn."""

import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.resilience.conftest import (
    HTTPS,
    FaultStack,
    ThrowawayPostgres,
    cloned_database,
    running_redis,
    running_smtp,
    stack_on,
)

PAGES = ["/en/", "/km/", "/en/campaigns/", "/km/statements/", "/en/about/", "/en/accounts/login/"]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def fetch(
    url: str, headers: dict[str, str] | None = None, data: bytes | None = None
) -> tuple[int, Any, str]:
    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers=headers or {}, data=data)  # noqa: S310
    try:
        with opener.open(request, timeout=15) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.fixture(scope="module")
def production_site(
    fault_postgres: ThrowawayPostgres,
    collected_static: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[FaultStack]:
    """One gunicorn for the module: these tests only read what it answers
    (the one that signs in adds a user nobody else looks for)."""
    with (
        cloned_database(fault_postgres) as database,
        running_redis() as redis,
        running_smtp() as smtp,
        stack_on(database, redis, smtp, collected_static, tmp_path_factory.mktemp("site")) as stack,
    ):
        # The one-off Python that the sign-in test creates its user with sets
        # Django up while gunicorn does (FaultStack.wait_ready starts it).
        stack.start_web(workers=1)
        yield stack


def test_every_page_sends_the_security_headers(production_site: FaultStack) -> None:
    for page in PAGES:
        status, headers, _ = fetch(production_site.web_url + page, HTTPS)
        assert status == 200, page
        csp = csp_directives(headers["Content-Security-Policy"])
        for directive in ("default-src", "script-src", "style-src"):
            assert "'unsafe-inline'" not in csp.get(directive, []), (page, directive)
            assert "'unsafe-eval'" not in csp.get(directive, []), (page, directive)
            assert "*" not in csp.get(directive, []), (page, directive)
        assert csp["default-src"] == ["'self'"]
        assert csp["frame-ancestors"] == ["'none'"]
        assert csp["object-src"] == ["'none'"]
        assert csp["base-uri"] == ["'none'"]
        assert csp["form-action"] == ["'self'"]
        hsts = headers["Strict-Transport-Security"]
        max_age = re.search(r"max-age=(\d+)", hsts)
        assert max_age and int(max_age.group(1)) >= 31536000
        assert "includeSubDomains" in hsts
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
        permissions = headers["Permissions-Policy"]
        for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()"):
            assert feature in permissions


def test_inline_scripts_carry_the_nonce_of_the_policy(production_site: FaultStack) -> None:
    for page in PAGES:
        _, headers, body = fetch(production_site.web_url + page, HTTPS)
        nonces = re.findall(r"'nonce-([^']+)'", headers["Content-Security-Policy"])
        for script in re.findall(r"<script\b[^>]*>", body):
            if "src=" not in script:
                assert nonces and f'nonce="{nonces[0]}"' in script, (page, script)
        assert not re.search(r"\son[a-z]+\s*=", body), f"inline event handler on {page}"


def test_plain_http_is_redirected_to_https_but_healthz_answers(production_site: FaultStack) -> None:
    status, headers, _ = fetch(production_site.web_url + "/en/")
    assert status == 301
    assert headers["Location"].startswith("https://")
    assert fetch(production_site.web_url + "/healthz")[0] == 200


def test_cookies_are_secure_httponly_and_samesite(production_site: FaultStack) -> None:
    production_site.python(
        "from django.contrib.auth import get_user_model\n"
        "get_user_model().objects.create_user('staff', 'staff@sitthi.test', 'correct horse 42')\n"
    )
    _, headers, form = fetch(production_site.web_url + "/en/accounts/login/", HTTPS)
    csrf_cookie = headers["Set-Cookie"]
    cookie_match = re.search(r"csrftoken=([^;]+)", csrf_cookie)
    token_match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    assert cookie_match and token_match
    cookie_value, token = cookie_match.group(1), token_match.group(1)
    data = f"csrfmiddlewaretoken={token}&login=staff%40sitthi.test&password=correct+horse+42"
    # Sent by hand: a cookie jar keeps Secure cookies off this plain-HTTP hop
    # (the TLS proxy in front of gunicorn is played by X-Forwarded-Proto).
    status, headers, body = fetch(
        production_site.web_url + "/en/accounts/login/",
        {
            **HTTPS,
            "Cookie": f"csrftoken={cookie_value}",
            "Referer": production_site.web_url.replace("http:", "https:") + "/en/accounts/login/",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        data=data.encode(),
    )
    assert status == 302, body[:2000]
    session_cookie = ";".join(headers.get_all("Set-Cookie") or [])
    for cookie, name in ((csrf_cookie, "csrftoken"), (session_cookie, "sessionid")):
        assert f"{name}=" in cookie
        attributes = cookie.lower()
        assert "secure" in attributes, cookie
        assert "httponly" in attributes, cookie
        assert "samesite=lax" in attributes, cookie


def test_a_post_without_csrf_token_is_refused(production_site: FaultStack) -> None:
    status, _, body = fetch(
        production_site.web_url + "/en/accounts/login/",
        {
            **HTTPS,
            "Referer": production_site.web_url.replace("http:", "https:") + "/en/accounts/login/",
        },
        data=b"login=staff%40sitthi.test&password=whatever",
    )
    assert status == 403
    assert "Traceback" not in body
