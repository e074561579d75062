"""The start button acts on what the preview showed, or on nothing.

The preview hands the button a signed token of the criteria, the campaign,
the count and the person; pressing it with other criteria, another count,
someone else's or an old token is refused with a fresh preview, and one
token starts one job however often it is sent."""

from __future__ import annotations

import html
import re
import time
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import translation

from campaigns.models import Campaign
from core import roles
from organisers import invalidation
from organisers.invalidation import Criteria
from organisers.models import Invalidation
from signatures.models import Signature
from tests.factories import make_campaign, make_signature, make_staff, sign_in

Status = Signature.Status
NETWORK = "203.0.113.0/24"


def _invalidated() -> int:
    return Signature.objects.filter(status=Status.INVALIDATED).count()


def _url(campaign: Campaign, language: str = "en") -> str:
    with translation.override(language):
        return reverse("organisers:invalidation_new", args=[campaign.slug])


def _start_button(page: Any) -> tuple[str, str]:
    """The start button's token and its text, as a browser sends and shows them."""
    found = re.search(
        r'<button type="submit" name="start" value="([^"]+)"[^>]*>([^<]+)</button>',
        page.content.decode(),
    )
    assert found, "no start button on the page"
    return html.unescape(found[1]), html.unescape(found[2]).strip()


def _errors(page: Any) -> list[str]:
    return [str(error) for error in page.context["form"].non_field_errors()]


def _a_wave(campaign: Campaign) -> tuple[list[Signature], list[Signature]]:
    """Three bots in 203.0.113.0/24; four people elsewhere whose names hold an "a"."""
    bots = [
        make_signature(campaign, full_name=f"Bot {n}", ip_address=f"203.0.113.{n}")
        for n in (1, 2, 3)
    ]
    people = [
        make_signature(campaign, full_name=name, ip_address="198.51.100.9")
        for name in ("Dara", "Sophal", "Chanthy Kar", "Malis")
    ]
    return bots, people


@pytest.fixture
def moderator(db: None) -> User:
    return make_staff(roles.MODERATOR)


@pytest.fixture
def client(moderator: User) -> Client:
    client = Client()
    sign_in(client, moderator)
    return client


@pytest.mark.django_db
def test_the_start_button_names_the_previewed_count(client: Client, campaign: Campaign) -> None:
    _a_wave(campaign)
    page = client.post(_url(campaign), {"network": NETWORK, "preview": "1"})
    token, text = _start_button(page)
    assert text == "Invalidate 3 signatures"
    assert token
    assert _invalidated() == 0


@pytest.mark.django_db
def test_criteria_changed_after_the_preview_are_refused_and_a_fresh_preview_is_shown(
    client: Client, campaign: Campaign, django_capture_on_commit_callbacks: Any
) -> None:
    """The issue's report: 203.0.113.0/24 previewed, name *a* typed, start pressed."""
    bots, people = _a_wave(campaign)
    url = _url(campaign)
    token, _text = _start_button(client.post(url, {"network": NETWORK, "preview": "1"}))

    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(url, {"name_pattern": "*a*", "reason": "bots", "start": token})

    assert page.status_code == 200
    assert _errors(page) == [
        "The criteria changed since the preview. Nothing was invalidated: check the count "
        "for the criteria now in the form, then press the button again."
    ]
    assert Invalidation.objects.count() == 0
    assert _invalidated() == 0
    # The fresh preview is for what the form holds now, with a button of its own.
    assert page.context["preview"] == len(people)
    fresh_token, text = _start_button(page)
    assert text == f"Invalidate {len(people)} signatures"
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(url, {"name_pattern": "*a*", "reason": "bots", "start": fresh_token})
    assert started.status_code == 302
    assert _invalidated() == len(people)
    assert {s.status for s in Signature.objects.filter(pk__in=[b.pk for b in bots])} == {
        Status.CONFIRMED
    }


