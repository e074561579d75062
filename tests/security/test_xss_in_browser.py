"""Stored XSS: every payload of the corpus, in every text a campaign, a statement,
a signer or an answer can carry, renders harmless in real Chromium.

The pages are opened with the Content Security Policy switched off
(`bypass_csp`): escaping and sanitising must hold by themselves; the CSP is a
second wall, tested in test_headers. A payload counts as having got through if
a dialog fires, `window.__xss` is set, or the DOM holds anything that could run:
an `on*` attribute, a javascript:/vbscript:/data:text/html URL, a script that
is not ours, a frame, object, embed, base or refresh.

The pages are opened eight at a time, each in a frame of its own under an
empty harness page of the same origin (a frame's load costs Chromium about
half a top-level navigation). test_the_watch_sees_every_payload_that_gets_through
shows that this watch, framed as it is, catches each payload printed raw.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.management import call_command
from django.db import connection, transaction
from django.http import HttpResponse
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

pytestmark = [pytest.mark.browser, pytest.mark.django_db, pytest.mark.xdist_group("xss")]

# Run in the harness page: every frame is inspected where it stands, after
# its load event (broken images' error handlers have run by then: images
# hold the load event back) and after the harness's next rendering update,
# in which Chromium flushes autofocus (focus handlers) and runs queued
# toggle events, then one task more for what those queued. Waiting for that
# update rather than a fixed time: a loaded machine may take longer than any
# fixed time, an idle one takes one frame. The timeout only guards a page
# that never renders.
INSPECT_FRAMES = """
async (own_origin) => {
  await new Promise((settled) => {
    setTimeout(settled, 2000);
    requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(settled, 0)));
  });
  const risky_url = /^(javascript|vbscript|data:text\\/html|data:application|data:image\\/svg)/;
  const dangers = (document) => {
    const found = [];
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
  };
  return Array.from(document.querySelectorAll('iframe.visited'), (frame) => {
    const window = frame.contentWindow;
    const navigation = window.performance.getEntriesByType('navigation')[0];
    const found = dangers(window.document);
    if (typeof window.__xss !== 'undefined') found.push('window.__xss set');
    return {where: frame.dataset.where, status: navigation ? navigation.responseStatus : 0, found};
  });
}
"""

LOAD_FRAMES = """
async (pages) => {
  document.body.replaceChildren();
  const load = ([where, src, html]) => new Promise((loaded) => {
    const frame = document.createElement('iframe');
    frame.className = 'visited';
    frame.dataset.where = where;
    frame.addEventListener('load', () => loaded(null), {once: true});
    setTimeout(() => loaded(where), 20000);
    if (html === null) frame.src = src; else frame.srcdoc = html;
    document.body.append(frame);
  });
  return (await Promise.all(pages.map(load))).filter((where) => where !== null);
}
"""

# The harness: an empty page of the server's own origin, so that its frames'
# documents can be read; and canaries, pages that print a payload raw, to
# show that the watch sees what gets through. Served by the test server's
# static handler, never by the app.
HARNESS = "/static/xss-harness.html"
CANARY = "/static/xss-canary/"


class Watch:
    """A Chromium page without CSP that opens the site's pages side by side
    in frames of a harness page and notes every sign of script running.

    Frames, because a page load in a frame costs Chromium half the CPU of a
    top-level navigation, and the crawl is the longest part of the suite.
    The pages run as they would on their own: same origin, their own scripts,
    their own window (the server sends X-Frame-Options: SAMEORIGIN for this)."""

    def __init__(self, browser: Any, origin: str, frames_at_once: int) -> None:
        self.origin = origin
        self.frames_at_once = frames_at_once
        self.context = browser.new_context(bypass_csp=True, java_script_enabled=True)
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.problems: list[str] = []
        self.page.on("dialog", self._dialog)
        self.page.goto(origin + HARNESS)

    def start_afresh(self) -> None:
        """As a new browser context would start, but keeping its HTTP cache
        (the static files every admin page loads): no cookies (signed out),
        nothing in the origin's storage (the admin keeps its sidebar and
        theme there), no frames, nothing noted."""
        self.context.clear_cookies()
        self.page.evaluate(
            "() => { localStorage.clear(); sessionStorage.clear(); document.body.replaceChildren(); }"
        )
        self.dialogs.clear()
        self.problems.clear()

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _load(self, pages: list[tuple[str, str, str | None]], expect_status: int | None) -> None:
        for start in range(0, len(pages), self.frames_at_once):
            batch = pages[start : start + self.frames_at_once]
            not_loaded = self.page.evaluate(LOAD_FRAMES, batch)
            assert not_loaded == [], f"no load event in 20 s: {not_loaded}"
            for frame in self.page.evaluate(INSPECT_FRAMES, self.origin):
                if expect_status is not None:
                    assert frame["status"] == expect_status, frame["where"]
                self.problems += [f"{frame['where']}: {problem}" for problem in frame["found"]]
            if self.dialogs:
                self.problems.append(f"dialog {self.dialogs} in {[where for where, _, _ in batch]}")
                self.dialogs.clear()

    def visit_all(self, paths: list[str], expect_status: int = 200) -> None:
        self._load([(path, self.origin + path, None) for path in paths], expect_status)

    def render_all(self, documents: dict[str, str]) -> None:
        """HTML (an e-mail's) rendered in frames of its own."""
        self._load([(where, "", html) for where, html in documents.items()], None)

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


class CachedStaticFiles(StaticFilesHandler):
    """Static files Chromium may keep for an hour, as it would behind
    WhiteNoise (else every admin page fetches its thirty scripts, styles
    and icons again from the test server), and the crawl's harness page."""

    def serve(self, request: Any) -> Any:
        if request.path == HARNESS:
            return HttpResponse("<!doctype html><title>harness</title><body></body>")
        if request.path.startswith(CANARY):
            payload = PAYLOADS[int(request.path.removeprefix(CANARY))]
            return HttpResponse(f"<!doctype html><title>canary</title><body>{payload}</body>")
        response = super().serve(request)
        response["Cache-Control"] = "max-age=3600"
        return response


@dataclass
class HostileSite:
    url: str
    items: list[dict[str, Any]]
    admin_session: str
    # Pages the server can answer side by side: one at a time when its
    # threads share an in-memory SQLite database's single connection.
    frames_at_once: int


@pytest.fixture(scope="module")
def hostile_site(django_db_setup: None, django_db_blocker: Any) -> Iterator[HostileSite]:
    """The hostile data, built and committed once for the module (once a
    run: the module is one xdist_group, so one process runs all of it),
    served by a server thread of our own.

    pytest-django's live_server would make every test transactional, and
    the flush after each test would throw the data away: it is flushed once,
    when the module is done. A test's own writes stay in its transaction,
    which the server never sees; only the server writes for good (opening a
    confirmation link confirms that pending signer)."""
    with (
        django_db_blocker.unblock(),
        override_settings(
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
            # Telegram offered: the form's choice and the start page are crawled
            # too. Nothing calls its API.
            TELEGRAM_BOT_TOKEN="123456:xss",
            TELEGRAM_BOT_USERNAME="sitthi_xss_bot",
            TELEGRAM_WEBHOOK_SECRET="xss-webhook-secret",
            # The crawl opens the pages in frames of the site's own harness
            # page; the browser ignores the rest of the policy (bypass_csp).
            X_FRAME_OPTIONS="SAMEORIGIN",
            CONTENT_SECURITY_POLICY={
                "DIRECTIVES": {
                    **settings.CONTENT_SECURITY_POLICY["DIRECTIVES"],
                    "frame-ancestors": ["'self'"],
                }
            },
        ),
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
        server = LiveServer("localhost", start=False)
        server.thread.static_handler = CachedStaticFiles
        server.start()
        try:
            yield HostileSite(
                url=server.url,
                items=items,
                admin_session=client.cookies["sessionid"].value,
                frames_at_once=1 if server.thread.connections_override else 8,
            )
        finally:
            server.stop()
            call_command("flush", interactive=False, verbosity=0)
            # Opened here, this connection is not the one a test uses and
            # closes: left open, it would keep the test database from being dropped.
            connection.close()


@pytest.fixture(scope="module")
def module_watch(browser: Any, hostile_site: HostileSite) -> Iterator[Watch]:
    """One browser context for the module: a new one per test would fetch
    every static file again and load the harness again."""
    watcher = Watch(browser, hostile_site.url, hostile_site.frames_at_once)
    yield watcher
    watcher.context.close()


@pytest.fixture
def watch(module_watch: Watch) -> Watch:
    module_watch.start_afresh()
    return module_watch


# Payloads that do nothing when printed raw in a page's body: they need an
# attribute, a script or a Markdown renderer around them, defeat a filter
# rather than the parser (a tag split by another), or are tags the parser
# repairs into inert ones (<img/src=x/onerror=..> is one src attribute).
INERT_WHEN_RAW = {3, 44, 45, 46, 51, 54, 55, 56, 60, 61, 62, 63, 64, 65, 66, 67}


def test_the_watch_sees_every_payload_that_gets_through(
    hostile_site: HostileSite, watch: Watch
) -> None:
    """The detector itself, on pages that print each payload unescaped: each
    is flagged, alone in its frame, as is each raw payload in an e-mail.

    The canaries load side by side as the site's pages do, one payload to a
    frame; what the watch finds in a frame is noted under that frame's path,
    so each payload is judged by its own frame's findings alone."""
    assert len(INERT_WHEN_RAW) < len(PAYLOADS) / 3
    watch.visit_all([f"{CANARY}{number}" for number in range(len(PAYLOADS))])
    for number, payload in enumerate(PAYLOADS):
        found = [problem for problem in watch.problems if problem.startswith(f"{CANARY}{number}: ")]
        assert bool(found) != (number in INERT_WHEN_RAW), (payload, found)
        if number == 4:  # <script>window.__xss=5</script>
            assert f"{CANARY}4: window.__xss set" in found
    # <script>alert('xss-1')</script>: caught as it runs, too (a dialog is
    # told apart by its message, not its frame).
    assert any(
        problem.startswith("dialog [") and "'xss-1'" in problem for problem in watch.problems
    ), watch.problems
    watch.problems.clear()
    watch.render_all({"e-mail": f"<html><body><p>{PAYLOADS[10]}</p></body></html>"})
    assert "e-mail: IMG[onerror]" in watch.problems
    with pytest.raises(AssertionError, match="/en/no-such-page/"):  # and a page that is not there
        watch.visit_all(["/en/no-such-page/"])


@pytest.mark.parametrize("kind", ["campaign", "thanks", "telegram", "statement"])
def test_public_pages_show_every_payload_as_harmless_text(
    hostile_site: HostileSite, watch: Watch, kind: str
) -> None:
    paths = []
    if kind == "campaign":
        paths += ["/en/", "/km/", "/en/campaigns/", "/km/campaigns/", "/en/statements/"]
    for number, item in enumerate(hostile_site.items):
        campaign, statement = item["campaign"], item["statement"]
        if kind == "campaign":
            paths.append(f"/en/campaigns/{campaign.slug}/")
            if number % 8 == 0:  # the Khmer pages share templates: a sample suffices
                paths.append(f"/km/campaigns/{campaign.slug}/")
        elif kind == "thanks":
            paths.append(f"/en/campaigns/{campaign.slug}/thanks/")
        elif kind == "telegram":  # after signing to confirm by Telegram
            paths.append(f"/en/campaigns/{campaign.slug}/telegram/xss{number:019d}/")
        else:
            paths.append(f"/en/statements/{statement.slug}/")
            if number % 8 == 0:
                paths.append(f"/km/statements/{statement.slug}/")
    watch.visit_all(paths)
    assert watch.problems == []


def test_the_campaign_page_shows_a_script_tag_as_text(
    hostile_site: HostileSite, watch: Watch
) -> None:
    watch.visit_all([f"/en/campaigns/{hostile_site.items[0]['campaign'].slug}/"])
    visible = watch.page.frames[1].inner_text("body")
    assert PAYLOADS[0] in visible  # the title, escaped, not dropped or run
    assert watch.problems == []


def test_paused_signing_messages_are_harmless(hostile_site: HostileSite, watch: Watch) -> None:
    paths = []
    for number, item in enumerate(hostile_site.items):
        paths.append(f"/en/campaigns/{item['paused'].slug}/")
        if number % 8 == 0:
            paths.append(f"/km/campaigns/{item['paused'].slug}/")
    watch.visit_all(paths)
    assert watch.problems == []


def test_confirmation_pages_are_harmless(hostile_site: HostileSite, watch: Watch) -> None:
    links = [confirmation_link(item["pending"]) for item in hostile_site.items]
    watch.visit_all([link[link.index("/", len("https://")) :] for link in links])
    assert watch.problems == []


# One test per admin model, so that a failure names its model and the slowest
# tests list shows each; every page is still visited.
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
        watch.visit_all(
            [reverse(f"admin:{model}_changelist")]
            + [
                reverse(f"admin:{model}_change", args=[item[item_key].pk])
                for item in hostile_site.items
            ]
        )
    assert watch.problems == []


def test_admin_outbox_pages_are_harmless(hostile_site: HostileSite, watch: Watch) -> None:
    watch.sign_in(hostile_site.admin_session)
    with translation.override("en"):
        watch.visit_all(
            [reverse("admin:outbox_message_changelist")]
            + [
                reverse("admin:outbox_message_change", args=[message.pk])
                for message in Message.objects.all()[:20]
            ]
        )
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
        assert "\n" not in message.subject  # no header injection through a title
    watch.render_all({f"e-mail {message.key}": message.body_html for message in messages})
    assert watch.problems == []
