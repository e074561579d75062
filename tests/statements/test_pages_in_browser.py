"""The statement list and pages in real Chromium: both languages, accessible,
nothing fetched from another host."""

from typing import Any

import pytest

from campaigns.demo import load_campaign
from statements import pdf
from statements.demo import load_statements
from statements.models import Statement
from tests.conftest import axe_violations

pytestmark = pytest.mark.browser

PAGES = [
    "statements/",
    "statements/public-statement-encourage-registration-2013/",
    "statements/press-release-petition-2014-03-16/",  # English only: the page says so
]


@pytest.fixture(scope="module")
def pdfs_rendered() -> dict[tuple[str, str], bytes]:
    return {}


@pytest.fixture
def demo(
    transactional_db: None,
    monkeypatch: pytest.MonkeyPatch,
    pdfs_rendered: dict[tuple[str, str], bytes],
) -> None:
    """The demo statements, published with their PDFs. Each PDF is rendered
    once per module and reused while its HTML is the same: nine WeasyPrint
    renderings per test were most of this module's time, and the same HTML
    makes the same PDF (tests/statements/test_pdf.py checks the rendering)."""
    render_pdf = pdf.render_pdf

    def render_once(statement: Statement, language: str = pdf.PRIMARY_LANGUAGE) -> bytes:
        html = (pdf.statement_html(statement, language), language)
        if html not in pdfs_rendered:
            pdfs_rendered[html] = render_pdf(statement, language)
        return pdfs_rendered[html]

    monkeypatch.setattr(pdf, "render_pdf", render_once)
    load_statements(campaign=load_campaign())
    assert Statement.objects.published().count() == 3


@pytest.mark.parametrize("lang", ["km", "en"])
@pytest.mark.parametrize("path", PAGES)
def test_statement_pages_have_no_accessibility_violations(
    live_server: Any, demo: None, desktop_page: Any, lang: str, path: str
) -> None:
    page = desktop_page.page
    page.goto(f"{live_server.url}/{lang}/{path}")
    assert page.locator("html").get_attribute("lang") == lang
    assert page.get_by_role("heading", level=1).inner_text()
    assert axe_violations(page) == []
    assert desktop_page.foreign_requests(live_server.url) == []


def test_reader_switches_a_statement_from_khmer_to_english_and_downloads_the_pdf(
    live_server: Any, demo: None, phone_page: Any
) -> None:
    page = phone_page.page
    page.goto(f"{live_server.url}/km/statements/")
    page.get_by_role("link", name="សេចក្តីថ្លែងការណ៍ជាសាធារណៈ").first.click()
    page.wait_for_url("**/km/statements/public-statement-encourage-registration-2013/")
    assert "គណៈកម្មការដើម្បីសិទ្ធិបោះឆ្នោតពលរដ្ឋខ្មែរនៅក្រៅប្រទេស" in page.content()
    page.get_by_role("link", name="English").click()
    page.wait_for_url("**/en/statements/public-statement-encourage-registration-2013/")
    assert page.get_by_role("heading", name="Public statement: register to vote").is_visible()
    pdf_link = page.locator("a[href$='/pdf/']")
    assert pdf_link.count() == 1
    response = page.request.get(live_server.url + pdf_link.get_attribute("href"))
    assert response.ok and response.body().startswith(b"%PDF-")
    assert phone_page.foreign_requests(live_server.url) == []


def test_english_only_statement_on_the_khmer_page_says_so(
    live_server: Any, demo: None, phone_page: Any
) -> None:
    page = phone_page.page
    page.goto(f"{live_server.url}/km/statements/press-release-petition-2014-03-16/")
    assert page.locator(".statement-body").get_attribute("lang") == "en"
    assert page.locator(".note").is_visible()
