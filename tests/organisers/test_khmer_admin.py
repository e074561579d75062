"""Staff read the admin and the organisers' pages in Khmer: the Khmer font is
loaded, no English is left from Django's or allauth's chrome or our own
labels, stored codes are shown as labels, and every time says its zone."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import translation

from campaigns.models import Campaign, Question
from core import roles
from organisers.models import Invalidation
from statements import services
from statements.models import Statement, Transition
from tests.factories import make_signature, make_staff, make_statement, sign_in

BASE_DIR = Path(settings.BASE_DIR)

# English seen on /km/ staff pages before: Django's admin chrome, allauth's,
# our own field labels and roles, and Django's name in the tab title.
KNOWN_ENGLISH = [
    "View site",
    "Show counts",
    "Hide counts",
    "result",
    "selected",
    "Search",
    "Recent actions",
    "Skip to main content",
    "Toggle theme",
    "Start typing to filter",
    "Models in the",
    "Campaign",
    "Confirmation sends",
    "Created at",
    "Created by",
    "Expires at",
    "Rows",
    "Key",
    "Organiser",
    "Moderator",
    "Viewer",
    "Django",
    "Accounts",
    "Authentication and Authorization",
    "Email addresses",
]


class VisibleText(HTMLParser):
    """What a reader sees (and hears): text, titles, labels, placeholders."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style"}:
            self._hidden += 1
        for name, value in attrs:
            if name in {"title", "placeholder", "aria-label"} and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"}:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.parts.append(data.strip())


def visible_text(html: bytes) -> str:
    parser = VisibleText()
    parser.feed(html.decode())
    return "\n".join(parser.parts)


def english_left(html: bytes, known: list[str]) -> list[str]:
    text = visible_text(html)
    return [word for word in known if re.search(rf"\b{re.escape(word)}", text)]


@pytest.fixture
def superuser(db: None) -> User:
    user = make_staff(roles.ORGANISER, two_factor=True)
    User.objects.filter(pk=user.pk).update(is_superuser=True)
    return User.objects.get(pk=user.pk)


@pytest.fixture
def staff_client(superuser: User) -> Client:
    client = Client()
    sign_in(client, superuser)
    return client


def km(url_name: str, *args: Any) -> str:
    with translation.override("km"):
        return reverse(url_name, args=args)


def test_staff_pages_in_khmer_leave_no_known_english(
    staff_client: Client, campaign: Campaign
) -> None:
    signature = make_signature(campaign, email="dara.sok@example.org")
    statement = make_statement()
    Invalidation.objects.create(campaign=campaign, criteria={"country": "FR"}, reason="test")
    pages = [
        km("admin:index"),
        km("admin:signatures_signature_changelist"),
        km("admin:signatures_signature_change", signature.pk),
        km("admin:campaigns_campaign_changelist"),
        km("admin:campaigns_campaign_change", campaign.pk),
        km("admin:statements_statement_change", statement.pk),
        km("admin:organisers_invalidation_changelist"),
        km("admin:organisers_generatedfile_changelist"),
        km("admin:auth_group_changelist"),
        km("admin:auth_user_changelist"),
        km("admin:core_auditentry_changelist"),
        km("organisers:index"),
        km("organisers:dashboard", campaign.slug),
    ]
    left = {}
    for url in pages:
        response = staff_client.get(url)
        assert response.status_code == 200, url
        # The campaign's English title is data, not chrome: leave it out.
        found = english_left(response.content, KNOWN_ENGLISH)
        if found:
            left[url] = found
    assert left == {}


def test_tab_title_names_sitthi_in_khmer(staff_client: Client) -> None:
    response = staff_client.get(km("admin:index"))
    title = re.search(rb"<title>(.*?)</title>", response.content, re.S)
    assert title is not None
    assert "Django" not in title.group(1).decode()
    assert "សិទ្ធិ" in title.group(1).decode()


def test_sign_in_and_two_factor_messages_read_in_khmer(staff_client: Client) -> None:
    response = staff_client.get(km("account_reauthenticate"))
    assert response.status_code == 200
    assert english_left(response.content, ["Confirm Access", "Enter your password"]) == []
    with translation.override("km"):
        for message in (
            "Authenticator app activated.",
            "Authenticator app deactivated.",
            "Successfully signed in as %(name)s.",
            "You have signed out.",
        ):
            assert translation.gettext(message) != message


