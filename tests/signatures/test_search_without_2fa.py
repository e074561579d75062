"""Without two-factor, the signature list does not answer "did this address
(or this phone) sign?", and the pages say why data is hidden and how to get it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from campaigns.models import Campaign
from core import roles
from signatures.models import Signature
from tests.factories import make_campaign, make_signature, make_staff, sign_in

pytestmark = pytest.mark.django_db

SIGNATURES = "/en/admin/signatures/signature/"
EMAIL = "signer5@gmail.com"
PHONE = "+85512345678"


@pytest.fixture
def campaign() -> Campaign:
    return make_campaign()


@pytest.fixture
def signature(campaign: Campaign) -> Signature:
    return make_signature(campaign, full_name="Sok Dara", email=EMAIL, phone=PHONE)


def client_of(user: Any, *, passed_two_factor: bool = True) -> Client:
    client = Client()
    if passed_two_factor:
        sign_in(client, user)
    else:
        client.force_login(user)  # signed in with a password only
    return client


def results(client: Client, term: str) -> list[Signature]:
    response = client.get(SIGNATURES, {"q": term})
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def without_personal_data() -> dict[str, Client]:
    """Staff who may review signatures but not see personal data now."""
    return {
        "moderator": client_of(make_staff(roles.MODERATOR)),
        "moderator with two-factor": client_of(make_staff(roles.MODERATOR, two_factor=True)),
        "organiser without two-factor": client_of(make_staff(roles.ORGANISER)),
        "organiser who skipped the code": client_of(
            make_staff(roles.ORGANISER, two_factor=True), passed_two_factor=False
        ),
    }


@pytest.mark.parametrize(
    "term", [EMAIL, "SIGNER5@GMAIL.COM", "signer5%40gmail.com", PHONE, "012 345 678"]
)
def test_an_address_or_phone_finds_nothing_without_two_factor(
    signature: Signature, term: str
) -> None:
    for who, client in without_personal_data().items():
        assert results(client, term) == [], who


def test_without_two_factor_the_search_is_offered_by_name_only(signature: Signature) -> None:
    for who, client in without_personal_data().items():
        page = client.get(SIGNATURES).content.decode()
        assert "e-mail address" not in page.split('id="searchbar"')[1][:2000], who
        assert results(client, "Sok") == [signature], who


def test_an_address_typed_anyway_is_answered_with_why(signature: Signature) -> None:
    client = client_of(make_staff(roles.ORGANISER))
    response = client.get(SIGNATURES, {"q": EMAIL}, follow=True)
    page = response.content.decode()
    assert "Searching by e-mail address needs two-factor sign-in" in page
    assert "Sok Dara" not in page


def test_with_two_factor_an_exact_address_finds_the_signer(signature: Signature) -> None:
    client = client_of(make_staff(roles.ORGANISER, two_factor=True))
    assert results(client, EMAIL) == [signature]
    assert results(client, "Sok") == [signature]
    page = client.get(SIGNATURES).content.decode()
    assert "exact e-mail address" in page
    assert 'id="personal-data-hidden"' not in page


def test_an_outsider_cannot_search_at_all(signature: Signature) -> None:
    outsider = client_of(make_staff(staff=False))
    assert outsider.get(SIGNATURES, {"q": EMAIL}).status_code == 302
    viewer = client_of(make_staff(roles.VIEWER, two_factor=True))
    assert viewer.get(SIGNATURES, {"q": EMAIL}).status_code == 403


# --- Saying why personal data is hidden --------------------------------------


def notice(client: Client, path: str) -> str:
    page = client.get(path).content.decode()
    assert 'id="personal-data-hidden"' in page, "no notice on " + path
    return page.split('id="personal-data-hidden"')[1].split("</div>")[0]


def test_a_moderator_is_told_the_role_does_not_include_personal_data(
    signature: Signature,
) -> None:
    client = client_of(make_staff(roles.MODERATOR, two_factor=True))
    for path in (SIGNATURES, f"{SIGNATURES}{signature.pk}/change/"):
        text = notice(client, path)
        assert "Your role does not include signers' personal data" in text


def test_an_organiser_without_two_factor_is_sent_to_enrol(signature: Signature) -> None:
    client = client_of(make_staff(roles.ORGANISER))
    for path in (SIGNATURES, f"{SIGNATURES}{signature.pk}/change/"):
        text = notice(client, path)
        assert "/en/accounts/2fa/totp/activate/" in text


def test_an_organiser_who_enrolled_during_the_session_is_asked_to_sign_in_again(
    signature: Signature,
) -> None:
    client = client_of(make_staff(roles.ORGANISER, two_factor=True), passed_two_factor=False)
    for path in (SIGNATURES, f"{SIGNATURES}{signature.pk}/change/"):
        text = notice(client, path)
        assert "sign in again" in text.lower()
        assert 'action="/en/accounts/logout/"' in text


def test_the_notice_is_in_khmer_on_the_khmer_admin(signature: Signature) -> None:
    client = client_of(make_staff(roles.ORGANISER))
    text = notice(client, "/km/admin/signatures/signature/")
    assert "/km/accounts/2fa/totp/activate/" in text
    assert "two-factor" not in text  # translated


def test_the_dashboard_says_why_the_full_export_is_missing(campaign: Campaign) -> None:
    client = client_of(make_staff(roles.ORGANISER))
    page = client.get(f"/en/organisers/campaigns/{campaign.slug}/").content.decode()
    assert 'id="full-export"' not in page
    text = notice(client, f"/en/organisers/campaigns/{campaign.slug}/")
    assert "/en/accounts/2fa/totp/activate/" in text
    with_two_factor = client_of(make_staff(roles.ORGANISER, two_factor=True))
    page = with_two_factor.get(f"/en/organisers/campaigns/{campaign.slug}/").content.decode()
    assert 'id="full-export"' in page and 'id="personal-data-hidden"' not in page


def test_the_delivery_form_says_why_names_cannot_be_included(campaign: Campaign) -> None:
    client = client_of(make_staff(roles.ORGANISER, two_factor=True), passed_two_factor=False)
    text = notice(client, f"/en/organisers/campaigns/{campaign.slug}/delivery/")
    assert "sign in again" in text.lower()
