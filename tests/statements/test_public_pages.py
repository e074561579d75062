"""The statement list, a statement in each language, feeds, and harmless bodies."""

from datetime import date
from html.parser import HTMLParser
from typing import Any

import feedparser
import pytest
from django.test import Client

from statements.models import Statement
from tests.factories import make_campaign, make_statement

pytestmark = pytest.mark.django_db


def test_list_shows_only_published_statements(client: Client) -> None:
    make_statement("draft-one", title_en="A draft")
    make_statement("in-review", status=Statement.Status.IN_REVIEW, title_en="Under review")
    make_statement("published-one", status=Statement.Status.PUBLISHED, title_en="Out now")
    html = client.get("/en/statements/").content.decode()
    assert "Out now" in html
    assert "A draft" not in html and "Under review" not in html
    assert client.get("/en/statements/draft-one/").status_code == 404


def test_list_filters_by_kind_campaign_and_year(client: Client) -> None:
    campaign = make_campaign()
    make_statement(
        "old",
        status=Statement.Status.PUBLISHED,
        title_en="Old news",
        date=date(2013, 9, 1),
        kind=Statement.Kind.NEWS,
    )
    make_statement(
        "petition",
        status=Statement.Status.PUBLISHED,
        title_en="Petition release",
        date=date(2014, 3, 16),
        campaign=campaign,
    )
    by_year = client.get("/en/statements/?year=2013").content.decode()
    assert "Old news" in by_year and "Petition release" not in by_year
    by_campaign = client.get(f"/en/statements/?campaign={campaign.slug}").content.decode()
    assert "Petition release" in by_campaign and "Old news" not in by_campaign
    by_kind = client.get("/en/statements/?kind=news").content.decode()
    assert "Old news" in by_kind and "Petition release" not in by_kind


def test_list_ignores_filters_it_does_not_know(client: Client) -> None:
    make_statement("one", status=Statement.Status.PUBLISHED, title_en="Still listed")
    response = client.get("/en/statements/?campaign=no%20such&year=20x4&kind=<b>&page=99")
    assert response.status_code == 200
    assert "Still listed" in response.content.decode()


def test_list_is_paginated(client: Client) -> None:
    for number in range(12):
        make_statement(
            f"statement-{number}", status=Statement.Status.PUBLISHED, title_en=f"Number {number}"
        )
    first = client.get("/en/statements/")
    assert len(first.context["statements"]) == 10
    second = client.get("/en/statements/?page=2")
    assert len(second.context["statements"]) == 2
    assert 'rel="next"' in first.content.decode()


def test_statement_page_in_each_language_with_switch(client: Client) -> None:
    statement = make_statement(status=Statement.Status.PUBLISHED)
    khmer = client.get(f"/km/statements/{statement.slug}/").content.decode()
    english = client.get(f"/en/statements/{statement.slug}/").content.decode()
    assert statement.title_km in khmer and "ក្នុងខណៈពេល" in khmer
    assert statement.title_en in english and "As voters registration day" in english
    assert f'href="/en/statements/{statement.slug}/"' in khmer  # the language switch
    assert '<meta property="og:title" content="Public statement">' in english
    assert "og:description" in english and "og:url" in english
    assert "statement-print.css" in english
    assert "issued in" not in english


def test_missing_language_shows_the_other_with_a_note(client: Client) -> None:
    statement = make_statement(status=Statement.Status.PUBLISHED, title_km="", body_km="")
    khmer = client.get(f"/km/statements/{statement.slug}/").content.decode()
    assert "As voters registration day" in khmer
    assert '<div class="prose statement-body" lang="en">' in khmer
    assert '<p class="note" lang="km">' in khmer  # says so, in the reader's language
    english = client.get(f"/en/statements/{statement.slug}/").content.decode()
    assert 'class="note"' not in english


