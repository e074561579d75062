"""Signatures held for review (suspect): stored, mailed, told the truth, and
easy for a moderator to release in one batch.

A signature is held when its IP address is over the rate limit (a family or a
community event on one Wi-Fi) or when its form was sent faster than a person
types (a phone's autofill): it counts only once a moderator approves it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.admin.models import LogEntry
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import translation

from core import roles
from signatures import links, policy, tallies
from signatures.models import Signature
from tests.factories import make_signature, make_staff, sign_in
from tests.signatures.conftest import links_in, sign

Status = Signature.Status
LIST = "admin:signatures_signature_changelist"
RATE_LIMIT_REASON = "over the rate limit for its IP address"

HELD_WORDS = {
    "en": "will be counted once it has been checked",
    "km": "នឹងត្រូវរាប់បញ្ចូល បន្ទាប់ពីយើងបានពិនិត្យរួច",
}
MAIL_HELD_WORDS = {"en": "it has been checked", "km": "យើងបានពិនិត្យរួច"}
COUNTED_WORDS = {
    "en": "your signature counts",
    "km": "ហត្ថលេខារបស់អ្នកត្រូវបានរាប់បញ្ចូលហើយ",
}


@pytest.fixture
def mailed(django_capture_on_commit_callbacks: Any) -> Any:
    """Run on-commit work (queueing the outbox) inside a test transaction."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def count(campaign: Any) -> int:
    return tallies.figures_compute(campaign).total


def _confirm_path(signature: Signature) -> str:
    return urlsplit(links.confirmation_link(signature)).path


def _held_by_rate_limit(client: Client, campaign: Any, mailed: Any, settings: Any, lang: str):
    """Three people sign from one address; the third is over the limit."""
    settings.SIGNATURE_RATE_BURST = "2/h"  # an hour's window: no boundary falls between the three
    with mailed():
        for number in range(3):
            sign(client, campaign, lang=lang, email=f"family{number}@example.org")
    held = Signature.objects.get(status=Status.SUSPECT)
    [message] = [m for m in mail.outbox if m.to == [held.email]]
    return held, message


# --- What the signer is told -------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "km"])
def test_a_held_signature_is_told_it_is_received_not_that_it_counts(
    client: Client, campaign, mailed, settings, lang: str
) -> None:
    held, message = _held_by_rate_limit(client, campaign, mailed, settings, lang)
    response = client.get(links_in(message)["confirm"])
    page = response.content.decode()
    assert response.status_code == 200
    assert HELD_WORDS[lang] in page
    assert COUNTED_WORDS[lang] not in page
    assert "suspect" not in page.lower() and "rate limit" not in page  # no accusation
    held.refresh_from_db()
    assert held.status == Status.SUSPECT and held.confirmed_at is not None
    assert count(campaign) == 0  # nor the two others, not confirmed yet
    # Opened again (a second click, a mail scanner): still the same truth.
    again = client.get(links_in(message)["confirm"]).content.decode()
    assert HELD_WORDS[lang] in again and COUNTED_WORDS[lang] not in again


def test_a_signature_confirmed_and_then_held_is_not_told_it_counts(
    client: Client, campaign, mailed
) -> None:
    signature = make_signature(campaign, status=Status.PENDING, language="en")
    signature.confirm()
    signature.mark_suspect("held by a moderator")
    page = client.get(_confirm_path(signature)).content.decode()
    assert HELD_WORDS["en"] in page and COUNTED_WORDS["en"] not in page


def test_a_normal_confirmation_still_says_it_counts(client: Client, campaign, mailed) -> None:
    with mailed():
        sign(client, campaign)
    page = client.get(links_in(mail.outbox[0])["confirm"]).content.decode()
    assert "Thank you: your signature counts" in page
    assert HELD_WORDS["en"] not in page
    assert count(campaign) == 1


@pytest.mark.parametrize("lang", ["en", "km"])
def test_the_confirmation_mail_of_a_held_signature_does_not_promise_it_counts(
    client: Client, campaign, mailed, settings, lang: str
) -> None:
    _held, message = _held_by_rate_limit(client, campaign, mailed, settings, lang)
    html = str(message.alternatives[0][0])  # type: ignore[union-attr]
    for body in (message.body, html):
        assert "counts only once you confirm it" not in body
        assert "លុះត្រាតែអ្នកបញ្ជាក់វា" not in body
        assert MAIL_HELD_WORDS[lang] in body
    pending = next(m for m in mail.outbox if m is not message)
    assert MAIL_HELD_WORDS[lang] not in pending.body  # the others' mail is unchanged


def test_signing_again_while_held_and_confirmed_does_not_say_counted(
    client: Client, campaign, mailed
) -> None:
    make_signature(
        campaign,
        status=Status.SUSPECT,
        email_confirmed=True,
        email="held@example.org",
        language="en",
    )
    with mailed():
        sign(client, campaign, email="held@example.org")
    [message] = mail.outbox
    assert "already confirmed and counted" not in message.body
    assert HELD_WORDS["en"] in message.body


# --- A form sent fast is held, not dropped ---------------------------------------


def test_a_form_sent_fast_is_stored_once_as_suspect_and_mailed(
    client: Client, campaign, mailed, settings
) -> None:
    settings.SIGNATURE_MIN_FILL_SECONDS = 60  # every form in this test is "fast"
    with mailed():
        assert sign(client, campaign, email="autofill@example.org").status_code == 302
        assert sign(client, campaign, email="autofill@example.org").status_code == 302
    held = Signature.objects.get()
    assert held.status == Status.SUSPECT
    assert "60 s" in held.suspect_reason
    [message] = mail.outbox
    assert message.to == ["autofill@example.org"]
    page = client.get(links_in(message)["confirm"]).content.decode()
    assert HELD_WORDS["en"] in page
    assert count(campaign) == 0


