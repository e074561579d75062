"""The campaign widget other sites frame: what it shows, who may frame it,
and that it leaves no cookie in the reader's browser."""

import html
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from campaigns.models import Campaign
from core import roles
from tests.factories import make_campaign, make_signature, make_staff, sign_in

pytestmark = pytest.mark.django_db


def _frame_ancestors(response: Any) -> str:
    [directive] = [
        part.strip()
        for part in response["Content-Security-Policy"].split(";")
        if part.strip().startswith("frame-ancestors")
    ]
    return directive


def test_widget_shows_title_count_in_khmer_digits_goal_bar_and_a_link_to_sign(
    client: Client, campaign: Campaign
) -> None:
    for _ in range(3):
        make_signature(campaign)
    response = client.get(f"/km/campaigns/{campaign.slug}/widget/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="km">' in page
    assert campaign.title_km in page
    assert re.search(r"<span data-count>៣</span>", page)
    assert re.search(r'<progress [^>]*max="1000" value="3"', page)
    assert "<span data-goal>១,០០០</span>" in page  # the goal, in Khmer digits, grouped
    [link] = re.findall(r"<a [^>]*class=\"sign\"[^>]*>", page)
    assert f'href="/km/campaigns/{campaign.slug}/#sign"' in link
    assert 'target="_blank"' in link
    assert 'rel="noopener"' in link


def test_widget_in_english_shows_western_digits(client: Client, campaign: Campaign) -> None:
    make_signature(campaign)
    page = client.get(f"/en/campaigns/{campaign.slug}/widget/").content.decode()
    assert campaign.title_en in page
    assert "<span data-count>1</span>" in page
    assert "<span data-goal>1,000</span>" in page
    assert "Sign the petition" in page


def test_widget_of_a_closed_campaign_links_to_read_it_not_to_sign(client: Client) -> None:
    campaign = make_campaign(status=Campaign.Status.CLOSED)
    page = client.get(f"/en/campaigns/{campaign.slug}/widget/").content.decode()
    assert "Read the petition" in page
    assert "#sign" not in page


def test_widget_loads_only_its_own_small_style_and_the_live_count_script(
    client: Client, campaign: Campaign
) -> None:
    page = client.get(f"/en/campaigns/{campaign.slug}/widget/").content.decode()
    loaded = re.findall(r'(?:src|href)="([^"#]+)"', page)
    assert sorted(url for url in loaded if url.startswith("/static/")) == [
        "/static/css/widget.css",
        "/static/js/live-count.js",
    ]
    assert [url for url in loaded if not url.startswith("/")] == []  # nothing from another host
    # The live count polls the same figures as the campaign page.
    assert f'data-url="/en/campaigns/{campaign.slug}/figures.json"' in page


def test_any_site_may_frame_the_widget_by_default(client: Client, campaign: Campaign) -> None:
    response = client.get(f"/km/campaigns/{campaign.slug}/widget/")
    assert _frame_ancestors(response) == "frame-ancestors *"
    assert "X-Frame-Options" not in response


def test_the_configured_sites_alone_may_frame_the_widget(
    client: Client, campaign: Campaign, settings: Any
) -> None:
    settings.WIDGET_FRAME_ANCESTORS = ["https://khmer-news.example", "https://*.ceroc.example"]
    response = client.get(f"/en/campaigns/{campaign.slug}/widget/")
    assert (
        _frame_ancestors(response)
        == "frame-ancestors https://khmer-news.example https://*.ceroc.example"
    )
    assert "X-Frame-Options" not in response


def test_every_other_page_still_forbids_frames(client: Client, campaign: Campaign) -> None:
    for address in (
        f"/km/campaigns/{campaign.slug}/",
        f"/en/campaigns/{campaign.slug}/",
        f"/en/campaigns/{campaign.slug}/figures.json",
    ):
        response = client.get(address)
        assert _frame_ancestors(response) == "frame-ancestors 'none'", address
        assert response["X-Frame-Options"] == "DENY", address


@pytest.mark.parametrize("lang", ["km", "en"])
def test_widget_sets_no_cookie(client: Client, campaign: Campaign, lang: str) -> None:
    response = client.get(f"/{lang}/campaigns/{campaign.slug}/widget/")
    assert response.status_code == 200
    assert response.cookies == {}
    assert "Cookie" not in response.get("Vary", "")


@pytest.mark.parametrize("lang", ["km", "en"])
def test_widget_sets_no_cookie_for_a_reader_who_has_a_session(
    client: Client, campaign: Campaign, lang: str
) -> None:
    sign_in(client, make_staff())  # a real session cookie, sent with the request
    client.get(f"/{lang}/campaigns/{campaign.slug}/")  # and the CSRF cookie a form page sets
    assert set(client.cookies) >= {"sessionid", "csrftoken"}
    response = client.get(f"/{lang}/campaigns/{campaign.slug}/widget/")
    assert response.status_code == 200
    assert response.cookies == {}


@pytest.mark.parametrize("lang", ["km", "en"])
def test_widget_sets_no_cookie_for_a_stale_session_cookie(
    client: Client, campaign: Campaign, lang: str
) -> None:
    # A session that expired: reading it would have Django delete the cookie.
    client.cookies["sessionid"] = "x" * 32
    client.cookies["django_language"] = "en"
    response = client.get(f"/{lang}/campaigns/{campaign.slug}/widget/")
    assert response.status_code == 200
    assert response.cookies == {}


def test_widget_is_the_same_for_every_reader_and_may_be_kept_a_minute(
    client: Client, campaign: Campaign
) -> None:
    response = client.get(f"/km/campaigns/{campaign.slug}/widget/")
    assert response["Cache-Control"] == "public, max-age=60"
    # Pages elsewhere show it; the rest of the site stays same-origin.
    assert response["Cross-Origin-Resource-Policy"] == "cross-origin"
    page = client.get(f"/km/campaigns/{campaign.slug}/")
    assert page["Cross-Origin-Resource-Policy"] == "same-origin"


def test_widget_of_a_draft_is_not_found(client: Client) -> None:
    draft = make_campaign(slug="not-yet", status=Campaign.Status.DRAFT)
    response = client.get(f"/km/campaigns/{draft.slug}/widget/")
    assert response.status_code == 404
    assert _frame_ancestors(response) == "frame-ancestors 'none'"


def test_widget_of_an_unknown_campaign_is_not_found(client: Client, campaign: Campaign) -> None:
    assert client.get("/en/campaigns/no-such-campaign/widget/").status_code == 404


def test_widget_answers_no_form_posted_to_it(client: Client, campaign: Campaign) -> None:
    assert client.post(f"/en/campaigns/{campaign.slug}/widget/").status_code == 405


# --- The code to copy ---------------------------------------------------------


def _embed_codes(page: str) -> list[str]:
    return [html.unescape(code) for code in re.findall(r"<textarea [^>]*>([^<]*)</textarea>", page)]


@pytest.mark.parametrize("lang", ["km", "en"])
def test_campaign_page_offers_the_widget_code_in_both_languages(
    client: Client, campaign: Campaign, settings: Any, lang: str
) -> None:
    settings.SITE_URL = "https://sitthi.example"
    page = client.get(f"/{lang}/campaigns/{campaign.slug}/").content.decode()
    codes = _embed_codes(page)
    for code_lang, title in (("km", campaign.title_km), ("en", campaign.title_en)):
        widget = (
            f'<iframe src="https://sitthi.example/{code_lang}/campaigns/{campaign.slug}/widget/" '
            f'title="{title}" width="100%" height="260" loading="lazy" '
            'style="border:0;max-width:28rem"></iframe>'
        )
        assert widget in codes
        badge = f'<img src="https://sitthi.example/{code_lang}/campaigns/{campaign.slug}/badge.svg"'
        assert any(badge in code for code in codes)
    assert "data-copy-link" in page
    assert "/static/js/copy-link.js" in page


def test_embed_code_keeps_a_title_with_quotes_and_ampersands_intact(client: Client) -> None:
    campaign = make_campaign(slug="quotes", title_en='Vote "now" & here <b>')
    page = client.get(f"/en/campaigns/{campaign.slug}/").content.decode()
    assert any('title="Vote &quot;now&quot; &amp; here &lt;b&gt;"' in c for c in _embed_codes(page))


@pytest.mark.parametrize("lang", ["km", "en"])
def test_organisers_campaign_page_offers_the_same_code(
    client: Client, campaign: Campaign, lang: str
) -> None:
    sign_in(client, make_staff(roles.VIEWER))
    with translation.override(lang):
        address = reverse("organisers:dashboard", args=[campaign.slug])
    dashboard = client.get(address)
    assert dashboard.status_code == 200
    codes = _embed_codes(dashboard.content.decode())
    public_page = client.get(f"/{lang}/campaigns/{campaign.slug}/").content.decode()
    assert codes == _embed_codes(public_page)
    assert len(codes) == 4  # the widget and the badge, in each language
