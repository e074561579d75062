"""The browser tests' pages come from contexts kept per process
(tests/conftest.py, WarmContext): each test must still start as in a new
context, whatever the test before it left, and a crashed renderer must not
take the tests after it down."""

import os
import signal
from typing import Any

import pytest

from tests.conftest import WarmContexts

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LEFT_BEHIND = """() => [
  localStorage.getItem('left'),
  sessionStorage.getItem('left'),
  document.cookie.includes('left='),
]"""


def test_a_page_starts_with_nothing_the_page_before_it_left(
    live_server: Any, warm_contexts: Any
) -> None:
    about = f"{live_server.url}/en/about/"
    before = warm_contexts.fresh_page("phone")
    before.page.goto(about)
    before.page.evaluate(
        "() => { localStorage.setItem('left', '1'); sessionStorage.setItem('left', '1');"
        " document.cookie = 'left=1; path=/'; }"
    )
    before.page.context.grant_permissions(["clipboard-read"], origin=live_server.url)
    assert before.page.evaluate(LEFT_BEHIND) == ["1", "1", True]
    warm_contexts.forget("phone", before)

    after = warm_contexts.fresh_page("phone")
    try:
        assert after.page is not before.page and after.requests == []
        after.page.goto(about)
        assert after.page.evaluate(LEFT_BEHIND) == [None, None, False]
        assert after.page.context.cookies() == []
        assert (
            after.page.evaluate(
                "navigator.permissions.query({name: 'clipboard-read'}) .then((p) => p.state)"
            )
            != "granted"
        )
        assert after.requests[0] == about
    finally:
        warm_contexts.forget("phone", after)


def _renderers(browser: Any) -> set[int]:
    devtools = browser.new_browser_cdp_session()
    try:
        processes = devtools.send("SystemInfo.getProcessInfo")["processInfo"]
    finally:
        devtools.detach()
    return {process["id"] for process in processes if process["type"] == "renderer"}


def test_a_crashed_renderer_gives_the_next_page_a_new_context(
    live_server: Any, browser: Any
) -> None:
    """Popups share the keeper's renderer, so a crash takes the keeper too."""
    contexts = WarmContexts(browser)
    before = _renderers(browser)
    crashed = contexts.fresh_page("desktop")
    crashed.page.goto(f"{live_server.url}/en/about/")
    for pid in _renderers(browser) - before:
        os.kill(pid, signal.SIGKILL)
    crashed.page.wait_for_event("crash")
    contexts.forget("desktop", crashed)

    fresh = contexts.fresh_page("desktop")
    try:
        fresh.page.goto(f"{live_server.url}/en/about/")
        assert fresh.page.get_by_role("heading", level=1).inner_text()
    finally:
        contexts.forget("desktop", fresh)
        contexts.close()
