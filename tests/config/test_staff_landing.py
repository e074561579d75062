"""Staff sign in to their work, in the language they signed in from; nobody
is offered an account."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from core import roles
from tests.factories import PASSWORD, TOTP_SECRET, make_staff, totp_now

pytestmark = pytest.mark.django_db


def sign_in_through_pages(client: Client, user: Any, language: str, next_url: str = "") -> str:
    """Password (and code, if enrolled) through allauth's pages; where it lands."""
    query = f"?next={next_url}" if next_url else ""
    response = client.post(
        f"/{language}/accounts/login/{query}", {"login": user.email, "password": PASSWORD}
    )
    assert response.status_code == 302, response.content.decode()[:500]
    if "/2fa/authenticate/" in response["Location"]:
        response = client.post(response["Location"], {"code": totp_now(TOTP_SECRET)})
        assert response.status_code == 302, response.content.decode()[:500]
    return str(response["Location"])


@pytest.mark.parametrize("language", ["km", "en"])
def test_a_campaign_lead_lands_on_the_admin_in_their_language(
    client: Client, language: str
) -> None:
    lead = make_staff(roles.CAMPAIGN_LEAD)
    assert sign_in_through_pages(client, lead, language) == f"/{language}/admin/"
    assert client.get(f"/{language}/admin/").status_code == 200


def test_an_organiser_with_two_factor_lands_on_the_admin_after_the_code(client: Client) -> None:
    organiser = make_staff(roles.ORGANISER, two_factor=True)
    assert sign_in_through_pages(client, organiser, "km") == "/km/admin/"
    assert client.session.get(roles.TWO_FACTOR_SESSION_KEY) == str(organiser.pk)


def test_a_viewer_lands_on_the_dashboards(client: Client) -> None:
    viewer = make_staff(roles.VIEWER)
    assert sign_in_through_pages(client, viewer, "km") == "/km/organisers/"
    assert client.get("/km/organisers/").status_code == 200


def test_a_moderator_lands_on_the_admin(client: Client) -> None:
    assert sign_in_through_pages(client, make_staff(roles.MODERATOR), "km") == "/km/admin/"


def test_the_page_asked_for_still_wins(client: Client) -> None:
    lead = make_staff(roles.CAMPAIGN_LEAD)
    landed = sign_in_through_pages(client, lead, "km", next_url="/km/admin/statements/statement/")
    assert landed == "/km/admin/statements/statement/"


def test_someone_who_is_not_staff_lands_on_the_public_home_in_their_language(
    client: Client,
) -> None:
    outsider = make_staff(staff=False)
    assert sign_in_through_pages(client, outsider, "km") == "/km/"


# --- Sign-up is closed --------------------------------------------------------


@pytest.mark.parametrize("language", ["km", "en"])
def test_the_sign_in_page_offers_no_sign_up(client: Client, language: str) -> None:
    page = client.get(f"/{language}/accounts/login/").content.decode()
    assert "/accounts/signup/" not in page
    assert "sign up" not in page.lower()
    assert 'name="password"' in page


def test_the_sign_up_address_says_it_is_closed_and_creates_nobody(client: Client) -> None:
    for language, closed in (("en", "Staff accounts are created by an organiser"), ("km", "")):
        response = client.get(f"/{language}/accounts/signup/")
        page = response.content.decode()
        assert response.status_code == 200
        assert 'name="password1"' not in page
        assert f'href="/{language}/accounts/login/"' in page
        if closed:
            assert closed in page
    response = client.post(
        "/en/accounts/signup/",
        {"email": "intruder@example.org", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 200
    assert not get_user_model().objects.filter(email="intruder@example.org").exists()


def test_the_khmer_closed_page_reads_in_khmer(client: Client) -> None:
    page = client.get("/km/accounts/signup/").content.decode()
    assert "Staff accounts are created by an organiser" not in page
    assert "Sign Up Closed" not in page


def test_a_password_reset_for_an_unknown_address_offers_no_sign_up(
    client: Client, mailoutbox: list[Any]
) -> None:
    client.post("/en/accounts/password/reset/", {"email": "stranger@example.org"})
    for mail in mailoutbox:
        assert "signup" not in mail.body and "sign up" not in mail.body.lower()
