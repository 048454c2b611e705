"""Fixtures for the browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

Each test gets a fresh, transactional database that the live server's threads share (in-memory SQLite is
shared with them; PostgreSQL is committed to; tests/conftest.py puts the default statuses back), and one
browser context per person, logged in through the real login form. Screenshots go to test-artifacts/; a
failing test leaves one of every open page there.
"""

import contextlib
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from tests.factories import TEST_PASSWORD

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
DOCS_SCREENSHOTS = REPO / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Wide enough for the whole order list next to the navigation sidebar and the filters (at 1280 px its last
# column, "Assigned to", is cut off).
VIEWPORT = {"width": 1440, "height": 900}
# Long enough for a slow CI machine, short enough that a missing element fails the test quickly.
TIMEOUT_MS = 10_000

_failed_phase = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed:
        item.stash[_failed_phase] = True
    return report


@pytest.fixture(scope="package", autouse=True)
def async_unsafe_orm_allowed() -> Iterator[None]:
    """Playwright's sync API keeps an asyncio loop running in the test thread for as long as it is started,
    and Django's ORM then refuses to run there (SynchronousOnlyOperation): the test's own queries, and the
    flush that ends each transactional test. Allowed exactly while Playwright runs, for these tests only."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="package")
def playwright(async_unsafe_orm_allowed) -> Iterator[Playwright]:
    # Package-scoped, not session-scoped: Playwright must stop when the browser tests end, or its running
    # loop would make the ORM refuse the transactional tests that run after them.
    if not Path(CHROMIUM).exists():
        pytest.fail(f"The browser tests need Debian's Chromium at {CHROMIUM}: apt-get install chromium")
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    expect.set_options(timeout=TIMEOUT_MS)
    yield browser
    browser.close()


@pytest.fixture
def console(request, browser: Browser, live_server) -> Iterator[Callable[..., Page]]:
    """`console(user)` opens a browser context of its own for `user`, logs in through /admin/login/ and
    returns the page. Each person has their own cookies, as two people on two machines would."""
    contexts: list[tuple[str, BrowserContext]] = []
    for stale in ARTIFACTS.glob(f"FAILED-{request.node.name}-*.png"):
        stale.unlink()

    violations: list[str] = []

    def open_as(user) -> Page:
        context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT, locale="en-US")
        context.set_default_timeout(TIMEOUT_MS)
        watch_the_policy(context, violations)
        contexts.append((user.get_username(), context))
        page = context.new_page()
        page.goto("/admin/login/?next=/admin/")
        page.locator("#id_username").fill(user.get_username())
        page.locator("#id_password").fill(TEST_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(re.compile(r"/admin/(orders/order/\?held=(mine|open))?$"))
        return page

    open_as.violations = violations  # type: ignore[attr-defined]  # a test that provokes one clears it
    yield open_as

    if request.node.stash.get(_failed_phase, False):
        ARTIFACTS.mkdir(exist_ok=True)
        for username, context in contexts:
            for number, page in enumerate(context.pages):
                page.screenshot(path=ARTIFACTS / f"FAILED-{request.node.name}-{username}-{number}.png")
    # Pages stop polling before the test's database is emptied: a heartbeat or a poll still being answered
    # would hold SQLite's lock against the flush ("database table is locked" at teardown).
    for _username, context in contexts:
        for page in context.pages:
            if not page.is_closed():
                # A navigation of the page's own cut short by this one: the page stops all the same.
                with contextlib.suppress(PlaywrightError):
                    page.goto("about:blank")
    if contexts:
        time.sleep(0.3)  # whatever request was in flight has been answered
    for _username, context in contexts:
        context.close()
    if violations:
        pytest.fail("The Content-Security-Policy was violated:\n" + "\n".join(dict.fromkeys(violations)))


# Reports every Content-Security-Policy violation of the page to the console, where the context hears it.
# Added through Playwright (the DevTools protocol), so the policy itself does not block this script.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"} `
    + `at ${event.sourceFile || document.location.pathname}:${event.lineNumber}: ${event.sample}`);
});
"""


def watch_the_policy(context: BrowserContext, violations: list[str]) -> None:
    """Collect the Content-Security-Policy's violations of every page of `context` (the test fails on any):
    what the event reports, and what Chromium itself logs when it refuses something."""
    context.add_init_script(REPORT_VIOLATIONS)

    def heard(message) -> None:
        text = message.text
        if text.startswith("CSP violation") or "Content Security Policy" in text:
            violations.append(f"{message.page.url if message.page else '?'}: {text}")

    context.on("console", heard)


def save_screenshot(page: Page, name: str, *, docs_name: str | None = None) -> Path:
    """Save the whole page as test-artifacts/<name>.png. With docs_name, also as
    test-artifacts/<docs_name>.png and, when UPDATE_SCREENSHOTS=1 is set, as docs/screenshots/<docs_name>.png
    (the README's pictures)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    # From the top: a page that came back scrolled to an anchor would draw the sticky sidebar mid-page.
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=path, full_page=True)
    if docs_name:
        shutil.copyfile(path, ARTIFACTS / f"{docs_name}.png")
        if os.environ.get("UPDATE_SCREENSHOTS") == "1":
            DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOCS_SCREENSHOTS / f"{docs_name}.png")
    return path
