"""Accessibility checks with axe-core (vendored from npm) on the page as the person sees it."""

from pathlib import Path

from playwright.sync_api import Error as PlaywrightError

AXE_SOURCE = (Path(__file__).resolve().parents[2] / "static" / "vendor" / "axe-core-4.14.1.min.js").read_text()


def axe_violations(page, context: str | None = None) -> list[dict]:
    """Run axe-core on the page (or the part matching `context`) and return its violations.

    A click that navigates returns before the next page has loaded, so the run first waits for the
    page to load; if a navigation still replaces the document during the run, axe runs again on the
    page that arrived (a run over a document that went away is no check at all).
    """
    for _ in range(2):
        page.wait_for_load_state("load")
        try:
            return _run_axe(page, context)
        except PlaywrightError as error:
            if not _navigated_away(error):
                raise
    page.wait_for_load_state("load")
    return _run_axe(page, context)


def _navigated_away(error: PlaywrightError) -> bool:
    message = str(error)
    return "Execution context was destroyed" in message or "reading 'documentElement'" in message


def _run_axe(page, context: str | None) -> list[dict]:
    # evaluate() runs through the DevTools protocol, so the page's CSP does not block the injected script.
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE)
    return page.evaluate(
        """async (selector) => {
            const result = await axe.run(selector ? document.querySelector(selector) : document,
                                         {resultTypes: ["violations"]});
            return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + ": " + n.failureSummary)}));
        }""",
        context,
    )


def assert_accessible(page, context: str | None = None) -> None:
    """Fail with a readable list if axe-core finds any violation."""
    violations = axe_violations(page, context)
    assert not violations, (
        "axe-core violations on "
        + page.url
        + ":\n"
        + "\n".join(f"- {v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["nodes"]) for v in violations)
    )


WIDTHS = (1280, 375)


def assert_accessible_at_both_widths(page, context: str | None = None) -> None:
    """Run axe at a desktop and a phone width, then put the window back as it was."""
    original = page.viewport_size
    try:
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            assert_accessible(page, context)
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px at {width}px wide"
    finally:
        if original:
            page.set_viewport_size(original)
