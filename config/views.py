import sys
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.core.signals import setting_changed
from django.db import DatabaseError, connection
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template import loader
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_safe

from config.celery import app as celery_app


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError:
        return False


def _cache_ok() -> bool:
    try:
        cache.set("healthz", "ok", 5)
        return bool(cache.get("healthz") == "ok")
    except Exception:  # any client error means the cache is not usable
        return False


def _broker_state() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager"
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception:
        return "down"


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Database, cache and broker state for a load balancer: 503 when one is down."""
    checks = {
        "database": "ok" if _database_ok() else "down",
        "cache": "ok" if _cache_ok() else "down",
        "broker": _broker_state(),
    }
    healthy = "down" not in checks.values()
    return JsonResponse(
        {"status": "ok" if healthy else "down", **checks}, status=200 if healthy else 503
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """500 page; a database outage gets a friendly, translated 503 instead.

    Rendered without the request context so that it never touches the
    database (the session and the user are what just failed).
    """
    error = sys.exc_info()[1]
    if isinstance(error, DatabaseError):
        body = loader.render_to_string("503.html")
        return HttpResponse(body, status=503, headers={"Retry-After": "30"})
    return HttpResponse(loader.render_to_string("500.html"), status=500)


# Django's own 400 and 404 views are wrapped in requires_csrf_token, which
# reads request.POST to check the token. When the body is what could not be
# read (a form declared in latin-1 or UTF-16, a body over the size limit), that
# raises the same error again inside the handler and turns a 400 into a 500.
# These handlers render the site's pages and never touch the body.


#
# The answers a flood of junk gets (a scanner's guesses, a fuzzer's bodies,
# forms without their cookie) are rendered once per language and process
# and kept (the most recent few): they depend on nothing the request
# carries but their language and, for a form, the way back. Their language
# switcher leads to each language's home page (an address that failed has
# no other language), and they name no alternates for search engines.


@lru_cache(maxsize=64)
def _error_page(template: str, language: str, **context: object) -> str:
    with translation.override(language):
        context |= {
            "SITE_NAME": settings.SITE_NAME,
            "SITE_URL": settings.SITE_URL,
            "language_alternates": [
                {"code": code, "name": name, "current": code == language, "url": _home(code)}
                for code, name in settings.LANGUAGES
            ],
        }
        return loader.render_to_string(template, context)


@receiver(setting_changed)
def _error_pages_forget(**kwargs: object) -> None:
    # A test that changes the site's name, languages or static files.
    _error_page.cache_clear()


def _home(language: str) -> str:
    with translation.override(language):
        return reverse("campaigns:home")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """400: a body, query or header that could not be read; nothing was done."""
    # Raised before LocaleMiddleware has run (by RejectInvalidUtf8Middleware):
    # the page's language comes from its address, as LocaleMiddleware would.
    language = translation.get_language_from_path(
        request.path_info
    ) or translation.get_language_from_request(request)
    return HttpResponse(_error_page("400.html", language), status=400)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """404 (a form posted in a foreign charset to an address that does not exist too)."""
    return HttpResponse(_error_page("404.html", translation.get_language()), status=404)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent without its CSRF cookie (cookies blocked, or the browser
    session ended while the page stayed open): nothing was done. A page in
    the reader's language and the site's layout, with a way back to the form
    (it sets a fresh cookie) instead of Django's bare English 403."""
    match = request.resolver_match
    if match is not None and match.view_name == "signatures:sign":
        way_back = reverse("signatures:campaign", kwargs={"slug": match.kwargs["slug"]})
        to_petition = True
    else:
        way_back = reverse("campaigns:home")
        to_petition = False
    page = _error_page(
        "403_csrf.html", translation.get_language(), way_back=way_back, to_petition=to_petition
    )
    return HttpResponse(page, status=403)


@require_safe
@cache_control(public=True, max_age=24 * 3600)
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers and feed readers ask for /favicon.ico whatever the page says.
    A temporary redirect: the static file's hashed name changes with it."""
    return redirect(static("favicon.ico"))
