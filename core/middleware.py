"""Headers every response carries, pages and static files alike."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

# No other site may embed our pages, images, fonts or scripts (a signer's
# page read cross-origin through <img> or <script> tricks). Django has no
# setting for it.
RESOURCE_POLICY = "same-origin"


class ResourcePolicyMiddleware:
    """Add `Cross-Origin-Resource-Policy: same-origin` to every response.

    It sits before WhiteNoise in MIDDLEWARE so the static files WhiteNoise
    answers pass through it too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Cross-Origin-Resource-Policy", RESOURCE_POLICY)
        return response


def static_file_headers(headers: dict[str, str], path: str, url: str) -> None:
    """WHITENOISE_ADD_HEADERS_FUNCTION: the same header on a static file
    wherever WhiteNoise serves it (also as a WSGI wrapper, without Django's
    middleware)."""
    headers["Cross-Origin-Resource-Policy"] = RESOURCE_POLICY
