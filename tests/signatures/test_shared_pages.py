"""The campaign, thanks and confirmation pages are rendered once for every
reader (signatures.shared_pages), and each reader still gets their own
nonce, CSRF token and form token, which work, and the figures as they are
now; pages that are not the same for everyone (another query string, a
staff member, a waiting message) are rendered for their reader alone."""

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib import messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.core import signing
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.test.signals import template_rendered
from django.utils import timezone

from campaigns.models import Campaign
from signatures import shared_pages, tallies
from signatures.forms import FORM_TOKEN_SALT
from signatures.links import confirmation_link
from signatures.models import Signature, SigningSettings, Submission
from tests.factories import make_campaign, make_signature, make_staff, sign_in

pytestmark = pytest.mark.django_db

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
NONCE = re.compile(r'nonce="([^"]+)"')


@pytest.fixture
def renders() -> Iterator[list[str]]:
    """The names of the page templates rendered while the test runs."""
    names: list[str] = []

    def note(sender: Any, template: Any, **kwargs: Any) -> None:
        if template.name in {
            "signatures/campaign.html",
            "signatures/thanks.html",
            "signatures/confirmed.html",
        }:
            names.append(template.name)

    template_rendered.connect(note)
    yield names
    template_rendered.disconnect(note)


def landing(page: str) -> dict[str, Any]:
    match = FORM_TOKEN.search(page)
    assert match, "no form token on the page"
    return signing.loads(match.group(1), salt=FORM_TOKEN_SALT)


def no_placeholder_in(page: str) -> None:
    for placeholder in (
        shared_pages.NONCE,
        shared_pages.CSRF_TOKEN,
        shared_pages.FORM_TOKEN,
        shared_pages.PARTS,
    ):
        assert placeholder not in page


def shown_total(page: str) -> str:
    match = re.search(r"<span data-count>([^<]+)</span>", page)
    assert match, "no count on the page"
    return match.group(1).strip()


def test_readers_share_one_rendering_and_each_gets_a_working_form(
    campaign: Campaign, renders: list[str]
) -> None:
    readers = [Client(enforce_csrf_checks=True) for _ in range(3)]
    responses = [reader.get(f"/en/campaigns/{campaign.slug}/") for reader in readers]
    assert renders == ["signatures/campaign.html"]  # once, for the three of them
    pages = [response.content.decode() for response in responses]
    for response, page in zip(responses, pages, strict=True):
        no_placeholder_in(page)
        nonces = set(NONCE.findall(page))
        assert len(nonces) == 1
        assert f"'nonce-{nonces.pop()}'" in response["Content-Security-Policy"]
        assert response.cookies["csrftoken"].value
    assert len({NONCE.search(page).group(1) for page in pages}) == 3  # type: ignore[union-attr]
    assert len({FORM_TOKEN.search(page).group(1) for page in pages}) == 3  # type: ignore[union-attr]
    # Each reader's tokens pass the CSRF check and the form's own.
    for number, (reader, page) in enumerate(zip(readers, pages, strict=True)):
        response = reader.post(
            f"/en/campaigns/{campaign.slug}/sign/",
            {
                "full_name": "Sok Dara",
                "email": f"dara{number}@example.org",
                "country": "FR",
                "consent": "on",
                "form_token": FORM_TOKEN.search(page).group(1),  # type: ignore[union-attr]
                "csrfmiddlewaretoken": CSRF_INPUT.search(page).group(1),  # type: ignore[union-attr]
            },
        )
        assert response.status_code == 302
    assert Submission.objects.count() == 3


def test_each_reader_s_arrival_is_in_their_own_form_token(
    client: Client, campaign: Campaign, renders: list[str]
) -> None:
    plain = client.get(
        f"/en/campaigns/{campaign.slug}/", HTTP_REFERER="https://t.me/ceroc/12?secret=1"
    ).content.decode()
    assert landing(plain)["r"] == "https://t.me/ceroc/12"
    assert landing(plain)["u"] == {}
    shared = f"/en/campaigns/{campaign.slug}/?utm_source=telegram&utm_medium=share"
    for _ in range(2):
        page = client.get(shared).content.decode()
        assert landing(page)["u"] == {"utm_source": "telegram", "utm_medium": "share"}
        assert landing(page)["r"] == ""
        # The language switcher keeps the share link's query.
        assert "/km/campaigns/" + campaign.slug + "/?utm_source=telegram" in page
    assert landing(client.get(f"/en/campaigns/{campaign.slug}/").content.decode())["u"] == {}
    assert renders == ["signatures/campaign.html"] * 2  # the plain page, the share link's


def test_each_language_has_its_own_page(
    client: Client, campaign: Campaign, renders: list[str]
) -> None:
    english = client.get(f"/en/campaigns/{campaign.slug}/").content.decode()
    khmer = client.get(f"/km/campaigns/{campaign.slug}/").content.decode()
    assert '<html lang="en">' in english
    assert '<html lang="km">' in khmer
    assert client.get(f"/en/campaigns/{campaign.slug}/").content.decode().startswith(english[:200])
    assert len(renders) == 2


@pytest.mark.parametrize(
    "query",
    [
        "?utm_source=somewhere-else&utm_medium=share",
        "?utm_source=telegram",
        "?utm_source=telegram&utm_medium=share&x=1",
        "?utm_source=telegram&utm_source=x&utm_medium=share",
        "?page=2",
    ],
)
def test_any_other_query_string_is_rendered_for_its_reader(
    client: Client, campaign: Campaign, renders: list[str], query: str
) -> None:
    for _ in range(2):
        page = client.get(f"/en/campaigns/{campaign.slug}/{query}").content.decode()
        no_placeholder_in(page)
    assert len(renders) == 2