def test_a_form_sent_after_the_minimum_time_is_not_held(
    client: Client, campaign, mailed, settings
) -> None:
    settings.SIGNATURE_MIN_FILL_SECONDS = 0
    with mailed():
        sign(client, campaign)
    assert Signature.objects.get().status == Status.PENDING


@pytest.mark.parametrize(
    ("seconds_after_loading", "held"), [(0.3, True), (2.99, True), (3.0, False), (600, False)]
)
def test_the_fill_time_rule_holds_only_forms_sent_before_the_minimum(
    settings: Any, seconds_after_loading: float, held: bool
) -> None:
    settings.SIGNATURE_MIN_FILL_SECONDS = 3
    reason = policy.fill_time_suspect_reason(shown_at=1000, now=1000 + seconds_after_loading)
    assert bool(reason) is held


def test_the_honeypot_stores_nothing_even_when_sent_fast(
    client: Client, campaign, mailed, settings
) -> None:
    settings.SIGNATURE_MIN_FILL_SECONDS = 60
    with mailed():
        response = sign(client, campaign, website="https://spam.example")
    assert response.status_code == 302
    assert Signature.objects.count() == 0
    assert mail.outbox == []


# --- The "already signed" mail speaks the page's language ---------------------


@pytest.mark.parametrize(("first", "again"), [("km", "en"), ("en", "km")])
def test_the_already_signed_mail_follows_the_page_signed_from_this_time(
    client: Client, campaign, mailed, first: str, again: str
) -> None:
    with mailed():
        sign(client, campaign, lang=first)
    client.get(links_in(mail.outbox[0])["confirm"])
    with mailed():
        sign(client, campaign, lang=again)
    already = mail.outbox[1]
    title = campaign.title_en if again == "en" else campaign.title_km
    other_title = campaign.title_km if again == "en" else campaign.title_en
    assert title in already.subject and other_title not in already.subject
    html = str(already.alternatives[0][0])  # type: ignore[attr-defined]
    assert f'<html lang="{again}">' in html
    assert links_in(already)["withdraw"].startswith(f"/{again}/sign/withdraw/")
    # The stored language (for later news) is the person's first choice.
    assert Signature.objects.get().language == first


def test_a_resent_confirmation_follows_the_page_signed_from_this_time(
    client: Client, campaign, mailed
) -> None:
    with mailed():
        sign(client, campaign, lang="km")
        sign(client, campaign, lang="en")
    assert campaign.title_en in mail.outbox[1].subject
    assert links_in(mail.outbox[1])["confirm"].startswith("/en/sign/confirm/")


# --- Releasing a batch in the admin ---------------------------------------------


def _staff(role: str | None = None, **options: Any) -> Client:
    client = Client()
    sign_in(client, make_staff(role, **options))
    return client


def _listed(client: Client, **filters: Any) -> set[int]:
    response = client.get(reverse(LIST), filters)
    assert response.status_code == 200
    return {signature.pk for signature in response.context["cl"].result_list}


@translation.override("en")  # the admin in English, whatever a request before left active
def test_a_moderator_filters_one_events_batch_and_releases_it_in_one_action(
    campaign, settings
) -> None:
    event = [
        make_signature(
            campaign, status=Status.SUSPECT, suspect_reason=RATE_LIMIT_REASON, email_confirmed=True
        )
        for _n in range(3)
    ]
    unconfirmed = make_signature(campaign, status=Status.PENDING)
    unconfirmed.mark_suspect(RATE_LIMIT_REASON)
    event.append(unconfirmed)
    other_reason = make_signature(
        campaign, status=Status.SUSPECT, suspect_reason="form sent fast", email_confirmed=True
    )
    counted = make_signature(campaign)
    moderator = _staff(roles.MODERATOR)
    assert count(campaign) == 1

    batch = _listed(moderator, suspect_reason=RATE_LIMIT_REASON, campaign__id__exact=campaign.pk)
    assert batch == {signature.pk for signature in event}
    assert RATE_LIMIT_REASON in moderator.get(reverse(LIST)).content.decode()  # a filter choice

    response = moderator.post(
        reverse(LIST),
        {"action": "approve", "_selected_action": [*batch, counted.pk]},
        follow=True,
    )
    shown = [str(message) for message in response.context["messages"]]
    assert "4 signatures approved: 3 now count; 1 will count once" in " ".join(shown)
    assert "1 selected signatures were not held" in " ".join(shown)
    assert count(campaign) == 4
    unconfirmed.refresh_from_db()
    assert unconfirmed.status == Status.PENDING  # approved, yet not counted unconfirmed
    assert Signature.objects.get(pk=other_reason.pk).status == Status.SUSPECT
    assert LogEntry.objects.count() == 4

    # Its signer opens the link later: now it counts, and the page says so.
    page = Client().get(_confirm_path(unconfirmed)).content.decode()
    assert COUNTED_WORDS["en"] in page.lower()
    assert count(campaign) == 5


def test_staff_without_the_change_permission_cannot_release_a_batch(campaign) -> None:
    held = make_signature(campaign, status=Status.SUSPECT, email_confirmed=True)
    viewer = _staff(permissions=["signatures.view_signature"])
    campaign_lead = _staff(roles.CAMPAIGN_LEAD)
    outsider = _staff(staff=False)
    for client in (viewer, campaign_lead, outsider):
        response = client.post(reverse(LIST), {"action": "approve", "_selected_action": [held.pk]})
        assert response.status_code in {200, 302, 403}
    assert 'value="approve"' not in viewer.get(reverse(LIST)).content.decode()
    held.refresh_from_db()
    assert held.status == Status.SUSPECT
    assert count(campaign) == 0
    assert LogEntry.objects.count() == 0
