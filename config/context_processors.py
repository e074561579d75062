from functools import lru_cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import get_urlconf, translate_url
from django.utils.translation import get_language

# Translating a page's address resolves it and reverses it in each language:
# a fifth of an error page's CPU (a flood of bad forms answers thousands of
# them). The answer depends on the address, the language and the URLs alone,
# so each process keeps the most recent ones; a longer address (a query
# string nobody else sends) is translated afresh rather than kept.
KEPT_ADDRESS_LENGTH = 512


@lru_cache(maxsize=4096)
def _translated(path: str, code: str, urlconf: str | None, root_urlconf: str) -> str:
    return translate_url(path, code)


def _alternate_url(path: str, code: str) -> str:
    """The address of this page in the language `code`."""
    if len(path) > KEPT_ADDRESS_LENGTH:
        return translate_url(path, code)
    return _translated(path, code, get_urlconf(), settings.ROOT_URLCONF)


def site(request: HttpRequest) -> dict[str, Any]:
    """The site's name and the current page in every language (switcher, hreflang)."""
    path = request.get_full_path()
    current = get_language()
    alternates = [
        {"code": code, "name": name, "url": _alternate_url(path, code), "current": code == current}
        for code, name in settings.LANGUAGES
    ]
    return {
        "SITE_NAME": settings.SITE_NAME,
        "SITE_URL": settings.SITE_URL,
        "language_alternates": alternates,
    }
