"""Signing, confirming and withdrawing through the pages a signer sees."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from outbox.models import Message
from signatures import tallies
from signatures.models import Signature
from tests.factories import make_campaign
from tests.signatures.conftest import links_in, sign


@pytest.fixture
def mailed(django_capture_on_commit_callbacks):
    """Run on-commit work (queueing the outbox) inside a test transaction."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def count(campaign) -> int:
    return tallies.figures_compute(campaign).total


def test_signing_stores_a_pending_signature_and_mails_a_confirmation(
    client: Client, campaign, mailed
) -> None:
    with mailed():
        response = sign(client, campaign, lang="km")
    assert response.status_code == 302
    assert response["Location"] == f"/km/campaigns/{campaign.slug}/thanks/"
    signature = Signature.objects.get()
    assert signature.status == Signature.Status.PENDING
    assert signature.language == "km"
    assert count(campaign) == 0
    [message] = mail.outbox
    assert message.to == ["dara@example.org"]
    assert set(links_in(message)) == {"confirm", "withdraw"}
    assert links_in(message)["confirm"].startswith("/km/sign/confirm/")
    html = str(message.alternatives[0][0])  # type: ignore[union-attr]
    assert '<html lang="km">' in html and "/km/sign/confirm/" in html


def test_the_confirmation_mail_follows_the_signers_language(
    client: Client, campaign, mailed
) -> None:
    with mailed():
        sign(client, campaign, lang="en")
    [message] = mail.outbox
    assert campaign.title_en in message.subject
    assert links_in(message)["confirm"].startswith("/en/sign/confirm/")


def test_confirming_counts_the_signature_once(client: Client, campaign, mailed) -> None:
    with mailed():
        sign(client, campaign)
    confirm = links_in(mail.outbox[0])["confirm"]
    response = client.get(confirm)
    assert response.status_code == 200
    assert "Thank you: your signature counts" in response.content.decode()
    assert client.get(confirm).status_code == 200  # twice: harmless
    assert Signature.objects.get().status == Signature.Status.CONFIRMED
    assert count(campaign) == 1


def test_signing_again_while_pending_resends_at_most_five_times(
    client: Client, campaign, mailed, settings
) -> None:
    for _attempt in range(7):
        with mailed():
            sign(client, campaign)
    assert Signature.objects.count() == 1
    assert len(mail.outbox) == settings.SIGNATURE_MAX_CONFIRMATION_SENDS == 5
    # Every resent link confirms the one signature.
    client.get(links_in(mail.outbox[-1])["confirm"])
    assert count(campaign) == 1


def test_signing_again_after_confirming_sends_already_signed(
    client: Client, campaign, mailed
) -> None:
    with mailed():
        sign(client, campaign)
    client.get(links_in(mail.outbox[0])["confirm"])
    with mailed():
        response = sign(client, campaign, full_name="Someone Else")
    assert response.status_code == 302
    assert len(mail.outbox) == 2
    assert "already" in mail.outbox[1].subject.lower()
    assert "confirm" not in links_in(mail.outbox[1])
    assert Signature.objects.get().full_name == "Sok Dara"
    assert count(campaign) == 1


def test_gmail_dots_and_tags_are_one_person(client: Client, campaign, mailed) -> None:
    with mailed():
        sign(client, campaign, email="sok.dara@gmail.com")
        sign(client, campaign, email="SokDara+petition@GMAIL.com")
    assert Signature.objects.count() == 1


def test_other_providers_keep_dots_and_tags(client: Client, campaign, mailed) -> None:
    with mailed():
        sign(client, campaign, email="sok.dara@example.org")
        sign(client, campaign, email="sokdara@example.org")
        sign(client, campaign, email="SOK.DARA@example.org")  # but case never matters
    assert Signature.objects.count() == 2


