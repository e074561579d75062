"""Real Chromium: an organiser signs in with two-factor, reads the dashboard,
downloads exports."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from core import roles
from tests.conftest import axe_violations
from tests.factories import (
    PASSWORD,
    TOTP_SECRET,
    make_campaign,
    make_signature,
    make_staff,
    totp_now,
)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_organiser_signs_in_with_two_factor_and_downloads_exports(
    live_server: Any, desktop_page: Any
) -> None:
    campaign = make_campaign()
    for country in ("FR", "FR", "AU"):
        make_signature(campaign, country=country, full_name="=cmd|' /C calc'!A0")
    organiser = make_staff(roles.ORGANISER, two_factor=True)
    page = desktop_page.page
    console_errors: list[str] = []
    page.on(
        "console",
        lambda message: console_errors.append(message.text) if message.type == "error" else None,
    )

    page.goto(f"{live_server.url}/en/organisers/campaigns/{campaign.slug}/")
    assert "/accounts/login/" in page.url  # not signed in: sent to sign in first
    page.fill("input[name=login]", organiser.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url("**/2fa/authenticate/**")
    page.fill("input[name=code]", totp_now(TOTP_SECRET))
    page.click("form button[type=submit]")
    page.wait_for_url(f"**/organisers/campaigns/{campaign.slug}/")

    assert page.locator("[data-figure=confirmed]").inner_text() == "3"
    assert page.locator("svg.chart-bars").count() == 2  # country and province charts
    # Django's own breadcrumbs (admin CSS) are not ours to restyle: judge our content.
    assert [
        violation
        for violation in axe_violations(page)
        if not all(".breadcrumbs" in node[0] for node in violation["nodes"])
    ] == []

    with page.expect_download() as country_csv:
        page.click("a[href$='counts-by-country.csv']")
    rows = list(csv.reader(io.StringIO(Path(country_csv.value.path()).read_text("utf-8-sig"))))
    assert rows[1:] == [["FR", "France", "2"], ["AU", "Australia", "1"]]

    with page.expect_download() as full_export:
        page.click("#full-export")
    with open(full_export.value.path(), encoding="utf-8-sig") as handle:
        exported = list(csv.reader(handle))
    assert len(exported) == 4
    assert {row[4] for row in exported[1:]} == {"'=cmd|' /C calc'!A0"}
    assert desktop_page.foreign_requests(live_server.url) == []
    assert [error for error in console_errors if "Refused to" in error] == []
