"""The badge in real Chromium, shown as another site shows it (an <img>):
its Khmer reads as Chromium itself writes it in our font, not as boxes."""

import base64
import io
from typing import Any

import pytest
from PIL import Image, ImageChops

from campaigns.models import Campaign
from signatures import badges
from tests.factories import make_campaign, make_signature

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCALE = 4  # drawn four times larger than on a page, so that shapes, not pixels, are compared
GREEN = "#1b6e3a"  # the badge's count side


def _ink(png: bytes) -> Image.Image:
    """The white strokes on the green ground, as a mask cropped to them."""
    mask = Image.open(io.BytesIO(png)).convert("L").point(lambda value: 255 if value > 150 else 0)
    box = mask.getbbox()
    assert box is not None, "nothing drawn"
    return mask.crop(box)


def _overlap(drawn: Image.Image, reference: Image.Image) -> float:
    """Intersection over union of two masks, at the best of a few
    one-pixel shifts (the two are rasterised apart)."""
    width, height = max(drawn.width, reference.width), max(drawn.height, reference.height)
    best = 0.0
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            first = Image.new("L", (width + 2, height + 2))
            first.paste(drawn, (1, 1))
            second = Image.new("L", (width + 2, height + 2))
            second.paste(reference, (1 + dx, 1 + dy))
            both = ImageChops.logical_and(first.convert("1"), second.convert("1"))
            either = ImageChops.logical_or(first.convert("1"), second.convert("1"))
            union = sum(1 for pixel in either.get_flattened_data() if pixel)
            best = max(best, sum(1 for pixel in both.get_flattened_data() if pixel) / union)
    return best


@pytest.fixture
def campaign(live_server: Any) -> Campaign:
    campaign = make_campaign()
    for _ in range(2):
        make_signature(campaign)
    return campaign


def test_badge_khmer_reads_as_chromium_writes_it_not_as_boxes(
    live_server: Any, campaign: Campaign, desktop_page: Any
) -> None:
    page = desktop_page.page
    font = base64.b64encode(badges.BADGE_FONT.read_bytes()).decode()
    badge_url = f"{live_server.url}/km/campaigns/{campaign.slug}/badge.svg"
    size = badges.BADGE_FONT_PX * SCALE
    text_style = f"font: {size}px Reference; color: #fff; background: {GREEN}; padding: 8px"
    page.set_content(
        "<style>"
        f"@font-face {{ font-family: Reference; src: url(data:font/woff2;base64,{font}); }}"
        f"body {{ margin: 0; background: {GREEN} }} div {{ display: inline-block; white-space: pre }}"
        "</style>"
        f'<img id="badge" src="{badge_url}" alt="">'
        # Chromium's own shaping of the text in our font; and a wrong
        # spelling of it (no subscript), to show the comparison can tell.
        f'<div id="reference" lang="km" style="{text_style}">ហត្ថលេខា ២</div><br>'
        f'<div id="misspelt" lang="km" style="{text_style}">ហតថលេខា ២</div>'
    )
    page.evaluate("document.fonts.load('12px Reference', 'ហត្ថលេខា')")
    page.wait_for_function(
        "() => document.getElementById('badge').complete && document.fonts.status == 'loaded'"
    )
    width, height = page.eval_on_selector(
        "#badge", "image => [image.naturalWidth, image.naturalHeight]"
    )
    assert height == badges.BADGE_HEIGHT_PX and width > 0  # the image decoded
    page.eval_on_selector(
        "#badge",
        f"image => {{ image.style.width = '{width * SCALE}px'; }}",
    )
    site_width = badges.badge_context(2, "km")["site"]["width"]
    badge = page.locator("#badge").screenshot()
    whole = Image.open(io.BytesIO(badge))
    count_side = whole.crop((int(site_width * SCALE) + 2, 0, *whole.size))
    buffer = io.BytesIO()
    count_side.save(buffer, format="PNG")
    drawn = _ink(buffer.getvalue())
    reference = _ink(page.locator("#reference").screenshot())
    misspelt = _ink(page.locator("#misspelt").screenshot())

    like_chromium, like_misspelt = _overlap(drawn, reference), _overlap(drawn, misspelt)
    print(f"\nbadge vs Chromium's text: {like_chromium:.2f}; vs a misspelling: {like_misspelt:.2f}")
    assert like_chromium > 0.75
    assert like_misspelt < like_chromium - 0.2
    assert desktop_page.foreign_requests(live_server.url) == []
