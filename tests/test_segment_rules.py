"""Segment rules on the admin Settings page: validated, CSRF-protected, logged, and used by the next daily job."""

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm import engagement, settings, sync
from crm.enquiries.status import change_status
from crm.extensions import db
from crm.models import ActivityLog, Contact, CrmEnquiry, Segment, Setting

from .builders import enquiry_data

RULES = engagement.RULE_DEFAULTS


def form_data(**changes) -> dict:
    return {key: str(value) for key, value in (RULES | changes).items()}


@pytest.fixture
def app_config(app_config, request):
    """Settings changed by a test's indirect parameter."""
    return app_config | getattr(request, "param", {})


@pytest.fixture
def signed_in_admin(auth, admin):
    auth.login(admin.email)
    return admin


@pytest.fixture
def booked(client, owner, live_property):
    """One enquiry booked for £5,000 on the owner's listing; return (owner contact id, guest contact id)."""
    enquiry_id = client.post("/api/enquiry", json=enquiry_data(live_property)).json["id"]
    enquiry = db.session.get(CrmEnquiry, enquiry_id)
    change_status(enquiry, "contacted", actor=owner)
    change_status(enquiry, "booked", actor=owner, booking_value="5000")
    sync.commit()
    return enquiry.owner_id, enquiry.contact_id


def current_segments(contact_id: int) -> dict[str, str]:
    db.session.expire_all()
    return {
        s.segment: s.reason
        for s in db.session.scalars(
            select(Segment).where(Segment.contact_id == contact_id, Segment.removed_at.is_(None))
        )
    }


def daily(runner) -> None:
    result = runner.invoke(args=["crm", "daily"])
    assert result.exit_code == 0, result.output


def booked_value(column, contact_id: int) -> Decimal:
    """A contact's booking value summed a second way, over the enquiries the test built."""
    return sum(
        (
            e.booking_value
            for e in db.session.scalars(select(CrmEnquiry).where(column == contact_id))
            if e.converted_to_booking
        ),
        Decimal("0"),
    )


def setting_log() -> list[ActivityLog]:
    return list(db.session.scalars(select(ActivityLog).where(ActivityLog.entity_type == "setting")))


# --- Who may see and change them -------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
def test_segment_rules_are_for_admins_only(client, auth, owner, method):
    path = "/admin/crm/settings/segments" if method == "post" else "/admin/crm/settings"
    assert getattr(client, method)(path, data=form_data()).status_code == 302  # to sign in
    auth.login(owner.email)
    assert getattr(client, method)(path, data=form_data()).status_code == 403
    assert db.session.get(Setting, engagement.SEGMENT_RULES) is None


def test_the_settings_page_shows_the_rules_in_force(client, signed_in_admin):
    settings.set(engagement.SEGMENT_RULES, {"inactive_after_days": 90})
    db.session.commit()
    page = client.get("/admin/crm/settings")
    assert page.status_code == 200
    html = page.text
    assert '<h2 id="segments-heading">Segments</h2>' in html
    assert 'action="/admin/crm/settings/segments#segments"' in html
    assert re.search(r'name="inactive_after_days"[^>]*value="90"', html)
    assert re.search(r'name="high_value_owner_min_value"[^>]*value="20000"', html)
    assert '<option selected value="gold">Gold</option>' in html


# --- A change is saved, logged, and used by the next daily job -------------------------------------


