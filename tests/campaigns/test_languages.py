import re

import pytest
from django.template import Context, Template
from django.test import Client
from django.utils import translation

from campaigns.demo import load_campaign

PUBLIC_PAGES = [
    "/{lang}/",
    "/{lang}/about/",
    "/{lang}/campaigns/",
    "/{lang}/campaigns/right-to-vote-overseas/",
    "/{lang}/statements/",
]


@pytest.fixture
def demo(db: None) -> None:
    load_campaign()


@pytest.mark.parametrize("path", PUBLIC_PAGES)
@pytest.mark.parametrize("lang", ["km", "en"])
def test_every_public_page_renders_in_both_languages(
    client: Client, demo: None, path: str, lang: str
) -> None:
    response = client.get(path.format(lang=lang))
    assert response.status_code == 200
    assert f'<html lang="{lang}">' in response.content.decode()


def test_root_redirects_to_khmer_by_default(client: Client, demo: None) -> None:
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="")
    assert response.status_code == 302
    assert response["Location"] == "/km/"


def test_the_switcher_keeps_the_page(client: Client, demo: None) -> None:
    html = client.get("/km/campaigns/right-to-vote-overseas/?utm_source=telegram").content.decode()
    assert 'href="/en/campaigns/right-to-vote-overseas/?utm_source=telegram"' in html
    html = client.get("/en/about/").content.decode()
    assert 'href="/km/about/"' in html
    assert ">ខ្មែរ<" in html


def test_the_switcher_keeps_each_page_asked_for_again_or_with_a_long_query(
    client: Client, demo: None
) -> None:
    """The translated addresses are kept per process (config.context_processors):
    each page still gets its own, a long address too."""
    long_query = "?utm_campaign=" + "x" * 600
    for _ in range(2):
        for path in ["/km/about/", "/km/campaigns/", "/km/about/?utm_source=a", long_query]:
            page = path if path.startswith("/") else f"/km/about/{path}"
            html = client.get(page).content.decode()
            assert f'href="{page.replace("/km/", "/en/", 1)}"' in html


def test_hreflang_alternates_name_both_languages(client: Client, demo: None) -> None:
    html = client.get("/en/about/").content.decode()
    assert re.search(r'<link rel="alternate" hreflang="km" href="http[^"]+/km/about/">', html)
    assert re.search(r'<link rel="alternate" hreflang="en" href="http[^"]+/en/about/">', html)


def test_khmer_page_reads_in_khmer(client: Client, demo: None) -> None:
    html = client.get("/km/").content.decode()
    assert "យុទ្ធនាការ" in html  # "campaign", from our Khmer catalogue


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("km", "១,២៣៤,៥៦៧"), ("en", "1,234,567")],
)
def test_a_count_renders_with_the_languages_digits(lang: str, expected: str) -> None:
    with translation.override(lang):
        rendered = Template("{% load sitthi %}{{ count|digits }}").render(
            Context({"count": 1234567})
        )
    assert rendered == expected


def test_dates_get_khmer_digits_on_khmer_pages() -> None:
    import datetime

    with translation.override("km"):
        rendered = Template('{% load sitthi %}{{ day|date:"DATE_FORMAT"|digits }}').render(
            Context({"day": datetime.date(2014, 3, 16)})
        )
    assert rendered.startswith("១៦ ")
    assert rendered.endswith("២០១៤")
