"""No dead ends: every page a signer can reach has a way on, in their language."""

import re
from typing import Any

import pytest
from django.test import Client

from campaigns.models import Campaign
from signatures.links import withdrawal_link
from signatures.models import Signature
from tests.factories import make_campaign
from tests.signatures.conftest import sign

pytestmark = pytest.mark.django_db

OTHER = {"en": "km", "km": "en"}


def _switch_link(page: str, lang: str) -> str:
    """Where the language switcher sends a reader who picks `lang`."""
    found = re.search(rf'<a href="([^"]*)" hreflang="{lang}"', page)
    assert found, page
    return found.group(1)


# --- Switching language after a form error -------------------------------------


@pytest.mark.parametrize("lang", ["en", "km"])
def test_language_switch_on_a_form_error_goes_to_the_campaign_page(
    client: Client, campaign: Campaign, lang: str
) -> None:
    response = sign(client, campaign, lang=lang, email="not an address")
    assert response.status_code == 400
    other = OTHER[lang]
    assert _switch_link(response.content.decode(), other) == f"/{other}/campaigns/{campaign.slug}/"


def test_language_switch_on_an_ordinary_page_keeps_the_page_and_its_query(
    client: Client, campaign: Campaign
) -> None:
    page = client.get(f"/en/campaigns/{campaign.slug}/?utm_source=telegram").content.decode()
    assert _switch_link(page, "km") == f"/km/campaigns/{campaign.slug}/?utm_source=telegram"


def test_a_form_error_page_offers_no_alternate_addresses_to_search_engines(
    client: Client, campaign: Campaign
) -> None:
    page = sign(client, campaign, email="not an address").content.decode()
    assert "/sign/" not in re.sub(r'action="[^"]*"', "", page)


@pytest.mark.parametrize("lang", ["en", "km"])
@pytest.mark.parametrize("method", ["get", "head"])
def test_opening_the_sign_address_leads_to_the_campaign_page(
    client: Client, campaign: Campaign, lang: str, method: str
) -> None:
    response = getattr(client, method)(f"/{lang}/campaigns/{campaign.slug}/sign/?x=1")
    assert response.status_code == 302
    assert response["Location"] == f"/{lang}/campaigns/{campaign.slug}/"


def test_opening_the_sign_address_of_an_unknown_campaign_is_not_found(client: Client) -> None:
    assert client.get("/en/campaigns/no-such-campaign/sign/").status_code == 404


def test_other_methods_on_the_sign_address_are_still_refused(
    client: Client, campaign: Campaign
) -> None:
    assert client.put(f"/en/campaigns/{campaign.slug}/sign/").status_code == 405


# --- A missing CSRF cookie ---------------------------------------------------------

CSRF_PAGE = {
    "en": "Your form could not be sent",
    "km": "ទម្រង់របស់អ្នកមិនអាចផ្ញើបានទេ",
}


@pytest.mark.parametrize("lang", ["en", "km"])
def test_a_form_sent_without_the_cookie_gets_a_translated_page_back_to_the_petition(
    campaign: Campaign, lang: str
) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(f"/{lang}/campaigns/{campaign.slug}/sign/", {"full_name": "Dara"})
    assert response.status_code == 403
    page = response.content.decode()
    assert f'<html lang="{lang}">' in page
    assert CSRF_PAGE[lang] in page
    assert 'class="site-header"' in page  # the site's layout, not Django's bare page
    assert f'href="/{lang}/campaigns/{campaign.slug}/"' in page
    assert not Signature.objects.exists()


@pytest.mark.parametrize("lang", ["en", "km"])
def test_another_form_sent_without_the_cookie_leads_home(campaign: Campaign, lang: str) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(f"/{lang}/sign/withdraw/not-a-token/")
    assert response.status_code == 403
    page = response.content.decode()
    assert CSRF_PAGE[lang] in page
    assert f'<a class="button" href="/{lang}/">' in page