def test_a_signed_in_staff_member_gets_a_page_of_their_own(
    client: Client, campaign: Campaign, renders: list[str]
) -> None:
    Client().get(f"/en/campaigns/{campaign.slug}/")
    sign_in(client, make_staff())
    page = client.get(f"/en/campaigns/{campaign.slug}/").content.decode()
    no_placeholder_in(page)
    assert len(renders) == 2


def test_a_waiting_message_is_shown_to_its_reader_alone(
    client: Client, campaign: Campaign, renders: list[str], rf: RequestFactory
) -> None:
    Client().get(f"/en/campaigns/{campaign.slug}/")  # the shared page exists
    request = rf.get("/")
    storage = CookieStorage(request)
    storage.add(messages.SUCCESS, "Your signature was withdrawn.")
    carrier = HttpResponse()
    storage.update(carrier)
    client.cookies[CookieStorage.cookie_name] = carrier.cookies[CookieStorage.cookie_name].value
    page = client.get(f"/en/campaigns/{campaign.slug}/").content.decode()
    assert "Your signature was withdrawn." in page
    assert (
        "Your signature was withdrawn."
        not in Client().get(f"/en/campaigns/{campaign.slug}/").content.decode()
    )
    assert len(renders) == 2


def test_the_thanks_page_is_shared_too(campaign: Campaign, renders: list[str]) -> None:
    responses = [Client().get(f"/en/campaigns/{campaign.slug}/thanks/") for _ in range(2)]
    assert renders == ["signatures/thanks.html"]
    nonces = set()
    for response in responses:
        page = response.content.decode()
        no_placeholder_in(page)
        nonce = NONCE.search(page).group(1)  # type: ignore[union-attr]
        assert f"'nonce-{nonce}'" in response["Content-Security-Policy"]
        nonces.add(nonce)
    assert len(nonces) == 2


def test_a_changed_campaign_is_rendered_again(
    client: Client, campaign: Campaign, renders: list[str]
) -> None:
    client.get(f"/en/campaigns/{campaign.slug}/")
    campaign.title_en = "Let us vote from abroad"
    campaign.save()
    assert (
        "Let us vote from abroad" in client.get(f"/en/campaigns/{campaign.slug}/").content.decode()
    )
    assert len(renders) == 2


def test_a_site_wide_pause_shows_on_the_next_page(
    client: Client, campaign: Campaign, renders: list[str]
) -> None:
    """Paused on the site's rules, not the campaign: the kept campaign is
    not forgotten, the page is rendered again all the same."""
    assert 'name="form_token"' in client.get(f"/en/campaigns/{campaign.slug}/").content.decode()
    rules = SigningSettings.current()
    rules.signing_paused = True
    rules.paused_message_en = "Back at noon."
    rules.save()
    page = client.get(f"/en/campaigns/{campaign.slug}/").content.decode()
    assert "Back at noon." in page
    assert 'name="form_token"' not in page
    assert len(renders) == 2


def test_a_campaign_that_closes_while_kept_shows_no_form(
    client: Client, renders: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign = make_campaign(closes_at=timezone.now() + timedelta(seconds=2))
    assert 'name="form_token"' in client.get(f"/en/campaigns/{campaign.slug}/").content.decode()
    later = timezone.now() + timedelta(seconds=3)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert 'name="form_token"' not in client.get(f"/en/campaigns/{campaign.slug}/").content.decode()
    assert len(renders) == 2


def test_the_figures_move_on_a_kept_page_without_rendering_it_again(
    client: Client, campaign: Campaign, renders: list[str]
) -> None:
    assert shown_total(client.get(f"/en/campaigns/{campaign.slug}/").content.decode()) == "0"
    make_signature(campaign, status=Signature.Status.CONFIRMED, country="KH", full_name="Sok Dara")
    tallies.figures_forget(campaign)  # as a confirmation does
    page = client.get(f"/en/campaigns/{campaign.slug}/").content.decode()
    no_placeholder_in(page)
    assert shown_total(page) == "1"
    assert "Cambodia" in page  # the countries' part moved too
    assert renders == ["signatures/campaign.html"]


# Committed for real, as a confirmation is: the figures are forgotten on commit.
@pytest.mark.django_db(transaction=True)
def test_confirmations_share_one_page_and_each_counts_its_signer(renders: list[str]) -> None:
    campaign = make_campaign()
    pending = [
        make_signature(campaign, status=Signature.Status.PENDING, email=f"dara{n}@example.org")
        for n in range(2)
    ]
    shown = []
    for signature in pending:
        path = urlsplit(confirmation_link(signature)).path
        response = Client().get(path)
        assert response.status_code == 200
        page = response.content.decode()
        no_placeholder_in(page)
        assert "dara" not in page  # nothing of the signer
        shown.append(shown_total(page))
    assert shown == ["1", "2"]
    assert renders == ["signatures/confirmed.html"]
    # Opened again: the same outcome, the same page, the count unmoved.
    again = Client().get(path)
    assert shown_total(again.content.decode()) == "2"
    # A link that does not work names no campaign: a 400 of its own.
    broken = Client().get(path[:-5] + "xxxx/")
    assert broken.status_code == 400
    no_placeholder_in(broken.content.decode())
    assert renders == ["signatures/confirmed.html"] * 2