def test_a_changed_threshold_moves_contacts_at_the_next_daily_run(client, runner, signed_in_admin, booked, other_owner):
    owner_id, guest_id = booked
    idle_owner = db.session.scalar(select(Contact.id).where(Contact.user_id == other_owner.id))
    daily(runner)
    assert (
        booked_value(CrmEnquiry.owner_id, owner_id) == Decimal("5000") == booked_value(CrmEnquiry.contact_id, guest_id)
    )
    assert "high_value" not in current_segments(owner_id)  # £5,000 is under the owners' £20,000
    assert current_segments(guest_id)["high_value"] == "Lifetime booking value £5,000 (at least £2,000)"
    assert current_segments(idle_owner)["inactive"].endswith("(rule: 180 days)")

    response = client.post(
        "/admin/crm/settings/segments",
        data=form_data(high_value_owner_min_value=5000, high_value_guest_min_value=6000, inactive_after_days=30),
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("/admin/crm/settings#segments")
    assert settings.get(engagement.SEGMENT_RULES) == RULES | {
        "high_value_owner_min_value": 5000,
        "high_value_guest_min_value": 6000,
        "inactive_after_days": 30,
    }
    assert "Segment rules saved" in client.get("/admin/crm/settings").text

    # Saving alone moves nobody: the rules are the daily job's.
    assert "high_value" not in current_segments(owner_id)
    daily(runner)
    assert current_segments(owner_id)["high_value"] == "Lifetime booking value £5,000 (at least £5,000)"
    assert "high_value" not in current_segments(guest_id)  # under the guests' new £6,000
    left = db.session.scalar(select(Segment).where(Segment.contact_id == guest_id, Segment.segment == "high_value"))
    assert left.removed_at is not None and left.reason.endswith("no longer applies")
    assert current_segments(idle_owner)["inactive"].endswith("(rule: 30 days)")


def test_a_change_is_logged_with_before_and_after(client, signed_in_admin):
    client.post("/admin/crm/settings/segments", data=form_data(at_risk_unanswered_days=14, premium_tier="silver"))
    [entry] = setting_log()
    assert entry.action == "updated" and entry.performed_by == "admin@example.com"
    assert entry.performed_by_id == signed_in_admin.id and entry.meta == {"setting": "segment_rules"}
    assert entry.changed_fields == {
        "at_risk_unanswered_days": {"before": 7, "after": 14},
        "premium_tier": {"before": "gold", "after": "silver"},
    }
    activity = client.get("/admin/crm?tab=activity&entity=setting").text
    assert '<a href="/admin/crm/settings">Settings</a>' in activity
    assert "Days before an enquiry counts as unanswered changed from 7 to 14" in activity
    assert "Premium plan changed from Gold to Silver" in activity


def test_the_same_rules_sent_twice_are_saved_and_logged_once(client, signed_in_admin):
    data = form_data(high_value_guest_min_value=2500)
    assert client.post("/admin/crm/settings/segments", data=data).status_code == 303
    assert client.post("/admin/crm/settings/segments", data=data).status_code == 303
    assert len(setting_log()) == 1
    assert "already set to these values" in client.get("/admin/crm/settings").text


def test_the_general_settings_are_logged_too(client, signed_in_admin):
    client.post("/admin/crm/settings", data={"owners_see_guest_contact_before_reply": "yes", "needs_reply_hours": "12"})
    [entry] = setting_log()
    assert entry.changed_fields == {"needs_reply_hours": {"before": 24, "after": 12}}


# --- Bad input: a clear 422, nothing stored -------------------------------------------------------


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("high_value_owner_min_value", "", "Enter a whole number from 1 to 10,000,000."),
        ("high_value_owner_min_value", "twenty thousand", "Enter a whole number from 1 to 10,000,000."),
        ("high_value_owner_min_value", "0", "Enter a whole number from 1 to 10,000,000."),
        ("high_value_guest_min_value", "99999999999999999999999", "Enter a whole number from 1 to 10,000,000."),
        ("high_value_guest_min_value", "1" * 5000, "Enter a whole number from 1 to 10,000,000."),
        ("inactive_after_days", "-30", "Enter a whole number from 7 to 3,650."),
        ("inactive_after_days", "30.5", "Enter a whole number from 7 to 3,650."),
        ("at_risk_failed_payments", "13", "Enter a whole number from 1 to 12."),
        ("at_risk_unanswered_count", "1e3", "Enter a whole number from 1 to 1,000."),
        # Only enquiries of the last 90 days count, so a 90-day wait could never be met.
        ("at_risk_unanswered_days", "90", "Enter a whole number from 1 to 89."),
        ("premium_tier", "platinum", "Choose bronze, silver or gold."),
        ("premium_tier", "", "Choose a plan."),
    ],
)
def test_bad_rules_get_a_clear_422_and_change_nothing(client, signed_in_admin, field, value, message):
    response = client.post("/admin/crm/settings/segments", data=form_data(**{field: value}))
    assert response.status_code == 422
    html = response.text
    assert "Nothing was saved." in html
    error = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', html)
    assert error and error.group(1) == message
    assert f'id="{field}" ' in html and 'aria-invalid="true"' in html
    assert db.session.get(Setting, engagement.SEGMENT_RULES) is None and setting_log() == []


def test_a_form_missing_fields_is_refused(client, signed_in_admin):
    response = client.post("/admin/crm/settings/segments", data={"premium_tier": "gold"})
    assert response.status_code == 422
    assert response.text.count('class="error"') == 6
    assert db.session.get(Setting, engagement.SEGMENT_RULES) is None


def csrf_token_in(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}], indirect=True)
def test_saving_the_rules_needs_the_csrf_token(client, admin):
    token = csrf_token_in(client.get("/login").text)
    client.post("/login", data={"email": admin.email, "password": "correct horse battery", "csrf_token": token})
    page = client.get("/admin/crm/settings")
    assert page.status_code == 200
    refused = client.post("/admin/crm/settings/segments", data=form_data(inactive_after_days=60))
    assert refused.status_code == 400 and db.session.get(Setting, engagement.SEGMENT_RULES) is None
    token = re.search(r'<input id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    saved = client.post("/admin/crm/settings/segments", data=form_data(inactive_after_days=60) | {"csrf_token": token})
    assert saved.status_code == 303
    assert settings.get(engagement.SEGMENT_RULES)["inactive_after_days"] == 60
    assert len(setting_log()) == 1