def test_the_form_works_again_after_following_the_link_back(campaign: Campaign) -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.post(f"/en/campaigns/{campaign.slug}/sign/").status_code == 403
    page = client.get(f"/en/campaigns/{campaign.slug}/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token
    response = sign(client, campaign, csrfmiddlewaretoken=token.group(1))
    assert response.status_code == 302


def test_the_csrf_cookie_lasts_only_as_long_as_the_browser_session(
    client: Client, campaign: Campaign
) -> None:
    response = client.get(f"/km/campaigns/{campaign.slug}/")
    cookie = response.cookies["csrftoken"]
    assert cookie["max-age"] == ""
    assert cookie["expires"] == ""


@pytest.mark.parametrize(
    ("lang", "lasts"),
    [("en", "deletes it when you close it"), ("km", "លុបវាចោល នៅពេលអ្នកបិទកម្មវិធីរុករក")],
)
def test_the_privacy_notice_names_the_only_cookie_readers_get(
    client: Client, lang: str, lasts: str
) -> None:
    page = client.get(f"/{lang}/about/").content.decode()
    privacy = page.split('id="privacy"', 1)[1]
    assert "csrftoken" in privacy
    assert lasts in privacy


# --- Ways back from the withdraw and link pages --------------------------------------

KEEP = {"en": "Keep my signature", "km": "រក្សាហត្ថលេខារបស់ខ្ញុំទុក"}


def _withdraw_token(signature: Signature) -> str:
    return withdrawal_link(signature).rstrip("/").rsplit("/", 1)[1]


@pytest.mark.parametrize("lang", ["en", "km"])
def test_the_withdraw_page_offers_to_keep_the_signature(
    client: Client, signature_factory: Any, lang: str
) -> None:
    signature = signature_factory(status=Signature.Status.CONFIRMED)
    page = client.get(f"/{lang}/sign/withdraw/{_withdraw_token(signature)}/").content.decode()
    main = page.split("<main", 1)[1]
    assert f'href="/{lang}/campaigns/{signature.campaign.slug}/"' in main
    assert KEEP[lang] in main


@pytest.mark.parametrize("lang", ["en", "km"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_an_invalid_withdraw_link_leads_home(client: Client, lang: str, method: str) -> None:
    response = getattr(client, method)(f"/{lang}/sign/withdraw/not-a-token/")
    assert response.status_code == 400
    main = response.content.decode().split("<main", 1)[1]
    assert f'href="/{lang}/"' in main


@pytest.mark.parametrize("lang", ["en", "km"])
def test_an_invalid_confirm_link_leads_home(client: Client, lang: str) -> None:
    response = client.get(f"/{lang}/sign/confirm/not-a-token/")
    assert response.status_code == 400
    main = response.content.decode().split("<main", 1)[1]
    assert f'href="/{lang}/"' in main


def test_a_withdrawn_page_leads_back_to_the_petition(
    client: Client, signature_factory: Any
) -> None:
    signature = signature_factory(status=Signature.Status.CONFIRMED)
    response = client.post(f"/en/sign/withdraw/{_withdraw_token(signature)}/")
    main = response.content.decode().split("<main", 1)[1]
    assert f'href="/en/campaigns/{signature.campaign.slug}/"' in main


# --- The progress line -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "milestones", "line"),
    [
        ("en", [1000], "Toward the goal of <span data-goal>1,000</span> signatures"),
        ("en", [1], "Toward the goal of <span data-goal>1</span> signature<"),
        ("km", [1000], "ឆ្ពោះទៅរកគោលដៅ <span data-goal>១,០០០</span> ហត្ថលេខា"),
    ],
)
def test_the_progress_line_names_signatures(
    client: Client, lang: str, milestones: list[int], line: str
) -> None:
    campaign = make_campaign(goal_milestones=milestones)
    page = client.get(f"/{lang}/campaigns/{campaign.slug}/").content.decode()
    assert line in page