def test_every_case_gets_the_same_answer(client: Client, campaign, mailed, settings) -> None:
    """New, pending, confirmed, a bot, and a flood all see the same page."""
    settings.SIGNATURE_RATE_BURST = "1000/m"
    answers = []
    with mailed():
        answers.append(sign(client, campaign, email="new@example.org"))
        answers.append(sign(client, campaign, email="new@example.org"))  # pending
    client.get(links_in(mail.outbox[0])["confirm"])
    with mailed():
        answers.append(sign(client, campaign, email="new@example.org"))  # confirmed
        answers.append(sign(client, campaign, email="bot@example.org", website="http://x"))
    settings.SIGNATURE_RATE_BURST = "1/h"
    with mailed():
        answers.append(sign(client, campaign, email="flood@example.org"))
    assert {(a.status_code, a["Location"]) for a in answers} == {
        (302, f"/en/campaigns/{campaign.slug}/thanks/")
    }
    thanks = client.get(f"/en/campaigns/{campaign.slug}/thanks/").content.decode()
    assert "new@example.org" not in thanks


def test_the_honeypot_stores_nothing(client: Client, campaign, mailed) -> None:
    with mailed():
        response = sign(client, campaign, website="https://spam.example")
    assert response.status_code == 302
    assert Signature.objects.count() == 0
    assert mail.outbox == []


def test_a_form_filled_too_fast_is_held_for_review_not_dropped(
    client: Client, campaign, settings
) -> None:
    # Phones autofill in under a second: see tests/signatures/test_held_signatures.py.
    settings.SIGNATURE_MIN_FILL_SECONDS = 60
    assert sign(client, campaign).status_code == 302
    assert Signature.objects.get().status == Signature.Status.SUSPECT


def test_over_the_rate_limit_is_stored_as_suspect_and_not_counted(
    client: Client, campaign, mailed, settings
) -> None:
    settings.SIGNATURE_RATE_BURST = "2/h"  # an hour's window: no boundary falls between the tries
    with mailed():
        for number in range(3):
            sign(client, campaign, email=f"person{number}@example.org")
    suspect = Signature.objects.get(status=Signature.Status.SUSPECT)
    assert "rate limit" in suspect.suspect_reason
    assert Signature.objects.filter(status=Signature.Status.PENDING).count() == 2
    confirm = [links_in(m)["confirm"] for m in mail.outbox if m.to == [suspect.email]][0]
    client.get(confirm)
    assert count(campaign) == 0
    suspect.refresh_from_db()
    suspect.approve()
    assert count(campaign) == 1


def test_rate_limits_use_the_forwarded_address_only_behind_a_trusted_proxy(
    client: Client, campaign, mailed, settings
) -> None:
    settings.SIGNATURE_RATE_BURST = "1/m"
    settings.TRUSTED_PROXY_COUNT = 1
    with mailed():
        for number in range(3):
            sign(
                client,
                campaign,
                email=f"p{number}@example.org",
                HTTP_X_FORWARDED_FOR=f"203.0.113.{number}",
            )
    # Three client addresses behind our proxy: nobody is over the limit.
    assert not Signature.objects.filter(status=Signature.Status.SUSPECT).exists()
    assert set(Signature.objects.values_list("ip_address", flat=True)) == {
        "203.0.113.0",
        "203.0.113.1",
        "203.0.113.2",
    }


