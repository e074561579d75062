import codecs
from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse


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
