"""The public campaign page: text, figures, signers, sharing, meta, JSON figures."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from signatures.models import Signature
from tests.factories import make_campaign, make_signature


@pytest.fixture
def campaign(db: None):
    return make_campaign(
        closes_at=timezone.now() + timedelta(days=4, hours=1), goal_milestones=[5, 10]
    )


def test_the_page_shows_count_goal_and_time_left_in_khmer_digits(client: Client, campaign) -> None:
    for _ in range(3):
        make_signature(campaign, country="FR")
    page = client.get(f"/km/campaigns/{campaign.slug}/").content.decode()
    assert "<span data-count>៣</span>" in page
    assert "<span data-goal>៥</span>" in page
    assert '<progress id="progress-right-to-vote" max="5" value="3"' in page
    assert "៤" in page  # days left


def test_the_page_lists_top_countries_and_only_opted_in_signers(client: Client, campaign) -> None:
    make_signature(campaign, full_name="Chan Sophea", country="AU", show_publicly=True)
    make_signature(campaign, full_name="Hidden Signer", country="AU")
    make_signature(
        campaign, full_name="Not Confirmed", show_publicly=True, status=Signature.Status.PENDING
    )
    page = client.get(f"/en/campaigns/{campaign.slug}/").content.decode()
    assert "<td>Australia</td><td>2</td>" in page
    assert "<bdi>Chan Sophea</bdi>, Australia" in page
    assert "Hidden Signer" not in page
    assert "Not Confirmed" not in page


def test_share_links_are_plain_links_with_no_third_party_script(client: Client, campaign) -> None:
    page = client.get(f"/en/campaigns/{campaign.slug}/").content.decode()
    for start in (
        "https://www.facebook.com/sharer/sharer.php?u=",
        "https://t.me/share/url?url=",
        "https://wa.me/?text=",
        "https://x.com/intent/post?",
        "mailto:?subject=",
    ):
        assert f'href="{start}' in page
    assert 'id="share-url"' in page
    scripts = [line for line in page.splitlines() if "<script" in line]
    assert scripts and all('src="/static/js/' in line for line in scripts)


def test_open_graph_and_twitter_meta_follow_the_language(client: Client, campaign) -> None:
    english = client.get(f"/en/campaigns/{campaign.slug}/").content.decode()
    khmer = client.get(f"/km/campaigns/{campaign.slug}/").content.decode()
    assert f'<meta property="og:title" content="{campaign.title_en}">' in english
    assert f'<meta property="og:title" content="{campaign.title_km}">' in khmer
    assert '<meta property="og:locale" content="km_KH">' in khmer
    assert '<meta name="twitter:card"' in english
    assert '<meta property="og:url" content="http' in english


def test_a_missing_language_shows_the_other_with_a_note(client: Client, db) -> None:
    campaign = make_campaign(slug="english-only", title_km="", body_km="", summary_km="")
    page = client.get(f"/km/campaigns/{campaign.slug}/").content.decode()
    assert f'<h1 lang="en">{campaign.title_en}</h1>' in page
    assert 'class="note"' in page
    assert '<div class="prose" lang="en">' in page


def test_the_figures_endpoint_allows_a_few_seconds_of_caching(client: Client, campaign) -> None:
    make_signature(campaign, country="KH")
    make_signature(campaign, country="FR")
    make_signature(campaign, country="FR")
    response = client.get(f"/km/campaigns/{campaign.slug}/figures.json")
    assert response["Cache-Control"] == "public, max-age=3"
    figures = response.json()
    assert figures["total"] == 3
    assert figures["total_display"] == "៣"
    assert figures["goal"] == 5
    assert [(c["country"], c["count"]) for c in figures["by_country"]] == [("FR", 2), ("KH", 1)]
    assert figures["updated_at"]


def test_a_draft_campaign_is_not_public(client: Client, db) -> None:
    campaign = make_campaign(slug="draft-one", status="draft")
    assert client.get(f"/en/campaigns/{campaign.slug}/").status_code == 404
    assert client.get(f"/en/campaigns/{campaign.slug}/figures.json").status_code == 404


def test_the_page_works_without_javascript(client: Client, campaign) -> None:
    """The form posts to a real URL and the count is in the HTML itself."""
    page = client.get(f"/en/campaigns/{campaign.slug}/").content.decode()
    assert f'action="/en/campaigns/{campaign.slug}/sign/#sign"' in page
    assert "<span data-count>0</span>" in page
