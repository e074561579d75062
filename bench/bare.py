"""The yardstick every Sitthi figure is divided by: a bare Django view that
does one INSERT, served by the same settings, middleware and server as the
app. `bench.urls` mounts it beside Sitthi's own URLs."""

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt


def table_create() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_bare_hit (id bigserial PRIMARY KEY, at timestamptz)"
        )


@csrf_exempt
def bare_insert(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_bare_hit (at) VALUES (now())")
    return HttpResponse("ok", content_type="text/plain")