@pytest.mark.django_db
def test_a_count_changed_since_the_preview_is_refused(
    client: Client, campaign: Campaign, django_capture_on_commit_callbacks: Any
) -> None:
    _a_wave(campaign)
    url = _url(campaign)
    token, _text = _start_button(client.post(url, {"network": NETWORK, "preview": "1"}))
    make_signature(campaign, ip_address="203.0.113.77")  # the wave goes on meanwhile

    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(url, {"network": NETWORK, "reason": "bots", "start": token})

    assert _errors(page) == [
        "The number of matching signatures changed since the preview (3 then, 4 now). "
        "Nothing was invalidated: check the new count, then press the button again."
    ]
    assert (Invalidation.objects.count(), _invalidated()) == (0, 0)
    assert _start_button(page)[1] == "Invalidate 4 signatures"


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["", "1", "not-a-token", "a" * 5000])
def test_start_without_a_token_of_a_preview_is_refused(
    client: Client, campaign: Campaign, token: str
) -> None:
    _a_wave(campaign)
    page = client.post(_url(campaign), {"network": NETWORK, "reason": "bots", "start": token})
    assert page.status_code == 200
    assert _errors(page) == [
        "Count the matching signatures first, then press the button that shows the count."
    ]
    assert (Invalidation.objects.count(), _invalidated()) == (0, 0)
    assert page.context["preview"] == 3


@pytest.mark.django_db
def test_a_tampered_token_is_refused(client: Client, campaign: Campaign) -> None:
    _a_wave(campaign)
    url = _url(campaign)
    token, _text = _start_button(client.post(url, {"network": NETWORK, "preview": "1"}))
    payload = signing.loads(token, salt=invalidation.PREVIEW_TOKEN_SALT)
    # A copy with a larger count but the old signature, and one signed with the wrong salt.
    signed_part = token.partition(":")[2]
    forged = signing.dumps({**payload, "count": 999}, salt=invalidation.PREVIEW_TOKEN_SALT)
    spliced = forged.partition(":")[0] + ":" + signed_part
    unsalted = signing.dumps(payload)
    for bad in (spliced, unsalted, token[:-2] + ("AA" if not token.endswith("AA") else "BB")):
        page = client.post(url, {"network": NETWORK, "reason": "bots", "start": bad})
        assert _errors(page) == [
            "This preview could not be checked. Count the matching signatures again."
        ], bad
    assert (Invalidation.objects.count(), _invalidated()) == (0, 0)


@pytest.mark.django_db
def test_a_token_of_another_campaign_is_refused(client: Client, campaign: Campaign) -> None:
    other = make_campaign("other-campaign")
    for campaign_ in (campaign, other):
        make_signature(campaign_, ip_address="203.0.113.5")
    token, _text = _start_button(client.post(_url(other), {"network": NETWORK, "preview": "1"}))
    page = client.post(_url(campaign), {"network": NETWORK, "reason": "bots", "start": token})
    assert _errors(page) == [
        "This preview was made for another campaign. Check the count for this one."
    ]
    assert (Invalidation.objects.count(), _invalidated()) == (0, 0)


@pytest.mark.django_db
def test_a_token_of_another_person_is_refused(client: Client, campaign: Campaign) -> None:
    _a_wave(campaign)
    colleague = Client()
    sign_in(colleague, make_staff(roles.MODERATOR))
    token, _text = _start_button(
        colleague.post(_url(campaign), {"network": NETWORK, "preview": "1"})
    )
    page = client.post(_url(campaign), {"network": NETWORK, "reason": "bots", "start": token})
    assert _errors(page) == [
        "This preview was made by someone else. Check the count yourself before invalidating."
    ]
    assert (Invalidation.objects.count(), _invalidated()) == (0, 0)


