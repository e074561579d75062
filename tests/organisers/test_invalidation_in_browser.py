"""Real Chromium: a moderator previews an invalidation, changes a criterion,
presses the button, and is refused; then runs what was previewed and undoes it."""

from __future__ import annotations

from typing import Any

import pytest

from core import roles
from organisers.models import Invalidation
from signatures.models import Signature
from tests.factories import PASSWORD, make_campaign, make_signature, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
Status = Signature.Status


def _invalidated() -> int:
    return Signature.objects.filter(status=Status.INVALIDATED).count()


def test_a_changed_criterion_is_refused_then_the_previewed_job_runs_and_is_undone(
    live_server: Any, desktop_page: Any
) -> None:
    campaign = make_campaign()
    for number in range(1, 4):
        make_signature(campaign, full_name=f"Bot {number}", ip_address=f"203.0.113.{number}")
    for name in ("Dara", "Sophal", "Malis", "Chanthy Kar"):
        make_signature(campaign, full_name=name, ip_address="198.51.100.9")
    moderator = make_staff(roles.MODERATOR)
    page = desktop_page.page

    page.goto(f"{live_server.url}/en/organisers/campaigns/{campaign.slug}/invalidate/")
    page.fill("input[name=login]", moderator.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url("**/invalidate/")

    page.fill("input[name=network]", "203.0.113.0/24")
    page.fill("input[name=reason]", "bot wave")
    page.click("button[name=preview]")
    start = page.locator("#start-invalidation")
    assert start.inner_text() == "Invalidate 3 signatures"

    # The organiser changes the criterion and presses the button without counting again.
    page.fill("input[name=network]", "")
    page.fill("input[name=name_pattern]", "*a*")
    start.click()
    page.wait_for_load_state()
    assert (
        "The criteria changed since the preview. Nothing was invalidated"
        in page.locator(".errorlist").first.inner_text()
    )
    assert (Invalidation.objects.count(), _invalidated()) == (0, 0)
    # A fresh preview for what the form holds now.
    assert page.locator("#start-invalidation").inner_text() == "Invalidate 4 signatures"

    page.fill("input[name=name_pattern]", "")
    page.fill("input[name=network]", "203.0.113.0/24")
    page.click("button[name=preview]")
    page.click("#start-invalidation")
    page.wait_for_url("**/invalidations/*/")
    job = Invalidation.objects.get()
    page.wait_for_function(
        "document.querySelector('[data-field=status_label]').textContent === 'Done'"
    )
    assert _invalidated() == 3

    # The undo button comes with the finished job's page (loaded again by
    # the progress script when the job was still running at first).
    page.click("#undo-invalidation")
    page.wait_for_url(f"**/invalidations/{job.pk}/")
    page.reload()  # the undo runs after the answer (eagerly here)
    assert "3 signatures restored." in page.locator("#undo-status").inner_text()
    assert _invalidated() == 0
    assert desktop_page.foreign_requests(live_server.url) == []
