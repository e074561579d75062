"""Stored XSS: every payload of the corpus, in every text a campaign, a statement,
a signer or an answer can carry, renders harmless in real Chromium.

The pages are opened with the Content Security Policy switched off
(`bypass_csp`): escaping and sanitising must hold by themselves; the CSP is a
second wall, tested in test_headers. A payload counts as having got through if
a dialog fires, `window.__xss` is set, or the DOM holds anything that could run:
an `on*` attribute, a javascript:/vbscript:/data:text/html URL, a script that
is not ours, a frame, object, embed, base or refresh.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client, modify_settings, override_settings
from django.urls import reverse
from django.utils import timezone, translation
from pytest_django.live_server_helper import LiveServer

from campaigns.models import Campaign, Question
from config.celery import app as celery_app
from core.crypto import keyed_hash
from outbox.models import Message
from signatures import services as signature_services
from signatures.links import confirmation_link
from signatures.models import Signature
from statements.models import Signatory, Statement
from statements.services import statement_message_queue
from tests.security.xss_payloads import PAYLOADS

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

DANGEROUS_DOM = """
(own_origin) => {
  const found = [];
  const risky_url = /^(javascript|vbscript|data:text\\/html|data:application|data:image\\/svg)/;
  for (const el of document.querySelectorAll('*')) {
    const tag = el.tagName.toUpperCase();
    for (const attribute of el.attributes) {
      const name = attribute.name.toLowerCase();
      // As a browser's URL parser reads it: tabs and newlines removed,
      // leading and trailing controls and spaces trimmed.
      const value = attribute.value.replace(/[\\t\\n\\r]/g, '')
        .replace(/^[\\u0000-\\u0020]+|[\\u0000-\\u0020]+$/g, '').toLowerCase();
      if (name.startsWith('on')) found.push(`${tag}[${name}]`);
      if (['href', 'src', 'action', 'formaction', 'xlink:href', 'data', 'srcdoc', 'to',
           'values', 'from', 'by'].includes(name) && risky_url.test(value)) {
        found.push(`${tag}[${name}=${value.slice(0, 40)}]`);
      }
      if (name === 'srcdoc') found.push(`${tag}[srcdoc]`);
    }
    if (['IFRAME', 'FRAME', 'OBJECT', 'EMBED', 'BASE', 'APPLET'].includes(tag)) found.push(tag);
    if (tag === 'META' && el.httpEquiv) found.push(`META[http-equiv=${el.httpEquiv}]`);
    if (tag === 'SCRIPT') {
      // Ours: a file from our own origin (static files, the admin's jsi18n).
      // JSON data blocks (json_script) never run.
      const ours = el.src && new URL(el.src).origin === own_origin;
      const data = ['application/json', 'application/ld+json'].includes(el.type);
      if (!ours && !el.nonce && !data) found.push(`SCRIPT ${el.outerHTML.slice(0, 80)}`);
    }
  }
  return found;
}
"""


class Watch:
    """A Chromium page without CSP that notes every sign of script running."""

    def __init__(self, browser: Any, origin: str) -> None:
        self.origin = origin
        self.context = browser.new_context(bypass_csp=True, java_script_enabled=True)
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.problems: list[str] = []
        self.page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _inspect(self, where: str) -> None:
        self.page.wait_for_timeout(30)  # let error and load handlers of broken images fire
        found = self.page.evaluate(DANGEROUS_DOM, self.origin)
        if self.page.evaluate("typeof window.__xss") != "undefined":
            found.append("window.__xss set")
        if self.dialogs:
            found.append(f"dialog {self.dialogs}")
            self.dialogs.clear()
        self.problems += [f"{where}: {problem}" for problem in found]

    def visit(self, path: str, expect_status: int = 200) -> str:
        response = self.page.goto(self.origin + path, wait_until="load")
        assert response is not None and response.status == expect_status, path
        self._inspect(path)
        return self.page.content()

    def render(self, where: str, html: str) -> None:
        self.page.set_content(html, wait_until="load")
        self._inspect(where)

    def sign_in(self, session_key: str) -> None:
        self.context.add_cookies([{"name": "sessionid", "value": session_key, "url": self.origin}])


def _signer(campaign: Campaign, email: str, payload: str, **fields: Any) -> Signature:
    return Signature.objects.create(
        campaign=campaign,
        full_name=payload,
        name_key=email,
        email=email,
        email_hash=keyed_hash(email),
        country="FR",
        city=payload[:100],
        answers={"answer": payload},
        language="en",
        **fields,
    )


def _hostile_data() -> list[dict[str, Any]]:
    """Per payload: an open campaign with a question, a confirmed and a
    pending signer, a paused campaign and a statement, with the payload in
    every text field they have."""
    made = []
    for number, payload in enumerate(PAYLOADS):
        texts = {
            f"{field}_{language}": payload
            for field in ("title", "summary", "body", "target", "share_text", "image_alt")
            for language in ("km", "en")
        }
        campaign = Campaign.objects.create(
            slug=f"xss-{number}",
            status=Campaign.Status.OPEN,
            opens_at=timezone.now() - timedelta(days=1),
            paused_message_en=payload,
            **texts,
        )
        paused = Campaign.objects.create(
            slug=f"xss-paused-{number}",
            status=Campaign.Status.OPEN,
            opens_at=timezone.now() - timedelta(days=1),
            signing_paused=True,
            paused_message_en=payload,
            paused_message_km=payload,
            **texts,
        )
        Question.objects.create(
            campaign=campaign,
            key="answer",
            kind=Question.Kind.CHOICE,
            label_km=payload,
            label_en=payload,
            choices=[{"value": "a", "label_km": payload, "label_en": payload}],
        )
        signature = _signer(
            campaign,
            f"xss{number}@example.org",
            payload,
            status=Signature.Status.CONFIRMED,
            confirmed_at=timezone.now(),
            show_publicly=True,
            referrer=payload,
            utm={"utm_source": payload[:100]},
            suspect_reason=payload,
        )
        pending = _signer(
            campaign, f"xss-pending{number}@example.org", payload, status=Signature.Status.PENDING
        )
        statement = Statement.objects.create(
            slug=f"xss-statement-{number}",
            status=Statement.Status.PUBLISHED,
            published_at=timezone.now(),
            **{
                f"{field}_{language}": payload
                for field in ("title", "summary", "body", "place")
                for language in ("km", "en")
            },
        )
        statement.campaigns.add(campaign)
        Signatory.objects.create(
            statement=statement, name_km=payload, name_en=payload, role_en=payload
        )
        with transaction.atomic():
            signature_services.confirmation_send(signature)
            signature_services.already_signed_send(signature)
        made.append(
            {
                "campaign": campaign,
                "paused": paused,
                "signature": signature,
                "pending": pending,
                "statement": statement,
            }
        )
    return made


@dataclass
class HostileSite:
    url: str
    items: list[dict[str, Any]]
    admin_session: str


@pytest.fixture(scope="module")
def hostile_site(django_db_setup: None, django_db_blocker: Any) -> Iterator[HostileSite]:
    """The hostile data, built and committed once for the module (once per
    test process), served by a server thread of our own.

    pytest-django's live_server would make every test transactional, and
    the flush after each test would throw the data away: it is flushed once,
    when the module is done. A test's own writes stay in its transaction,
    which the server never sees; only the server writes for good (opening a
    confirmation link confirms that pending signer)."""
    with (
        django_db_blocker.unblock(),
        override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"),
        modify_settings(ALLOWED_HOSTS={"append": "localhost"}),
    ):
        eager = celery_app.conf.task_always_eager
        celery_app.conf.task_always_eager = True
        try:
            items = _hostile_data()
        finally:
            celery_app.conf.task_always_eager = eager
        client = Client()
        client.force_login(
            get_user_model().objects.create_superuser("root", "root@sitthi.test", "x" * 12)
        )
        server = LiveServer("localhost")
        try:
            yield HostileSite(
                url=server.url, items=items, admin_session=client.cookies["sessionid"].value
            )
        finally:
            server.stop()
            call_command("flush", interactive=False, verbosity=0)
            # Opened here, this connection is not the one a test uses and
            # closes: left open, it would keep the test database from being dropped.
            connection.close()


@pytest.fixture
def watch(browser: Any, hostile_site: HostileSite) -> Iterator[Watch]:
    watcher = Watch(browser, hostile_site.url)
    yield watcher
    watcher.context.close()


@pytest.mark.parametrize("kind", ["campaign", "thanks", "statement"])
def test_public_pages_show_every_payload_as_harmless_text(
    hostile_site: HostileSite, watch: Watch, kind: str
) -> None:
    if kind == "campaign":
        for path in ("/en/", "/km/", "/en/campaigns/", "/km/campaigns/", "/en/statements/"):
            watch.visit(path)
    for number, item in enumerate(hostile_site.items):
        campaign, statement = item["campaign"], item["statement"]
        if kind == "campaign":
            watch.visit(f"/en/campaigns/{campaign.slug}/")
            if number % 8 == 0:  # the Khmer pages share templates: a sample suffices
                watch.visit(f"/km/campaigns/{campaign.slug}/")
        elif kind == "thanks":
            watch.visit(f"/en/campaigns/{campaign.slug}/thanks/")
        else:
            watch.visit(f"/en/statements/{statement.slug}/")
            if number % 8 == 0:
                watch.visit(f"/km/statements/{statement.slug}/")
    assert watch.problems == []


def test_the_campaign_page_shows_a_script_tag_as_text(
    hostile_site: HostileSite, watch: Watch
) -> None:
    watch.visit(f"/en/campaigns/{hostile_site.items[0]['campaign'].slug}/")
    visible = watch.page.inner_text("body")
    assert PAYLOADS[0] in visible  # the title, escaped, not dropped or run
    assert watch.problems == []


def test_paused_signing_messages_are_harmless(hostile_site: HostileSite, watch: Watch) -> None:
    for number, item in enumerate(hostile_site.items):
        watch.visit(f"/en/campaigns/{item['paused'].slug}/")
        if number % 8 == 0:
            watch.visit(f"/km/campaigns/{item['paused'].slug}/")
    assert watch.problems == []


def test_confirmation_pages_are_harmless(hostile_site: HostileSite, watch: Watch) -> None:
    for item in hostile_site.items:
        link = confirmation_link(item["pending"])
        watch.visit(link[link.index("/", len("https://")) :])
    assert watch.problems == []


# One test per admin model: the crawl is the longest in the suite, and split
# this way its parts run in parallel (pytest-xdist) with every page still visited.
@pytest.mark.parametrize(
    ("model", "item_key"),
    [
        ("campaigns_campaign", "campaign"),
        ("signatures_signature", "signature"),
        ("statements_statement", "statement"),
    ],
)
def test_admin_pages_are_harmless(
    hostile_site: HostileSite, watch: Watch, model: str, item_key: str
) -> None:
    watch.sign_in(hostile_site.admin_session)
    with translation.override("en"):
        watch.visit(reverse(f"admin:{model}_changelist"))
        for item in hostile_site.items:
            watch.visit(reverse(f"admin:{model}_change", args=[item[item_key].pk]))
    assert watch.problems == []


def test_admin_outbox_pages_are_harmless(hostile_site: HostileSite, watch: Watch) -> None:
    watch.sign_in(hostile_site.admin_session)
    with translation.override("en"):
        watch.visit(reverse("admin:outbox_message_changelist"))
        for message in Message.objects.all()[:20]:
            watch.visit(reverse("admin:outbox_message_change", args=[message.pk]))
    assert watch.problems == []


def test_emails_are_harmless(hostile_site: HostileSite, watch: Watch) -> None:
    with transaction.atomic():
        for number, item in enumerate(hostile_site.items):
            statement_message_queue(
                statement=item["statement"],
                key=f"xss:statement:{number}",
                to=f"reader{number}@example.org",
                language="en" if number % 2 else "km",
                unsubscribe="https://sitthi.example.org/en/statements/unsubscribe/x/",
            )
    messages = list(Message.objects.all())
    assert len(messages) == 3 * len(PAYLOADS)
    for message in messages:
        assert message.body_html
        watch.render(f"e-mail {message.key}", message.body_html)
        assert "\n" not in message.subject  # no header injection through a title
    assert watch.problems == []
