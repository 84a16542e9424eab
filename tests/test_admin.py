"""The admin CRM: tabs and lists in the URL, inline edits, board, contacts, moderation, bulk actions, CSV."""

import csv
import io
import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from crm.extensions import db
from crm.models import ActivityLog, Contact, CrmEnquiry, CrmProperty, EnquiryStatusHistory, Interaction, utcnow

from .builders import enquiry_data, make_membership, make_property, make_user


@pytest.fixture
def signed_in_admin(client, auth, admin):
    auth.login("admin@example.com")
    return admin


def submit(client, prop, **fields) -> int:
    response = client.post("/api/enquiry", json=enquiry_data(prop, **fields))
    assert response.status_code == 201, response.json
    return response.json["id"]


@contextmanager
def count_queries():
    statements = []

    def before(conn, cursor, statement, *args):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


TABS = ["enquiries", "contacts", "properties", "moderation", "memberships", "spam", "activity"]


@pytest.mark.parametrize("tab", TABS)
def test_every_tab_renders_as_page_and_fragment(client, signed_in_admin, live_property, tab):
    submit(client, live_property)
    page = client.get(f"/admin/crm?tab={tab}")
    assert page.status_code == 200
    assert b"<html" in page.data and b'id="stats"' in page.data
    assert re.search(
        rf'aria-selected="true"[^>]*>|href="/admin/crm\?tab={tab}" aria-selected="true"'.encode(), page.data
    )
    fragment = client.get(f"/admin/crm?tab={tab}", headers={"HX-Request": "true"})
    assert b"<html" not in fragment.data and fragment.data.lstrip().startswith(b'<div id="panel"')
    assert "HX-Request" in fragment.headers["Vary"]
    boosted = client.get(f"/admin/crm?tab={tab}", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert b"<html" in boosted.data


@pytest.mark.parametrize("tab", TABS)
def test_lists_use_a_fixed_number_of_queries_whatever_the_rows(client, signed_in_admin, owner, tab):
    """Guard against a query per row: 3 rows and 30 rows cost the same number of queries."""

    def queries_for_page():
        with count_queries() as statements:
            assert client.get(f"/admin/crm?tab={tab}").status_code == 200
        return len(statements)

    prop = make_property(owner)
    for _ in range(3):
        submit(client, prop, website="x" if tab == "spam" else "")
        make_property(make_user("owner"), status="pending_approval")
    few = queries_for_page()
    client.application.config["SPAM_MAX_PER_IP_HOUR"] = 1000
    for _ in range(27):
        submit(client, make_property(owner), website="x" if tab == "spam" else "")
        make_property(make_user("owner"), status="pending_approval")
    assert queries_for_page() == few


def test_filters_search_and_sort_live_in_the_url(client, signed_in_admin, owner, live_property):
    other = make_property(owner, title="Willow Barn")
    ann = submit(client, live_property, guest_name="Ann Archer", guest_email="ann@example.com")
    bob = submit(client, other, guest_name="Bob Baker", guest_email="bob@example.com")
    client.post(f"/admin/crm/enquiries/{bob}/status", data={"status": "contacted"})
    page = client.get("/admin/crm?tab=enquiries&status=contacted").data
    assert b"Bob Baker" in page and b"Ann Archer" not in page
    assert b'<option value="contacted" selected>' in page
    searched = client.get("/admin/crm?tab=enquiries&q=ARCHER").data
    assert b"Ann Archer" in searched and b"Bob Baker" not in searched
    by_property = client.get(f"/admin/crm?tab=enquiries&property={db.session.get(CrmEnquiry, bob).property_id}").data
    assert b"Bob Baker" in by_property and b"Ann Archer" not in by_property
    by_guest = client.get("/admin/crm?tab=enquiries&sort=guest&dir=asc").data
    assert by_guest.index(b"Ann Archer") < by_guest.index(b"Bob Baker")
    by_guest_desc = client.get("/admin/crm?tab=enquiries&sort=guest&dir=desc").data
    assert by_guest_desc.index(b"Bob Baker") < by_guest_desc.index(b"Ann Archer")
    assert b"1</strong> of 2 enquiries" in client.get("/admin/crm?tab=enquiries&q=bob").data
    assert ann


@pytest.mark.parametrize(
    "query",
    [
        "status=bogus",
        "sort=password_hash",
        "dir=sideways",
        "after=forged",
        "before=forged",
        "property=abc",
        "from=2026-99-99",
        "size=100000",
        "tab=nope",
        "fit=drop+table",
    ],
)
def test_unknown_list_arguments_are_ignored_safely(client, signed_in_admin, live_property, query):
    submit(client, live_property)
    response = client.get(f"/admin/crm?{query}")
    assert response.status_code == 200
    assert b"enquir" in response.data


def test_keyset_pages_walk_every_row_once_both_ways(client, signed_in_admin, owner, app):
    app.config["SPAM_MAX_PER_IP_HOUR"] = 1000
    ids = {submit(client, make_property(owner)) for _ in range(60)}
    seen, url = [], "/admin/crm?tab=enquiries&size=25"
    while url:
        body = client.get(url).data.decode()
        seen += [int(i) for i in re.findall(r'<tr id="enquiry-(\d+)"', body)]
        match = re.search(r'rel="next" href="([^"]+)"', body)
        url = match.group(1).replace("&amp;", "&") if match else None
    assert sorted(seen) == sorted(ids) and seen == sorted(seen, reverse=True)
    last = client.get("/admin/crm?tab=enquiries&size=25&before=end").data.decode()
    last_ids = [int(i) for i in re.findall(r'<tr id="enquiry-(\d+)"', last)]
    assert last_ids == seen[-len(last_ids) :] and len(last_ids) == 25
    previous = re.search(r'rel="prev" href="([^"]+)"', last).group(1).replace("&amp;", "&")
    before_last = [int(i) for i in re.findall(r'<tr id="enquiry-(\d+)"', client.get(previous).data.decode())]
    assert before_last == seen[-50:-25]


def test_inline_status_edit_updates_row_and_asks_for_booking_value(client, signed_in_admin, live_property):
    enquiry_id = submit(client, live_property)
    contacted = client.post(
        f"/admin/crm/enquiries/{enquiry_id}/status", data={"status": "contacted"}, headers={"HX-Request": "true"}
    )
    assert contacted.headers["HX-Trigger"] == "crm:changed"
    assert contacted.data.lstrip().startswith(b"<tr") and b'class="badge badge--contacted"' in contacted.data
    asking = client.post(
        f"/admin/crm/enquiries/{enquiry_id}/status", data={"status": "booked"}, headers={"HX-Request": "true"}
    )
    assert b"Booking value" in asking.data and "HX-Trigger" not in asking.headers
    assert db.session.get(CrmEnquiry, enquiry_id).status == "contacted"
    bad = client.post(
        f"/admin/crm/enquiries/{enquiry_id}/status", data={"status": "booked", "confirm": "yes", "booking_value": "-5"}
    )
    assert bad.status_code == 422 and b"booking value" in bad.data.lower()
    booked = client.post(
        f"/admin/crm/enquiries/{enquiry_id}/status",
        data={"status": "booked", "confirm": "yes", "booking_value": "1850"},
        headers={"HX-Request": "true"},
    )
    assert booked.headers["HX-Trigger"] == "crm:changed" and b"\xc2\xa31,850" in booked.data
    db.session.rollback()
    enquiry = db.session.get(CrmEnquiry, enquiry_id)
    assert enquiry.converted_to_booking and enquiry.closed_at is not None and enquiry.first_response_at is not None
    assert float(enquiry.property.total_revenue) == 1850 and enquiry.property.booking_count == 1
    stats = client.get("/admin/crm/stats").data
    assert b'data-status-count="booked">Booked 1<' in stats


def test_lost_asks_for_a_reason_and_keeps_it(client, signed_in_admin, live_property):
    enquiry_id = submit(client, live_property)
    assert b"Why was it lost?" in client.post(f"/admin/crm/enquiries/{enquiry_id}/status", data={"status": "lost"}).data
    client.post(
        f"/admin/crm/enquiries/{enquiry_id}/status", data={"status": "lost", "confirm": "yes", "reason": "Dates taken"}
    )
    enquiry = db.session.get(CrmEnquiry, enquiry_id)
    assert enquiry.status == "lost" and enquiry.lost_reason == "Dates taken"
    entry = db.session.scalar(select(ActivityLog).where(ActivityLog.action == "status_changed"))
    assert (
        entry.changed_fields["status"] == {"before": "new", "after": "lost"}
        and entry.performed_by == "admin@example.com"
    )


def test_rows_show_values_and_one_change_button_never_a_select_that_saves_on_change(
    client, signed_in_admin, live_property
):
    enquiry_id = submit(client, live_property)
    page = client.get("/admin/crm?tab=enquiries").data.decode()
    row = re.search(rf'<tr id="enquiry-{enquiry_id}".*?</tr>', page, re.S).group(0)
    assert "<select" not in row and "hx-post" not in row
    assert f'hx-get="/admin/crm/enquiries/{enquiry_id}/edit"' in row and ">Change</button>" in row


def test_row_editor_saves_status_priority_and_assignee_with_one_explicit_save(client, signed_in_admin, live_property):
    enquiry_id = submit(client, live_property)
    editor = client.get(f"/admin/crm/enquiries/{enquiry_id}/edit", headers={"HX-Request": "true"}).data.decode()
    assert 'name="status" form="edit-' in editor and ">Save</button>" in editor and ">Cancel</button>" in editor
    assert "hx-trigger" not in editor  # nothing is sent until Save is pressed
    assert db.session.get(CrmEnquiry, enquiry_id).status == "new"
    data = {
        "status": "booked",
        "booking_value": "lots",
        "priority": "high",
        "assigned_to_admin_id": str(signed_in_admin.id),
    }
    refused = client.post(f"/admin/crm/enquiries/{enquiry_id}/edit", data=data, headers={"HX-Request": "true"})
    assert refused.status_code == 422 and b"booking value" in refused.data.lower()
    assert b'value="lots"' in refused.data and b'<option value="high" selected>' in refused.data
    db.session.rollback()
    enquiry = db.session.get(CrmEnquiry, enquiry_id)
    assert (enquiry.status, enquiry.priority, enquiry.assigned_to_admin_id) == ("new", "medium", None)
    saved = client.post(
        f"/admin/crm/enquiries/{enquiry_id}/edit",
        data=data | {"booking_value": "1,200"},
        headers={"HX-Request": "true"},
    )
    assert saved.status_code == 200 and saved.headers["HX-Trigger"] == "crm:changed"
    assert b"badge--booked" in saved.data and b"\xc2\xa31,200" in saved.data and b"<select" not in saved.data
    db.session.rollback()
    enquiry = db.session.get(CrmEnquiry, enquiry_id)
    assert (enquiry.status, enquiry.priority, enquiry.assigned_to_admin_id) == ("booked", "high", signed_in_admin.id)
    assert float(enquiry.booking_value) == 1200


def test_row_editor_without_htmx_goes_to_the_contact(client, signed_in_admin, live_property):
    enquiry_id = submit(client, live_property)
    response = client.get(f"/admin/crm/enquiries/{enquiry_id}/edit")
    assert response.status_code == 303 and "/admin/crm/contacts/" in response.headers["Location"]


def test_priority_and_assignment_inline(client, signed_in_admin, live_property):
    enquiry_id = submit(client, live_property)
    response = client.post(f"/admin/crm/enquiries/{enquiry_id}/priority", data={"priority": "high"})
    assert response.headers["HX-Trigger"] == "crm:changed"
    client.post(f"/admin/crm/enquiries/{enquiry_id}/assign", data={"assigned_to_admin_id": str(signed_in_admin.id)})
    enquiry = db.session.get(CrmEnquiry, enquiry_id)
    assert (enquiry.priority, enquiry.assigned_to_admin_id) == ("high", signed_in_admin.id)
    assert client.post(f"/admin/crm/enquiries/{enquiry_id}/priority", data={"priority": "urgent!"}).status_code == 422
    owner_id = db.session.scalar(select(Contact.user_id).where(Contact.type == "owner"))
    assert (
        client.post(
            f"/admin/crm/enquiries/{enquiry_id}/assign", data={"assigned_to_admin_id": str(owner_id)}
        ).status_code
        == 422
    )
    mine = client.get(f"/admin/crm?tab=enquiries&assigned={signed_in_admin.id}").data
    assert f'id="enquiry-{enquiry_id}"'.encode() in mine
    assert f'id="enquiry-{enquiry_id}"'.encode() not in client.get("/admin/crm?tab=enquiries&assigned=none").data


@pytest.mark.parametrize(
    "path",
    [
        "/admin/crm/enquiries/999999/status",
        "/admin/crm/enquiries/999999/priority",
        "/admin/crm/enquiries/999999/assign",
        "/admin/crm/contacts/999999",
        "/admin/crm/contacts/999999/notes",
        "/admin/crm/properties/999999/approve",
        "/admin/crm/properties/999999/reject",
    ],
)
def test_unknown_ids_are_404(client, signed_in_admin, path):
    assert client.post(path, data={"status": "new"}).status_code == 404


def test_board_shows_columns_and_moves_cards(client, signed_in_admin, live_property):
    fresh = submit(client, live_property)
    stale = submit(client, live_property)
    record = db.session.get(CrmEnquiry, stale)
    record.last_updated_at = utcnow() - timedelta(days=9)
    db.session.commit()
    board = client.get("/admin/crm/board").data.decode()
    assert 'data-count="new">2<' in board and "Stale: no change for 9 days" in board
    moved = client.post(
        f"/admin/crm/enquiries/{fresh}/status",
        data={"status": "contacted", "confirm": "yes", "view": "board"},
        headers={"HX-Request": "true"},
    )
    assert moved.headers["HX-Trigger"] == "crm:changed"
    assert 'data-count="contacted">1<' in moved.data.decode()
    assert (
        db.session.scalar(
            select(func.count()).select_from(EnquiryStatusHistory).where(EnquiryStatusHistory.enquiry_id == fresh)
        )
        == 2
    )


def test_contact_page_timeline_profile_and_note(client, signed_in_admin, live_property):
    enquiry_id = submit(client, live_property, guest_name="Cara Dune", guest_email="cara@example.com")
    client.post(f"/admin/crm/enquiries/{enquiry_id}/status", data={"status": "contacted"})
    contact = db.session.get(CrmEnquiry, enquiry_id).contact
    page = client.get(f"/admin/crm/contacts/{contact.id}").data.decode()
    assert "Enquiry about Harbour View House" in page and "Marked as contacted by" in page
    assert page.index("Marked as contacted by") < page.index("Enquiry about Harbour View House")
    note = client.post(
        f"/admin/crm/contacts/{contact.id}/notes",
        data={"content": "Prefers a call after 6pm"},
        headers={"HX-Request": "true"},
    )
    assert b"Prefers a call after 6pm" in note.data and b"<html" not in note.data
    empty = client.post(f"/admin/crm/contacts/{contact.id}/notes", data={"content": ""})
    assert empty.status_code == 422
    edited = client.post(
        f"/admin/crm/contacts/{contact.id}",
        data={
            "first_name": "Cara",
            "last_name": "Dune-Smith",
            "email": "CARA@example.com",
            "status": "active",
            "phone": "07911 123456",
            "country": "gb",
        },
    )
    assert edited.status_code == 200 and edited.headers["HX-Trigger"] == "crm:changed"
    db.session.rollback()
    contact = db.session.get(Contact, contact.id)
    assert (contact.last_name, contact.phone, contact.country) == ("Dune-Smith", "+447911123456", "GB")
    assert db.session.scalar(
        select(ActivityLog).where(ActivityLog.entity_type == "contact", ActivityLog.action == "updated")
    ).changed_fields["last_name"] == {"before": "Dune", "after": "Dune-Smith"}
    taken = client.post(f"/admin/crm/contacts/{contact.id}", data={"email": "owner@example.com", "status": "active"})
    assert taken.status_code == 422 and b"Another contact already has this e-mail" in taken.data


def test_moderation_approve_and_reject(client, signed_in_admin, owner):
    make_membership(owner, "gold")
    waiting = make_property(owner, status="pending_approval", title="Awaiting House")
    doubtful = make_property(owner, status="pending_approval", title="Doubtful House")
    crm_ids = {
        p.title: db.session.scalar(select(CrmProperty.id).where(CrmProperty.property_id == p.id))
        for p in (waiting, doubtful)
    }
    page = client.get("/admin/crm?tab=moderation").data
    assert b"Awaiting House" in page and b"Doubtful House" in page
    client.post(f"/admin/crm/properties/{crm_ids['Awaiting House']}/approve")
    assert (
        client.post(f"/admin/crm/properties/{crm_ids['Doubtful House']}/reject", data={"reason": ""}).status_code == 303
    )
    assert db.session.get(CrmProperty, crm_ids["Doubtful House"]).listing_status == "pending_approval"
    client.post(f"/admin/crm/properties/{crm_ids['Doubtful House']}/reject", data={"reason": "Photos missing"})
    db.session.rollback()
    assert db.session.get(CrmProperty, crm_ids["Awaiting House"]).listing_status == "live"
    assert db.session.get(CrmProperty, crm_ids["Doubtful House"]).rejection_reason == "Photos missing"
    assert client.get(f"/properties/{waiting.id}").status_code == 200
    assert b"No listings are waiting" in client.get("/admin/crm?tab=moderation").data
    detail = client.get(f"/admin/crm/properties/{crm_ids['Doubtful House']}").data
    assert b"Rejected: Photos missing" in detail


def test_bulk_action_confirms_the_count_then_applies(client, signed_in_admin, live_property):
    ids = [submit(client, live_property) for _ in range(3)]
    data = {"tab": "enquiries", "action": "status:contacted", "scope": "selected", "ids": [str(i) for i in ids[:2]]}
    confirm = client.post("/admin/crm/enquiries/bulk", data=data)
    assert b"this will change <strong>2 enquiries</strong>" in confirm.data
    assert {db.session.get(CrmEnquiry, i).status for i in ids} == {"new"}
    done = client.post("/admin/crm/enquiries/bulk", data=data | {"confirm": "yes"})
    assert b"2 enquiries changed" in done.data and "crm:changed" in done.headers["HX-Trigger"]
    db.session.rollback()
    assert [db.session.get(CrmEnquiry, i).status for i in ids] == ["contacted", "contacted", "new"]


def test_bulk_on_everything_matching_the_filter(client, signed_in_admin, live_property):
    ids = [submit(client, live_property) for _ in range(3)]
    client.post(f"/admin/crm/enquiries/{ids[0]}/status", data={"status": "contacted"})
    data = {"tab": "enquiries", "action": "spam", "scope": "all", "status": "new"}
    assert b"<strong>2 enquiries</strong>" in client.post("/admin/crm/enquiries/bulk", data=data).data
    client.post("/admin/crm/enquiries/bulk", data=data | {"confirm": "yes"})
    db.session.rollback()
    assert [db.session.get(CrmEnquiry, i).status for i in ids] == ["contacted", "spam", "spam"]
    restore = {"tab": "spam", "action": "not_spam", "scope": "all", "confirm": "yes"}
    assert b"2 enquiries changed" in client.post("/admin/crm/enquiries/bulk", data=restore).data


def test_bulk_without_selection_or_action_explains(client, signed_in_admin, live_property):
    submit(client, live_property)
    assert (
        client.post("/admin/crm/enquiries/bulk", data={"tab": "enquiries", "action": "status:new"}).status_code == 422
    )
    assert (
        client.post(
            "/admin/crm/enquiries/bulk", data={"tab": "enquiries", "action": "explode", "ids": ["1"]}
        ).status_code
        == 422
    )


def test_csv_export_is_exactly_the_filter_and_sort(client, signed_in_admin, app, owner):
    app.config["SPAM_MAX_PER_IP_HOUR"] = 1000
    ids = [submit(client, make_property(owner), guest_name=f"Guest {n:02d}") for n in range(30)]
    for enquiry_id in ids[::3]:
        client.post(f"/admin/crm/enquiries/{enquiry_id}/status", data={"status": "contacted"})
    response = client.get("/admin/crm/export.csv?tab=enquiries&status=contacted&sort=guest&dir=desc")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [int(r["id"]) for r in rows] == sorted(
        ids[::3], key=lambda i: db.session.get(CrmEnquiry, i).guest_name, reverse=True
    )
    assert {r["status"] for r in rows} == {"contacted"}


def test_settings_change_guest_privacy(client, signed_in_admin):
    assert b'value="yes" checked' in client.get("/admin/crm/settings").data
    client.post("/admin/crm/settings", data={"owners_see_guest_contact_before_reply": "no"})
    assert b'value="no" checked' in client.get("/admin/crm/settings").data


@pytest.mark.parametrize(
    "path",
    [
        "/admin/crm",
        "/admin/crm/board",
        "/admin/crm/stats",
        "/admin/crm/export.csv",
        "/admin/crm/settings",
        "/admin/crm/contacts/1",
        "/admin/crm/properties/1",
    ],
)
def test_admin_pages_refuse_owners_and_strangers(client, auth, owner, path):
    assert client.get(path).status_code == 302
    auth.login("owner@example.com")
    assert client.get(path).status_code == 403


def test_admin_actions_need_a_csrf_token(app, client, auth, admin, live_property):
    enquiry_id = submit(client, live_property)
    auth.login("admin@example.com")
    app.config["WTF_CSRF_ENABLED"] = True
    refused = client.post(f"/admin/crm/enquiries/{enquiry_id}/status", data={"status": "contacted"})
    assert refused.status_code == 400
    page = client.get("/admin/crm").data.decode()
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    accepted = client.post(
        f"/admin/crm/enquiries/{enquiry_id}/status",
        data={"status": "contacted"},
        headers={"X-CSRFToken": token, "HX-Request": "true"},
    )
    assert accepted.status_code == 200
    assert (
        db.session.scalar(select(func.count()).select_from(Interaction).where(Interaction.type == "status_change")) == 1
    )


def test_nul_characters_in_queries_and_forms_never_reach_the_database(client, signed_in_admin, live_property):
    enquiry_id = submit(client, live_property, guest_name="Nula Guest")
    assert client.get("/admin/crm?tab=enquiries&q=nu%00la").status_code == 200
    assert client.get("/admin/crm?tab=contacts&q=%00").status_code == 200
    contact_id = db.session.get(CrmEnquiry, enquiry_id).contact_id
    response = client.post(f"/admin/crm/contacts/{contact_id}/notes", data={"content": "call\x00 back"})
    assert response.status_code == 200 and b"call back" in response.data
