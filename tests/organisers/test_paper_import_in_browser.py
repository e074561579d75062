"""Real Chromium: an organiser on /km/ uploads Excel's "Unicode text" sheet,
reads the preview, confirms it, and the dashboard counts the rows."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from core import roles
from signatures.models import Signature
from tests.conftest import axe_violations
from tests.factories import make_campaign, make_staff, sign_in

# Excel's "Unicode text": UTF-16 LE with its BOM, cells separated by tabs.
SHEET = (
    "full_name\temail\tphone\tcountry\tprovince\tcity\tshow_publicly\r\n"
    "សុខ ស្តារ៉ា\t\t+855 12 345 678\tកម្ពុជា\tកំពត\t\tyes\r\n"
    "Françoise Lefèvre\t\t\tFrance\t\tLyon\t\r\n"
    "Nowhere Person\t\t\tAtlantis\t\t\t\r\n"
).encode("utf-16")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_organiser_previews_then_confirms_a_paper_import(
    live_server: Any, desktop_page: Any
) -> None:
    campaign = make_campaign()
    client = Client()
    sign_in(client, make_staff(roles.ORGANISER))
    page = desktop_page.page
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )

    page.goto(f"{live_server.url}/km/organisers/campaigns/{campaign.slug}/paper/")
    page.fill("input[name=event]", "ភ្នំពេញ ១ ឧសភា")
    page.set_input_files(
        "input[name=file]",
        files=[{"name": "sheet.txt", "mimeType": "text/plain", "buffer": SHEET}],
    )
    page.click("#preview-import")

    page.wait_for_selector("#preview-summary")
    assert page.locator("#rows-to-add tbody tr").count() == 2
    assert page.locator("#rows-to-add").inner_text().count("កម្ពុជា") == 1  # named in Khmer
    refused = page.locator("#refused-rows tbody tr")
    assert refused.count() == 1
    assert refused.first.inner_text().startswith("៤")  # line 4, in Khmer digits
    assert "មិនស្គាល់ប្រទេស" in refused.first.inner_text()
    assert not Signature.objects.exists()  # nothing written before the button
    assert [
        violation
        for violation in axe_violations(page)
        if not all(".breadcrumbs" in node[0] for node in violation["nodes"])
    ] == []

    page.click("#confirm-import")

    page.wait_for_selector("#import-summary")
    assert Signature.objects.filter(source=Signature.Source.PAPER).count() == 2
    page.goto(f"{live_server.url}/km/organisers/campaigns/{campaign.slug}/")
    assert page.locator("[data-figure=confirmed]").inner_text() == "២"
