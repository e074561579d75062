"""The widget framed by a page of another site (another local origin), in
real Chromium: it shows and updates the count, leaves no cookie, sends no
request to a third host, has no accessibility violation, and stays small."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from campaigns.models import Campaign
from tests.conftest import axe_violations
from tests.factories import make_campaign, make_signature

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDGET_WEIGHT_LIMIT = 10 * 1024  # bytes: the page, its style and its script, not the font
DIGITS = {"km": ("២", "៣"), "en": ("2", "3")}


class OtherSite:
    """An association's page on another origin, framing one widget."""

    def __init__(self) -> None:
        self.page = b""
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(site.page)))
                self.end_headers()
                self.wfile.write(site.page)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def frames(self, widget_url: str) -> str:
        """Serve a page that frames `widget_url`, as the embed code does; its address."""
        self.page = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            "<title>Khmer Association of Lyon</title></head><body><main>"
            "<h1>Our news</h1>"
            f'<iframe src="{widget_url}" title="Petition" width="100%" height="260" '
            'loading="lazy" style="border:0;max-width:28rem"></iframe>'
            "</main></body></html>"
        ).encode()
        return f"{self.url}/news.html"


@pytest.fixture
def other_site() -> Iterator[OtherSite]:
    site = OtherSite()
    thread = threading.Thread(target=site.server.serve_forever, daemon=True)
    thread.start()
    yield site
    site.server.shutdown()
    site.server.server_close()


@pytest.fixture
def campaign(live_server: Any) -> Campaign:
    campaign = make_campaign()
    for _ in range(2):
        make_signature(campaign)
    return campaign


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@pytest.mark.parametrize("lang", ["km", "en"])
def test_a_page_of_another_site_frames_the_widget_and_its_count_rises(
    live_server: Any, other_site: OtherSite, campaign: Campaign, phone_page: Any, lang: str
) -> None:
    page = phone_page.page
    widget_url = f"{live_server.url}/{lang}/campaigns/{campaign.slug}/widget/"
    page.goto(other_site.frames(widget_url))
    widget = page.frame_locator("iframe")
    expect(widget.locator("h1")).to_have_text(getattr(campaign, f"title_{lang}"))
    before, after = DIGITS[lang]
    expect(widget.locator("[data-count]")).to_have_text(before)
    sign = widget.locator("a.sign")
    assert sign.get_attribute("target") == "_blank"
    assert sign.get_attribute("rel") == "noopener"

    make_signature(campaign)
    # The live count catches up within a few seconds (figures are cached 3 s).
    expect(widget.locator("[data-count]")).to_have_text(after, timeout=20000)

    assert page.context.cookies() == []
    origins = {_origin(url) for url in phone_page.requests if url.startswith("http")}
    assert origins == {_origin(live_server.url), other_site.url}
    assert any(url.endswith("/figures.json") for url in phone_page.requests)


def test_the_campaign_page_itself_cannot_be_framed(
    live_server: Any, other_site: OtherSite, campaign: Campaign, phone_page: Any
) -> None:
    page = phone_page.page
    refused = []
    page.on("console", lambda message: refused.append(message.text))
    page.goto(other_site.frames(f"{live_server.url}/km/campaigns/{campaign.slug}/"))
    page.wait_for_load_state("load")
    framed = page.frame_locator("iframe")
    # Chromium shows its own error page in the frame, never the campaign.
    expect(framed.get_by_text(campaign.title_km)).to_have_count(0)
    expect(framed.locator("[data-count]")).to_have_count(0)
    assert any("frame-ancestors 'none'" in text for text in refused), refused


@pytest.mark.parametrize("lang", ["km", "en"])
def test_widget_has_no_accessibility_violations_and_sets_no_cookie(
    live_server: Any, campaign: Campaign, phone_page: Any, lang: str
) -> None:
    page = phone_page.page
    page.goto(f"{live_server.url}/{lang}/campaigns/{campaign.slug}/widget/")
    assert axe_violations(page) == []
    assert page.context.cookies() == []
    assert phone_page.foreign_requests(live_server.url) == []


@pytest.mark.parametrize("lang", ["km", "en"])
def test_widget_weighs_under_ten_kilobytes_without_the_font(
    live_server: Any, phone_page: Any, lang: str
) -> None:
    campaign = make_campaign(
        title_km="ញត្តិ" * 40,  # a long title, so the weight is not flattered by a short one
        title_en="The right to vote for Cambodians overseas, " * 4,
    )
    page = phone_page.page
    sizes: dict[str, int] = {}
    page.on("response", lambda response: sizes.setdefault(response.url, len(response.body())))
    page.goto(f"{live_server.url}/{lang}/campaigns/{campaign.slug}/widget/")
    page.wait_for_load_state("networkidle")
    loaded = {
        urlsplit(url).path: size
        for url, size in sizes.items()
        if not url.endswith(".woff2") and not url.endswith("/figures.json")
    }
    print(f"\nwidget weight ({lang}), uncompressed bytes:", loaded, "total", sum(loaded.values()))
    assert any(url.endswith(".woff2") for url in sizes)  # the font, self-hosted, not counted
    assert set(loaded) == {
        f"/{lang}/campaigns/{campaign.slug}/widget/",
        "/static/css/widget.css",
        "/static/js/live-count.js",
    }
    assert sum(loaded.values()) < WIDGET_WEIGHT_LIMIT