def test_admin_shows_labels_not_codes(
    staff_client: Client, campaign: Campaign, superuser: User
) -> None:
    Campaign.objects.filter(pk=campaign.pk).update(title_km="សិទ្ធិបោះឆ្នោត")
    Question.objects.create(
        campaign=campaign,
        key="registered",
        kind=Question.Kind.YES_NO,
        label_km="តើអ្នកបានចុះឈ្មោះហើយឬនៅ?",
        label_en="Have you registered?",
    )
    signature = make_signature(campaign, province="kampot", answers={"registered": "yes"})
    page = staff_client.get(km("admin:signatures_signature_change", signature.pk)).content
    text = visible_text(page)
    assert "កំពត" in text and "kampot" not in text
    assert "តើអ្នកបានចុះឈ្មោះហើយឬនៅ?: បាទ/ចាស" in text
    assert "registered" not in text and "{" not in text
    assert "សិទ្ធិបោះឆ្នោត" in text  # the campaign in the reader's language
    listing = visible_text(staff_client.get(km("admin:signatures_signature_changelist")).content)
    assert "កំពត" in listing and "kampot" not in listing

    Invalidation.objects.create(
        campaign=campaign, criteria={"email_domain": "example.org", "country": "FR"}, reason="x"
    )
    jobs = visible_text(staff_client.get(km("admin:organisers_invalidation_changelist")).content)
    assert "email_domain" not in jobs
    with translation.override("km"):
        assert translation.gettext("E-mail domain") in jobs
        assert translation.gettext("Country of residence") in jobs

    statement = make_statement()
    services.statement_transition(
        statement=statement, action=Transition.Action.SUBMIT, by=superuser, comment=""
    )
    audit = visible_text(staff_client.get(km("admin:core_auditentry_changelist")).content)
    assert "in_review" not in audit and "draft →" not in audit
    with translation.override("km"):
        submitted = translation.gettext("Submitted for review")
        draft = str(statement.Status.DRAFT.label)
    assert f"{submitted}: {draft} →" in audit


def test_role_names_read_in_khmer(staff_client: Client) -> None:
    text = visible_text(staff_client.get(km("admin:auth_user_changelist")).content)
    assert "អ្នករៀបចំ" in text and "Organiser" not in text


def test_font_loaded_on_every_staff_page(
    staff_client: Client, campaign: Campaign, settings: Any
) -> None:
    stylesheet = (BASE_DIR / "static" / "css" / "admin-khmer.css").read_text()
    assert re.search(r'@font-face\s*{[^}]*"Noto Sans Khmer"[^}]*NotoSansKhmer\.woff2', stylesheet)
    assert (BASE_DIR / "static" / "fonts" / "NotoSansKhmer.woff2").exists()
    for url in (
        km("admin:index"),
        km("admin:campaigns_campaign_change", campaign.pk),
        km("organisers:dashboard", campaign.slug),
    ):
        response = staff_client.get(url)
        assert b"css/admin-khmer.css" in response.content, url
        # The CSP allows stylesheets from our origin only, no inline style.
        assert "style-src 'self'" in response["Content-Security-Policy"]
        assert b"<style" not in response.content
    for url in (km("mfa_index"), km("account_reauthenticate")):
        assert b"css/sitthi.css" in staff_client.get(url).content, url
    sitthi_css = (BASE_DIR / "static" / "css" / "sitthi.css").read_text()
    assert "Noto Sans Khmer" in sitthi_css


def test_time_zone_shown_where_times_are_entered_and_shown(
    staff_client: Client, campaign: Campaign
) -> None:
    zone = "Asia/Phnom_Penh, UTC+07:00"
    form = visible_text(
        staff_client.get(km("admin:campaigns_campaign_change", campaign.pk)).content
    )
    # The header, and once beside each of "opens at" and "closes at".
    assert form.count(zone) >= 3
    dashboard = visible_text(staff_client.get(km("organisers:dashboard", campaign.slug)).content)
    assert zone in dashboard
    # The statement workflow's own "publish at" input, beside the header's note.
    statement = make_statement(status=Statement.Status.IN_REVIEW)
    workflow = visible_text(
        staff_client.get(km("admin:statements_statement_change", statement.pk)).content
    )
    assert (
        'id="workflow-publish-at"'
        in staff_client.get(km("admin:statements_statement_change", statement.pk)).content.decode()
    )
    assert workflow.count(zone) >= 2
    # Django's own note (when the browser's clock is in another zone), in Khmer.
    catalogue = staff_client.get(km("admin:jsi18n")).content.decode()
    assert json.dumps("ម៉ោងម៉ាស៊ីនមេ")[1:-1] in catalogue  # written \\u-escaped