def test_a_forged_forwarded_header_is_ignored_without_a_trusted_proxy(
    client: Client, campaign, mailed
) -> None:
    with mailed():
        sign(client, campaign, HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert Signature.objects.get().ip_address == "127.0.0.1"


def test_a_closed_campaign_refuses_new_signatures(client: Client, db) -> None:
    campaign = make_campaign(status="closed")
    page = client.get(f"/en/campaigns/{campaign.slug}/").content.decode()
    assert "This petition is closed" in page
    assert 'name="email"' not in page
    response = sign(client, campaign)
    assert response.status_code == 409
    assert "This petition is closed" in response.content.decode()
    assert Signature.objects.count() == 0


def test_a_paused_campaign_shows_its_message(client: Client, db) -> None:
    campaign = make_campaign(signing_paused=True, paused_message_en="Back at noon.")
    page = client.get(f"/en/campaigns/{campaign.slug}/").content.decode()
    assert "Back at noon." in page
    assert sign(client, campaign).status_code == 409
    assert Signature.objects.count() == 0


def test_a_pending_signature_can_be_confirmed_for_a_day_after_closing(
    client: Client, campaign, mailed
) -> None:
    with mailed():
        sign(client, campaign)
    confirm = links_in(mail.outbox[0])["confirm"]
    campaign.closes_at = timezone.now() - timedelta(hours=23)
    campaign.save()
    assert client.get(confirm).status_code == 200
    assert count(campaign) == 1


def test_a_pending_signature_cannot_be_confirmed_long_after_closing(
    client: Client, campaign, mailed
) -> None:
    with mailed():
        sign(client, campaign)
    confirm = links_in(mail.outbox[0])["confirm"]
    campaign.closes_at = timezone.now() - timedelta(hours=25)
    campaign.save()
    response = client.get(confirm)
    assert response.status_code == 400
    assert "This petition is closed" in response.content.decode()
    assert count(campaign) == 0


def test_an_expired_confirmation_link_says_so(client: Client, campaign, mailed, settings) -> None:
    with mailed():
        sign(client, campaign)
    settings.SIGNATURE_CONFIRM_MAX_AGE_DAYS = -1
    response = client.get(links_in(mail.outbox[0])["confirm"])
    assert response.status_code == 400
    assert "This link has expired" in response.content.decode()


def test_a_tampered_link_does_not_work(client: Client, campaign, mailed) -> None:
    with mailed():
        sign(client, campaign)
    confirm = links_in(mail.outbox[0])["confirm"]
    response = client.get(confirm[:-3] + "xx/")
    assert response.status_code == 400
    assert count(campaign) == 0


def test_a_forwarded_confirmation_link_shows_nothing_of_the_signer(
    client: Client, campaign, mailed
) -> None:
    with mailed():
        sign(client, campaign, full_name="Chan Sophea", email="sophea@example.org")
    stranger = Client()
    page = stranger.get(links_in(mail.outbox[0])["confirm"]).content.decode()
    for private in ("Chan Sophea", "sophea@example.org", "France"):
        assert private not in page


def test_withdrawing_asks_first_then_uncounts_and_erases(client: Client, campaign, mailed) -> None:
    with mailed():
        sign(client, campaign, full_name="Chan Sophea", country="AU")
    message_links = links_in(mail.outbox[0])
    client.get(message_links["confirm"])
    assert count(campaign) == 1

    page = client.get(message_links["withdraw"])  # a mail scanner opening the link
    assert page.status_code == 200
    assert count(campaign) == 1

    response = client.post(message_links["withdraw"])
    assert response.status_code == 200
    assert "Your signature is withdrawn" in response.content.decode()
    assert count(campaign) == 0
    signature = Signature.objects.get()
    assert signature.status == Signature.Status.WITHDRAWN
    assert (signature.full_name, signature.email, signature.email_hash) == ("", "", None)
    assert signature.country == "AU"
    assert not Message.objects.exists()
    # The links die with the data.
    assert client.get(message_links["confirm"]).status_code == 400
    assert client.post(message_links["withdraw"]).status_code == 400


def test_a_withdrawn_person_may_sign_again(client: Client, campaign, mailed) -> None:
    with mailed():
        sign(client, campaign)
    client.post(links_in(mail.outbox[0])["withdraw"])
    with mailed():
        sign(client, campaign)
    assert Signature.objects.filter(status=Signature.Status.PENDING).count() == 1


def test_the_landing_referrer_and_campaign_parameters_are_recorded(
    client: Client, campaign, mailed
) -> None:
    with mailed():
        sign(
            client,
            campaign,
            landing="?utm_source=telegram&utm_medium=share&utm_campaign=2014&other=x",
            referrer="https://t.me/ceroc/123?secret=1",
        )
    signature = Signature.objects.get()
    assert signature.utm == {
        "utm_source": "telegram",
        "utm_medium": "share",
        "utm_campaign": "2014",
    }
    assert signature.referrer == "https://t.me/ceroc/123"


def test_a_khmer_name_gets_a_matching_key(client: Client, campaign, mailed) -> None:
    with mailed():
        sign(client, campaign, full_name="  ស\u200bុខ   ស្ដា  ", email="a@example.org")
        sign(client, campaign, full_name="សុខ ស្តា", email="b@example.org")
    first, second = Signature.objects.order_by("pk")
    assert first.full_name == "សុខ ស្ដា"  # as typed, minus invisible characters
    assert first.name_key == second.name_key


def test_optional_fields_and_questions_are_stored(client: Client, db, mailed) -> None:
    from tests.factories import make_question

    campaign = make_campaign(ask_phone=True, ask_city=True, ask_province=True)
    make_question(campaign, required=True)
    with mailed():
        response = sign(
            client,
            campaign,
            phone="+61 412 345 678",
            city="Melbourne",
            province="battambang",
            question_registered="yes",
            show_publicly="on",
            wants_updates="on",
        )
    assert response.status_code == 302
    signature = Signature.objects.get()
    assert signature.phone == "+61412345678"
    assert (signature.city, signature.province) == ("Melbourne", "battambang")
    assert signature.answers == {"registered": "yes"}
    assert signature.show_publicly and signature.wants_updates


def test_opt_ins_are_off_unless_ticked(client: Client, campaign, mailed) -> None:
    with mailed():
        sign(client, campaign)
    signature = Signature.objects.get()
    assert not signature.show_publicly and not signature.wants_updates


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "198.51.100.7", "127.0.0.1"),
        (1, "198.51.100.7", "198.51.100.7"),
        (1, "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # the client forged the first entry
        (2, "6.6.6.6, 198.51.100.7, 10.0.0.2", "198.51.100.7"),
        (2, "198.51.100.7", "127.0.0.1"),  # shorter chain than configured: not trusted
        (1, "not-an-ip", None),
    ],
)
def test_the_client_ip_is_taken_from_the_right_forwarded_entry(
    rf, settings, proxies: int, forwarded: str, expected: str | None
) -> None:
    from core.http import client_ip

    settings.TRUSTED_PROXY_COUNT = proxies
    request = rf.post("/", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def shown_total(page: str) -> str:
    match = re.search(r"<span data-count>([^<]+)</span>", page)
    assert match, "no count on the page"
    return match.group(1).strip()


# Committed for real, as a request is.
@pytest.mark.django_db(transaction=True)
def test_the_page_after_confirming_counts_the_signature_just_confirmed(
    client: Client, campaign, mailed
) -> None:
    """The signer sees themselves counted at once; readers' figures are not
    recounted for every signature, but on their timer (issue 14)."""
    client.get(f"/km/campaigns/{campaign.slug}/")  # the figures are kept now, at ០
    with mailed():
        sign(client, campaign, lang="km")
    confirm = links_in(mail.outbox[0])["confirm"]
    assert shown_total(client.get(confirm).content.decode()) == "១"
    assert shown_total(client.get(confirm).content.decode()) == "១"  # a second click, too
    assert shown_total(client.get(f"/km/campaigns/{campaign.slug}/").content.decode()) == "០"
    tallies.figures_forget(campaign)  # as their timer ends
    assert shown_total(client.get(f"/km/campaigns/{campaign.slug}/").content.decode()) == "១"


# Committed for real, as a request is: the cache is forgotten on commit.
@pytest.mark.django_db(transaction=True)
def test_the_page_after_withdrawing_no_longer_counts_the_signature(
    client: Client, campaign, mailed
) -> None:
    with mailed():
        sign(client, campaign)
    message_links = links_in(mail.outbox[0])
    client.get(message_links["confirm"])
    page = client.post(message_links["withdraw"]).content.decode()
    assert shown_total(page) == "0"
