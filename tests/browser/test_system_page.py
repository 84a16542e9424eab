"""The admin System page in Chromium: failures listed with their errors, retry now, accessible at both widths."""

from playwright.sync_api import expect

from ..builders import enquiry_data
from ..test_mail import free_port
from .axe import assert_accessible
from .conftest import ARTIFACTS
from .test_admin_crm import sign_in


def test_system_page_lists_failures_and_retries(app, page, admin, client, live_property):
    app.config |= {"CRM_SYNC_FAIL": "all", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": free_port()}
    assert (
        client.post("/api/enquiry", json=enquiry_data(live_property, guest_email="stuck@example.com")).status_code
        == 201
    )
    sign_in(page)
    page.get_by_role("tab", name="System").click()
    expect(page.get_by_role("heading", name="System", level=1)).to_be_visible()
    events = page.get_by_role("region", name="Sync events")
    expect(events.get_by_role("row")).to_have_count(2)  # the heading row and the enquiry
    expect(events).to_contain_text("switched off by CRM_SYNC_FAIL")
    expect(page.get_by_role("region", name="E-mails")).to_contain_text("stuck@example.com")
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / f"system-page-{width}.png", full_page=True)
        assert_accessible(page)

    app.config |= {"CRM_SYNC_FAIL": ""}
    page.get_by_role("button", name="Retry now").click()
    expect(page.get_by_role("status")).to_contain_text("1 applied, 0 still failing")
    expect(page.get_by_text("No sync events are waiting.")).to_be_visible()
    assert_accessible(page)
