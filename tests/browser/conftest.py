"""Browser fixtures: Debian's Chromium driven by Playwright against the live server, with CSRF on."""

import os
import re
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
HERE = Path(__file__).resolve().parent
# Generous waits: two test workers and Chromium share two cores, and a slow answer is not a failure.
ACTION_TIMEOUT_MS = 10_000
EXPECT_TIMEOUT_MS = 10_000


def pytest_collection_modifyitems(config, items):
    """Mark every test in this folder `browser` and run them last; skip them when Chromium is missing."""
    missing = not os.access(CHROMIUM, os.X_OK)
    in_browser = []
    for item in items:
        if HERE in item.path.resolve().parents:
            in_browser.append(item)
            item.add_marker(pytest.mark.browser)
            if missing:
                item.add_marker(pytest.mark.skip(reason=f"{CHROMIUM} is not installed (apt-get install chromium)"))
    # Playwright's sync API leaves its event loop marked as running in the main thread while the
    # session's browser is open, so asyncio.run() would fail in any test scheduled after it.
    moved = set(map(id, in_browser))
    items[:] = [item for item in items if id(item) not in moved] + in_browser


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test, so the page fixture knows whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def app_config(app_config):
    """Run the browser tests with CSRF protection on, as in production."""
    return app_config | {"WTF_CSRF_ENABLED": True}


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def context(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="en-GB", timezone_id="Europe/London")
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def page(context, request):
    """A fresh tab on the live server; a screenshot of it lands in test-artifacts/ if the test fails.

    Any Content-Security-Policy violation the page reports fails the test: the CSP is on, as in production.
    """
    page = context.new_page()
    csp_violations = []
    page.on(
        "console",
        lambda message: csp_violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
        page.screenshot(path=ARTIFACTS / f"FAILED-{name}.png", full_page=True)
    assert not csp_violations, "Content-Security-Policy violations:\n" + "\n".join(csp_violations)