@pytest.mark.parametrize(
    "body",
    [
        "<script>alert(1)</script>Text",
        '<img src="x" onerror="alert(1)">',
        "[click](javascript:alert(1))",
        '<a href="javascript:alert(1)" onclick="alert(2)">x</a>',
        '<svg onload="alert(1)"></svg><iframe src="https://evil.example"></iframe>',
    ],
)
def test_bodies_with_scripts_are_rendered_harmless(
    client: Client, body: str, settings: Any
) -> None:
    statement = make_statement(status=Statement.Status.PUBLISHED, body_en=body, summary_en=body)
    pages = [
        client.get(f"/en/statements/{statement.slug}/").content.decode(),
        client.get("/en/statements/feed/rss/").content.decode(),
        client.get("/en/statements/feed/atom/").content.decode(),
    ]
    assert dangerous_markup(pages[0]) == []
    for feed in pages[1:]:
        description = feedparser.parse(feed, sanitize_html=False).entries[0].get("summary", "")
        assert dangerous_markup(description) == []


class _Dangerous(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "iframe", "svg", "object", "embed"}:
            self.found.append(tag)
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{tag}[{name}]")
            if name in {"href", "src"} and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"{tag}[{name}={value}]")


def dangerous_markup(html: str) -> list[str]:
    """Elements that could run script: what a browser would act on, not escaped text."""
    parser = _Dangerous()
    parser.feed(html)
    return parser.found


def _check_feed(parsed: Any, language: str, kind: str) -> None:
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.feed.title and parsed.feed.link
    assert parsed.feed.get("language", language).startswith(language)
    # The W3C validator's rules: a self link, dates it can read, a link per entry.
    assert any(link.get("rel") == "self" for link in parsed.feed.links)
    if kind == "atom":
        assert parsed.version == "atom10"
        assert parsed.feed.id and parsed.feed.updated
        assert parsed.feed.get("author") or all(entry.get("author") for entry in parsed.entries)
        for entry in parsed.entries:
            assert entry.id and entry.title and entry.updated and entry.link
            assert entry.updated_parsed is not None
    else:
        assert parsed.version == "rss20"
        assert parsed.feed.description
        for entry in parsed.entries:
            assert entry.title and entry.link and entry.guid and entry.published
            assert entry.published_parsed is not None and entry.guid.startswith("http")


@pytest.mark.parametrize("language", ["km", "en"])
@pytest.mark.parametrize("kind", ["rss", "atom"])
def test_feeds_parse_and_validate_per_language(client: Client, language: str, kind: str) -> None:
    make_statement("one", status=Statement.Status.PUBLISHED)
    make_statement(
        "english-only",
        status=Statement.Status.PUBLISHED,
        title_km="",
        body_km="",
        title_en="Only English",
    )
    make_statement("draft", title_en="Not yet")
    response = client.get(f"/{language}/statements/feed/{kind}/")
    assert response.status_code == 200
    parsed = feedparser.parse(response.content)
    _check_feed(parsed, language, kind)
    titles = [entry.title for entry in parsed.entries]
    expected = "សេចក្តីថ្លែងការណ៍ជាសាធារណៈ" if language == "km" else "Public statement"
    assert expected in titles and "Only English" in titles and "Not yet" not in titles
    assert all(f"/{language}/statements/" in entry.link for entry in parsed.entries)


@pytest.mark.parametrize("kind", ["rss", "atom"])
def test_campaign_feed_has_only_that_campaigns_statements(client: Client, kind: str) -> None:
    campaign = make_campaign()
    make_statement(
        "with-campaign", status=Statement.Status.PUBLISHED, title_en="Petition", campaign=campaign
    )
    make_statement("without", status=Statement.Status.PUBLISHED, title_en="Other")
    parsed = feedparser.parse(client.get(f"/en/statements/feed/{campaign.slug}/{kind}/").content)
    _check_feed(parsed, "en", kind)
    assert [entry.title for entry in parsed.entries] == ["Petition"]
    assert client.get(f"/en/statements/feed/no-such-campaign/{kind}/").status_code == 404


def test_pdf_download_only_for_published_statements(client: Client) -> None:
    draft = make_statement("draft-with-pdf")
    assert client.get(f"/en/statements/{draft.slug}/pdf/").status_code == 404
