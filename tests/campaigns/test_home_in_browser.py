import pytest

from campaigns.demo import load_campaign
from tests.conftest import axe_violations

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(transactional_db: None) -> None:
    load_campaign()


def test_home_page_in_khmer_then_english(live_server, demo, phone_page) -> None:
    page = phone_page.page
    page.goto(f"{live_server.url}/km/")
    assert page.locator("html").get_attribute("lang") == "km"
    assert page.get_by_role("heading", level=1).inner_text()
    assert "ញត្តិទាមទារសិទ្ធិបោះឆ្នោត" in page.content()

    page.get_by_role("link", name="English").click()
    page.wait_for_url(f"{live_server.url}/en/")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role(
        "heading", name="The right to vote for Cambodians overseas"
    ).is_visible()
    assert phone_page.foreign_requests(live_server.url) == []


def test_the_khmer_font_is_served_by_the_app(live_server, demo, phone_page) -> None:
    page = phone_page.page
    page.goto(f"{live_server.url}/km/")
    page.evaluate("document.fonts.ready")
    assert page.evaluate("document.fonts.check('16px \"Noto Sans Khmer\"', 'សិទ្ធិ')")
    assert any(url.endswith(".woff2") for url in phone_page.requests)
    assert phone_page.foreign_requests(live_server.url) == []


@pytest.mark.parametrize("lang", ["km", "en"])
def test_home_page_has_no_accessibility_violations(live_server, demo, desktop_page, lang) -> None:
    desktop_page.page.goto(f"{live_server.url}/{lang}/")
    assert axe_violations(desktop_page.page) == []
