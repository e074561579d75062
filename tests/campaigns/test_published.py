"""Public campaigns are kept a few seconds per process (campaigns.published):
a change made through the models shows at once, one made by another process
within the TTL, and the fresh signing form kept per language never shows one
reader's language or typing to another."""

import time
from typing import Any

import pytest
from django.test import Client

from campaigns import published
from campaigns.models import Campaign
from tests.factories import make_campaign, make_question

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_fill_delay(settings: Any) -> None:
    settings.SIGNATURE_MIN_FILL_SECONDS = 0


def page(client: Client, campaign: Campaign, language: str = "en") -> str:
    response = client.get(f"/{language}/campaigns/{campaign.slug}/")
    assert response.status_code == 200
    return response.content.decode()


def test_an_edited_title_and_a_new_question_show_at_once(client: Client) -> None:
    campaign = make_campaign()
    assert "The right to vote for Cambodians overseas" in page(client, campaign)
    campaign.title_en = "Let us vote from abroad"
    campaign.save()
    assert "Let us vote from abroad" in page(client, campaign)
    make_question(campaign, label_en="Did you vote in 2013?")
    assert "Did you vote in 2013?" in page(client, campaign)


def test_a_campaign_made_a_draft_is_gone_at_once(client: Client) -> None:
    campaign = make_campaign()
    page(client, campaign)
    campaign.status = Campaign.Status.DRAFT
    campaign.save()
    assert client.get(f"/en/campaigns/{campaign.slug}/").status_code == 404
    assert client.post(f"/en/campaigns/{campaign.slug}/sign/", {}).status_code == 404


def test_a_change_made_by_another_process_shows_within_the_ttl(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign = make_campaign()
    page(client, campaign)
    # A queryset update sends no signal: as a change made in another process.
    Campaign.objects.filter(pk=campaign.pk).update(title_en="Changed elsewhere")
    assert "Changed elsewhere" not in page(client, campaign)
    later = time.monotonic() + published.PUBLISHED_TTL_SECONDS + 0.1
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert "Changed elsewhere" in page(client, campaign)


def test_the_kept_form_is_in_the_readers_language(client: Client) -> None:
    campaign = make_campaign()
    make_question(campaign)
    english, khmer = page(client, campaign, "en"), page(client, campaign, "km")
    assert "Are you registered to vote in Cambodia?" in english
    assert "Choose a country" in english
    assert "តើអ្នកបានចុះឈ្មោះបោះឆ្នោតនៅកម្ពុជាទេ?" in khmer
    assert "Choose a country" not in khmer
    assert "Are you registered to vote in Cambodia?" not in page(client, campaign, "km")


def test_a_form_with_errors_shows_what_was_typed_and_the_next_reader_a_fresh_form(
    client: Client,
) -> None:
    campaign = make_campaign()
    page(client, campaign)  # the fresh form is kept
    refused = client.post(
        f"/en/campaigns/{campaign.slug}/sign/",
        {"full_name": "Sok Dara Typed", "email": "not-an-address", "country": "FR"},
    )
    assert refused.status_code == 400
    assert 'value="Sok Dara Typed"' in refused.content.decode()
    assert 'aria-invalid="true"' in refused.content.decode()
    fresh = page(Client(), campaign)
    assert "Sok Dara Typed" not in fresh
    assert 'aria-invalid="true"' not in fresh


def test_each_reader_gets_a_form_token_of_their_own(client: Client) -> None:
    campaign = make_campaign()
    tokens = {
        line for line in page(client, campaign).splitlines() if 'name="form_token"' in line
    } | {line for line in page(Client(), campaign).splitlines() if 'name="form_token"' in line}
    assert len(tokens) == 2
