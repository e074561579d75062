"""Real Chromium on a machine with no Khmer system font: Khmer admin pages
(the signature list, a signature's page) draw every Khmer character with
the site's own Noto Sans Khmer, never as tofu boxes."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import translation

from campaigns.models import Campaign
from core import roles
from tests.factories import make_campaign, make_signature, make_staff, sign_in

# The tofu check, run in the page. A character no font can draw is drawn as
# the .notdef glyph (a box): the same picture for every such character. So
# draw a character that no font has (U+10FFFD, private use in the last
# plane) to get that picture, then draw each Khmer character the page shows,
# one at a time on a canvas with the font the page uses (the body's computed
# font-family); a character whose pixels equal the box is tofu. The same
# comparison with a stack of system fonts only ("sans-serif") is the control:
# on this machine (no Khmer system font) it must find every spacing
# character tofu, which shows the check can fail. A combining mark (a vowel
# sign, a subscript sign) is not: drawn alone, Chromium puts it on a dotted
# circle from whichever font has one, so it never looks like the bare box.
# The marks are checked as Chromium draws them in words instead: each on a
# consonant, in one node, whose fonts must all be ours.
TOFU_CHECK = """
async ([fontFamily]) => {
  await document.fonts.ready;
  await document.fonts.load('32px "Noto Sans Khmer"', "ក");
  const canvas = document.createElement("canvas");
  canvas.width = 96; canvas.height = 64;
  const context = canvas.getContext("2d", {willReadFrequently: true});
  const picture = (text, family) => {
    context.clearRect(0, 0, canvas.width, canvas.height);
    context.font = `32px ${family}`;
    context.fillStyle = "#000";
    context.fillText(text, 24, 44);
    return Array.from(context.getImageData(0, 0, canvas.width, canvas.height).data).join(",");
  };
  const khmer = [...new Set(document.body.innerText.match(/[\\u1780-\\u17FF\\u19E0-\\u19FF]/g) || [])];
  const tofuIn = (family) => {
    const box = picture("\\u{10FFFD}", family);
    return khmer.filter((character) => picture(character, family) === box);
  };
  const sample = document.createElement("p");
  sample.id = "khmer-sample";
  sample.textContent = khmer.map((character) => /\\p{M}/u.test(character) ? "ក" + character : character).join("");
  document.body.append(sample);
  return {
    khmer: khmer,
    marks: khmer.filter((character) => /\\p{M}/u.test(character)),
    tofu: tofuIn(fontFamily),
    tofuWithSystemFontsOnly: tofuIn("sans-serif"),
  };
}
"""


def system_has_khmer_font() -> bool:
    if not shutil.which("fc-list"):
        return False
    listed = subprocess.run(["fc-list", ":charset=1780"], capture_output=True, text=True)
    return bool(listed.stdout.strip())


def signed_in_cookie(user: User) -> str:
    client = Client()
    sign_in(client, user)
    return client.cookies["sessionid"].value


def fonts_used_for(page: Any, selector: str) -> list[str]:
    """The fonts Chromium actually drew a node's text with (DevTools protocol)."""
    session = page.context.new_cdp_session(page)
    session.send("DOM.enable")
    session.send("CSS.enable")
    document = session.send("DOM.getDocument")
    node = session.send(
        "DOM.querySelector", {"nodeId": document["root"]["nodeId"], "selector": selector}
    )
    fonts = session.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})
    return [font["familyName"] for font in fonts["fonts"]]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_khmer_admin_pages_draw_khmer_with_our_font_and_no_tofu(
    live_server: Any, desktop_page: Any
) -> None:
    campaign: Campaign = make_campaign()
    Campaign.objects.filter(pk=campaign.pk).update(title_km="សិទ្ធិបោះឆ្នោតពលរដ្ឋខ្មែរ")
    signature = make_signature(
        campaign, full_name="សុខ ដារា", province="kampot", country="KH", language="km"
    )
    organiser = make_staff(roles.ORGANISER, two_factor=True)
    page = desktop_page.page
    page.context.add_cookies(
        [{"name": "sessionid", "value": signed_in_cookie(organiser), "url": live_server.url}]
    )
    console_errors: list[str] = []
    page.on(
        "console",
        lambda message: console_errors.append(message.text) if message.type == "error" else None,
    )
    with translation.override("km"):
        pages = [
            reverse("admin:signatures_signature_changelist"),
            reverse("admin:signatures_signature_change", args=[signature.pk]),
        ]
    for path in pages:
        page.goto(f"{live_server.url}{path}")
        assert page.url.endswith(path)  # signed in, not sent to sign in
        body_font = page.evaluate("getComputedStyle(document.body).fontFamily")
        result = page.evaluate(TOFU_CHECK, [body_font])
        assert len(result["khmer"]) > 20, path  # the page is in Khmer
        assert result["tofu"] == [], path
        if not system_has_khmer_font():
            # The control: without our font, this machine draws Khmer as boxes.
            spacing = set(result["khmer"]) - set(result["marks"])
            assert set(result["tofuWithSystemFontsOnly"]) >= spacing, path
        assert result["marks"], path  # vowel signs are on the page ...
        assert fonts_used_for(page, "#khmer-sample") == ["Noto Sans Khmer"], path  # ... and ours
        assert page.evaluate(
            """[...document.fonts].some(
                (face) => face.family.replace(/"/g, "") === "Noto Sans Khmer"
                    && face.status === "loaded")"""
        ), path
        assert "Noto Sans Khmer" in fonts_used_for(page, "#content h1")
    # The CSP let the stylesheet and the font through (a refusal is a console error).
    assert console_errors == []
    assert desktop_page.foreign_requests(live_server.url) == []
