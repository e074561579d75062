"""The 400 and 404 pages: rendered once per language and kept, the same
for every request, in the reader's language, with a way home in each
language and nothing that depends on what the request carried."""

import pytest
from django.test import Client

from config import views


@pytest.fixture(autouse=True)
def _fresh() -> None:
    views._error_page.cache_clear()


@pytest.mark.parametrize(
    ("path", "language", "heading"),
    [("/en/nothing-here/", "en", "Page not found"), ("/km/nothing-here/", "km", "រកមិនឃើញ")],
)
def test_a_page_not_found_reads_in_the_addresss_language_and_leads_home(
    client: Client, path: str, language: str, heading: str
) -> None:
    response = client.get(path)

    assert response.status_code == 404
    page = response.content.decode()
    assert f'<html lang="{language}">' in page
    assert heading in page
    # The switcher leads to each language's home: the failed address has no other language.
    other = "km" if language == "en" else "en"
    assert f'href="/{other}/" hreflang="{other}"' in page
    assert f'aria-current="true" lang="{language}"' in page
    assert 'rel="alternate"' not in page  # nothing offered to search engines
    assert "nothing-here" not in page  # nothing of the request is in it


def test_every_bad_address_gets_the_same_page_rendered_once(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    rendered: list[str] = []
    render = views.loader.render_to_string

    def counted(template: str, context: object = None, *args: object) -> str:
        rendered.append(template)
        return render(template, context, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(views.loader, "render_to_string", counted)
    pages = {client.get(f"/en/guess-{n}/?q=<b>{n}</b>").content for n in range(3)}
    pages |= {client.post("/en/guess/", {"a": "b"}).content}

    assert len(pages) == 1
    assert rendered == ["404.html"]
    client.get("/km/guess/")
    assert rendered == ["404.html", "404.html"]  # once per language


def test_a_bad_body_gets_the_400_page_in_the_addresss_language(client: Client) -> None:
    response = client.post(
        "/km/campaigns/x/sign/",
        b"name=\xff\xfe",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert '<html lang="km">' in page and 'rel="alternate"' not in page


def test_a_changed_setting_is_shown_at_once(client: Client, settings) -> None:
    client.get("/en/nowhere/")
    settings.SITE_NAME = "Another name"
    assert "Another name" in client.get("/en/nowhere/").content.decode()


def test_forms_sent_without_their_cookie_each_lead_back_to_their_own_petition() -> None:
    """Kept per way back: a second campaign's page is never the first's."""
    client = Client(enforce_csrf_checks=True)
    for slug in ("first-petition", "second-petition", "first-petition"):
        response = client.post(f"/en/campaigns/{slug}/sign/", {"full_name": "Dara"})
        assert response.status_code == 403
        page = response.content.decode()
        assert f'<a class="button" href="/en/campaigns/{slug}/">' in page
        assert 'rel="alternate"' not in page
    km = client.post("/km/campaigns/first-petition/sign/").content.decode()
    assert '<a class="button" href="/km/campaigns/first-petition/">' in km
