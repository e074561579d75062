import codecs
import secrets
from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.exceptions import BadRequest
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseBase


class BrowserPoliciesMiddleware:
    """The policy headers Django has no setting for, on every response: no
    browser feature a Sitthi page does not need (camera, location...), and
    no other site may load our pages, images, fonts or scripts. Before
    WhiteNoise in MIDDLEWARE, so static files carry them too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        response.setdefault("Cross-Origin-Resource-Policy", settings.CROSS_ORIGIN_RESOURCE_POLICY)
        return response


def static_file_headers(headers: dict[str, str], path: str, url: str) -> None:
    """WHITENOISE_ADD_HEADERS_FUNCTION: the resource policy on a static file
    wherever WhiteNoise serves it (also as a WSGI wrapper, without Django's
    middleware)."""
    headers["Cross-Origin-Resource-Policy"] = settings.CROSS_ORIGIN_RESOURCE_POLICY


class RejectInvalidUtf8Middleware:
    """400 for a query string or form body that is not valid UTF-8, or a form
    body that says it is in another charset.

    Django would decode such bytes as best it can (mojibake) and let them
    reach forms and the database; a browser never sends them, a fuzzer does.
    Multipart bodies (uploads) are binary and left to the forms.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if query and not _decodes(query.encode("latin-1", errors="replace")):
            raise BadRequest("query string is not UTF-8")
        if request.content_type in FORM_TYPES:
            charset = (request.content_params or {}).get("charset")
            if charset is not None and not _is_utf8(charset):
                # Django refuses (urlencoded) or misreads (multipart) such a body.
                raise BadRequest("form body declares a charset other than UTF-8")
            if charset is not None:
                request.encoding = "utf-8"  # "UTF8", "utf_8": Django knows only "utf-8"
        form = request.content_type == "application/x-www-form-urlencoded"
        # request.body is bounded by DATA_UPLOAD_MAX_MEMORY_SIZE (400 beyond it).
        if form and request.method in {"POST", "PUT", "PATCH"} and not _decodes(request.body):
            raise BadRequest("form body is not UTF-8")
        return self.get_response(request)


FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


def _is_utf8(charset: str) -> bool:
    try:
        return codecs.lookup(charset).name == "utf-8"
    except LookupError:
        return False


def _decodes(raw: bytes) -> bool:
    try:
        unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# --- The Content Security Policy, built once per process ---------------------

# Letters and digits only (a nonce is base64), new in every process.
_NONCE_PLACEHOLDER = f"nonce{secrets.token_hex(16)}"
# What a view or decorator sets on a response to give it a policy of its own.
_OWN_POLICY = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)


class KeptPolicyCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, with the site's policies built once per process.

    django-csp builds both headers (the policy and the report-only one) from
    the settings on every response: a tenth of the campaign page's CPU. They
    are the same on every response but for the nonce, so each (with or
    without a nonce) is built once, by django-csp, with a placeholder where
    the nonce goes, and each response gets it with its own nonce. A response
    with a policy of its own (csp_replace on the widget, csp_update,
    csp_exempt ...) and Django's debug pages go through django-csp as before.
    """

    _kept: dict[tuple[bool, bool], str] = {}

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        own_policy = any(getattr(response, name, None) is not None for name in _OWN_POLICY)
        exempt = getattr(response, "_csp_exempt", False) or getattr(
            response, "_csp_exempt_ro", False
        )
        if own_policy or exempt or settings.DEBUG:
            return super().process_response(request, response)
        nonce = getattr(request, "_csp_nonce", None)
        for header, report_only in ((HEADER, False), (HEADER_REPORT_ONLY, True)):
            policy = self._policy(report_only, with_nonce=nonce is not None)
            if policy and header not in response and not _excluded(request, report_only):
                response[header] = policy.replace(_NONCE_PLACEHOLDER, nonce) if nonce else policy
        if nonce is None:
            # As django-csp: asking for a nonce once the header is written is an error.
            request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response

    @classmethod
    def _policy(cls, report_only: bool, *, with_nonce: bool) -> str:
        key = (report_only, with_nonce)
        policy = cls._kept.get(key)
        if policy is None:
            nonce = _NONCE_PLACEHOLDER if with_nonce else None
            policy = cls._kept[key] = build_policy(nonce=nonce, report_only=report_only)
        return policy


def _excluded(request: HttpRequest, report_only: bool) -> bool:
    name = "CONTENT_SECURITY_POLICY_REPORT_ONLY" if report_only else "CONTENT_SECURITY_POLICY"
    prefixes = (getattr(settings, name, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
    return request.path_info.startswith(tuple(prefixes))


@receiver(setting_changed)
def _policies_forget(*, setting: str, **kwargs: object) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        KeptPolicyCSPMiddleware._kept.clear()
