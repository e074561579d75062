"""Cross-Origin-Resource-Policy: no other site may load our pages or files."""

from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from whitenoise.middleware import WhiteNoiseMiddleware

pytestmark = pytest.mark.django_db


@pytest.fixture
def static_from_source(settings: Any) -> None:
    # Tests have no collectstatic: WhiteNoise finds the files where they are written.
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True


@pytest.mark.parametrize("path", ["/en/", "/km/campaigns/", "/en/no-such-page/"])
def test_every_page_is_same_origin_only(client: Client, path: str) -> None:
    response = client.get(path)

    assert response["Cross-Origin-Resource-Policy"] == "same-origin"


def test_a_refused_post_is_same_origin_only_too(client: Client) -> None:
    response = client.post("/en/", data=b"\xff", content_type="application/x-www-form-urlencoded")

    assert response.status_code >= 400
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"


def test_a_static_file_is_same_origin_only(client: Client, static_from_source: None) -> None:
    response = client.get("/static/css/sitthi.css")

    assert response.status_code == 200
    assert "text/css" in response["Content-Type"]  # WhiteNoise answered, not a 404 page
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"


def test_whitenoise_adds_the_header_without_the_rest_of_the_middleware(
    static_from_source: None,
) -> None:
    def never_reached(request: HttpRequest) -> HttpResponse:
        raise AssertionError("WhiteNoise should have answered")

    whitenoise = WhiteNoiseMiddleware(never_reached)

    response = whitenoise(RequestFactory().get("/static/css/sitthi.css"))

    assert response.status_code == 200
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"