@pytest.mark.django_db
def test_an_expired_token_is_refused(
    client: Client, campaign: Campaign, moderator: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    _a_wave(campaign)
    criteria = Criteria(network=NETWORK)
    # A token minted as a preview would have been, a little over the limit ago.
    long_ago = time.time() - invalidation.PREVIEW_TOKEN_MAX_AGE - 60
    monkeypatch.setattr(
        signing.TimestampSigner, "timestamp", lambda self: signing.b62_encode(int(long_ago))
    )
    token = invalidation.preview_token_make(
        campaign=campaign, criteria=criteria, count=3, user=moderator
    )
    monkeypatch.undo()
    page = client.post(_url(campaign), {"network": NETWORK, "reason": "bots", "start": token})
    assert _errors(page) == [
        "This preview is more than an hour old. Check the fresh count, then press the button again."
    ]
    assert (Invalidation.objects.count(), _invalidated()) == (0, 0)
    assert _start_button(page)[1] == "Invalidate 3 signatures"


@pytest.mark.django_db
def test_one_token_starts_one_job_however_often_it_is_sent(
    client: Client, campaign: Campaign, django_capture_on_commit_callbacks: Any
) -> None:
    bots, _people = _a_wave(campaign)
    url = _url(campaign)
    token, _text = _start_button(client.post(url, {"network": NETWORK, "preview": "1"}))
    data = {"network": NETWORK, "reason": "bots", "start": token}
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(url, data)
    with django_capture_on_commit_callbacks(execute=True):
        second = client.post(url, data, follow=True)
    job = Invalidation.objects.get()
    assert (
        first["Location"]
        == second.redirect_chain[0][0]
        == reverse("organisers:invalidation", args=[job.pk])
    )
    assert [str(m) for m in second.context["messages"]] == [
        "This preview has already started the job below."
    ]
    assert (job.total, job.invalidated, _invalidated()) == (3, 3, len(bots))


@pytest.mark.django_db
def test_the_service_refuses_a_token_used_twice_or_given_for_other_criteria(
    campaign: Campaign, moderator: User, django_capture_on_commit_callbacks: Any
) -> None:
    _a_wave(campaign)
    criteria = Criteria(network=NETWORK)
    token = invalidation.preview_token_make(
        campaign=campaign, criteria=criteria, count=3, user=moderator
    )
    with pytest.raises(invalidation.PreviewRefused):
        invalidation.invalidation_start(
            campaign=campaign,
            criteria=Criteria(name_pattern="*a*"),
            reason="x",
            user=moderator,
            preview_token=token,
        )
    with django_capture_on_commit_callbacks(execute=True):
        job = invalidation.invalidation_start(
            campaign=campaign, criteria=criteria, reason="x", user=moderator, preview_token=token
        )
    with pytest.raises(invalidation.PreviewAlreadyUsed) as used:
        invalidation.invalidation_start(
            campaign=campaign, criteria=criteria, reason="x", user=moderator, preview_token=token
        )
    assert used.value.job == job
    assert Invalidation.objects.count() == 1


@pytest.mark.django_db
def test_a_refusal_reads_in_khmer_on_khmer_pages(client: Client, campaign: Campaign) -> None:
    _a_wave(campaign)
    url = _url(campaign, "km")
    token, text = _start_button(client.post(url, {"network": NETWORK, "preview": "1"}))
    assert text == "ដកសុពលភាពហត្ថលេខាចំនួន ៣"
    page = client.post(url, {"name_pattern": "*a*", "reason": "bots", "start": token})
    assert _errors(page) == [
        "លក្ខខណ្ឌបានផ្លាស់ប្តូរតាំងពីការមើលជាមុន។ មិនទាន់មានហត្ថលេខាណាមួយត្រូវបានដកសុពលភាពទេ៖ "
        "សូមពិនិត្យចំនួនសម្រាប់លក្ខខណ្ឌដែលមានក្នុងទម្រង់ឥឡូវនេះ រួចចុចប៊ូតុងម្តងទៀត។"
    ]
    assert _invalidated() == 0


@pytest.mark.django_db
def test_a_signature_arriving_while_the_job_waits_in_the_queue_is_left_alone(
    client: Client, campaign: Campaign, django_capture_on_commit_callbacks: Any
) -> None:
    bots, _people = _a_wave(campaign)
    url = _url(campaign)
    token, _text = _start_button(client.post(url, {"network": NETWORK, "preview": "1"}))
    with django_capture_on_commit_callbacks(execute=False) as queued:
        client.post(url, {"network": NETWORK, "reason": "bots", "start": token})
    latecomer = make_signature(campaign, ip_address="203.0.113.200")
    Signature.objects.filter(pk=latecomer.pk).update(
        created_at=Invalidation.objects.get().created_at + timedelta(seconds=1)
    )
    for callback in queued:
        callback()  # the worker takes the job now
    job = Invalidation.objects.get()
    assert (job.total, job.invalidated) == (3, 3)
    assert Signature.objects.get(pk=latecomer.pk).status == Status.CONFIRMED
