"""The Content Security Policy built once per process gives every response
the header django-csp itself would build for it, whatever the response
(a nonce or none, a policy of its own, exempt, a header set already) and
whatever the settings say (a report-only policy, excluded prefixes)."""

from collections.abc import Callable
from typing import Any

import pytest
from csp.constants import HEADER, HEADER_REPORT_ONLY, NONCE, SELF
from csp.middleware import CSPMiddleware
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from config.middleware import KeptPolicyCSPMiddleware


def _answered(
    middleware_class: type[CSPMiddleware],
    prepare: Callable[[HttpRequest, HttpResponse], None],
    path: str,
) -> tuple[dict[str, str], HttpRequest]:
    request = RequestFactory().get(path)
    middleware = middleware_class(lambda request: HttpResponse())
    middleware.process_request(request)
    response = HttpResponse("page")
    prepare(request, response)
    middleware.process_response(request, response)
    headers = {name: response[name] for name in (HEADER, HEADER_REPORT_ONLY) if name in response}
    return headers, request


def _nonce_used(request: HttpRequest, response: HttpResponse) -> None:
    str(request.csp_nonce)  # type: ignore[attr-defined]  # a template asked for it
    request._csp_nonce = "AbC123+/="  # type: ignore[attr-defined]  # the same in both runs


CASES: dict[str, Callable[[HttpRequest, HttpResponse], None]] = {
    "no nonce": lambda request, response: None,
    "a nonce": _nonce_used,
    "a policy replaced (the widget)": lambda request, response: setattr(
        response, "_csp_replace", {"frame-ancestors": ["https://example.org"]}
    ),
    "a policy updated": lambda request, response: setattr(
        response, "_csp_update", {"img-src": ["https://example.org"]}
    ),
    "exempt": lambda request, response: setattr(response, "_csp_exempt", True),
    "a header set already": lambda request, response: response.__setitem__(HEADER, "x"),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
@pytest.mark.parametrize("report_only", [False, True], ids=["policy", "and report-only"])
def test_each_response_gets_what_django_csp_would_give_it(
    case: Callable[[HttpRequest, HttpResponse], None], report_only: bool, settings: Any
) -> None:
    assert not settings.DEBUG  # with DEBUG on, every response goes through django-csp
    if report_only:
        settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {
            "DIRECTIVES": {"default-src": [SELF], "script-src": [SELF, NONCE]},
            "EXCLUDE_URL_PREFIXES": ["/static/"],
        }
    for path in ("/en/campaigns/x/", "/static/x.css"):
        expected, _ = _answered(CSPMiddleware, case, path)
        for _run in range(2):  # built, then kept
            kept, request = _answered(KeptPolicyCSPMiddleware, case, path)
            assert kept == expected, path


def test_a_changed_policy_is_used_at_once(settings: Any) -> None:
    _answered(KeptPolicyCSPMiddleware, CASES["no nonce"], "/en/")
    assert KeptPolicyCSPMiddleware._kept  # built once, kept
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    headers, _ = _answered(KeptPolicyCSPMiddleware, CASES["no nonce"], "/en/")
    assert headers == {HEADER: "default-src 'none'"}


def test_asking_for_a_nonce_after_the_header_was_written_is_an_error() -> None:
    from csp.exceptions import CSPNonceError

    _, request = _answered(KeptPolicyCSPMiddleware, CASES["no nonce"], "/en/")
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)  # type: ignore[attr-defined]


def test_each_response_gets_its_own_nonce() -> None:
    nonces = set()
    for _ in range(3):
        request = RequestFactory().get("/en/")
        middleware = KeptPolicyCSPMiddleware(lambda request: HttpResponse())
        middleware.process_request(request)
        nonce = str(request.csp_nonce)  # type: ignore[attr-defined]
        response = middleware.process_response(request, HttpResponse())
        assert f"'nonce-{nonce}'" in response[HEADER]
        nonces.add(nonce)
    assert len(nonces) == 3
