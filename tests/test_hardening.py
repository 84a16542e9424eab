"""The HTTP edges: security headers, CSV formulas, huge ids, 405s, line breaks in names, htmx sign-in, double submits."""

import csv
import io
import re
import socket
from email import message_from_bytes, policy
from urllib.parse import unquote

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from crm.exports import safe_cell
from crm.extensions import db
from crm.models import Contact, CrmEnquiry, EmailMessage, Enquiry, Interaction, Membership, Property

from .builders import enquiry_data, make_property

FORMULA = '=HYPERLINK("http://x","click")'


def submit(client, prop, **fields) -> int:
    response = client.post("/api/enquiry", json=enquiry_data(prop, **fields))
    assert response.status_code == 201, response.json
    return response.json["id"]


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


# --- Security headers -------------------------------------------------------------------------------


def assert_security_headers(response):
    csp = response.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in directives["script-src"] and "unsafe-eval" not in csp
    assert directives["frame-ancestors"] == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


@pytest.mark.parametrize(
    "path", ["/", "/login", "/owner-sign-up", "/properties/999", "/static/css/app.css", "/api/crm/contacts"]
)
def test_public_answers_carry_the_security_headers_and_may_be_cached(client, live_property, path):
    response = client.get(path.replace("999", str(live_property.id)) if path == "/properties/999" else path)
    assert_security_headers(response)
    assert "no-store" not in response.headers.get("Cache-Control", "")
    assert "Strict-Transport-Security" not in response.headers


def test_error_pages_and_json_errors_carry_the_security_headers(client):
    assert_security_headers(client.get("/no-such-page"))
    assert_security_headers(client.post("/api/enquiry", data="not json"))


@pytest.mark.parametrize(
    "who, paths",
    [
        (
            "owner@example.com",
            [
                "/owner-dashboard",
                "/owner-dashboard/enquiries",
                "/owner-dashboard/properties",
                "/owner-dashboard/enquiries.csv",
                "/",
            ],
        ),
        (
            "admin@example.com",
            [
                "/admin/crm",
                "/admin/crm?tab=contacts",
                "/admin/crm/board",
                "/admin/crm/stats",
                "/admin/crm/export.csv?tab=enquiries",
                "/admin/crm/export.csv?tab=contacts",
                "/api/crm/contacts",
                "/",
            ],
        ),
    ],
)
def test_signed_in_pages_and_exports_are_never_stored(client, auth, admin, owner, live_property, who, paths):
    auth.login(who)
    for path in paths:
        response = client.get(path)
        response.get_data()  # exports stream: read them to the end
        response.close()
        assert response.status_code == 200, path
        assert_security_headers(response)
        assert response.headers["Cache-Control"] == "no-store", path


def test_hsts_only_when_cookies_are_secure(app, client):
    assert "Strict-Transport-Security" not in client.get("/").headers
    app.config["SESSION_COOKIE_SECURE"] = True
    hsts = client.get("/", base_url="https://localhost").headers["Strict-Transport-Security"]
    assert hsts.startswith("max-age=") and int(hsts.split("=")[1].split(";")[0]) >= 15552000


def test_pages_load_no_inline_script(client, auth, owner, live_property):
    auth.login("owner@example.com")
    for path in ("/", f"/properties/{live_property.id}", "/owner-dashboard", "/owner-dashboard/enquiries"):
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\s(on[a-z]+|hx-on[:\w-]*)=", html), path


# --- CSV exports never carry a live formula ----------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        (FORMULA, "'" + FORMULA),
        ("+44 7700", "'+44 7700"),
        ("-1+1", "'-1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Plain name", "Plain name"),
        (42, 42),
        (None, None),
    ],
)
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


@pytest.fixture
def formula_world(client, owner, live_property):
    """A guest, a listing and a membership whose text a spreadsheet would run."""
    submit(client, live_property, guest_name=FORMULA, message="@SUM(1+1)")
    listing = make_property(owner, title="=1+2", location="-Bath")
    contact = db.session.scalar(select(Contact).where(Contact.user_id == owner.id))
    contact.business_name = "+Cmd"
    db.session.add(
        Membership(
            contact_id=contact.id,
            plan_tier="gold",
            plan_price=349,
            start_date=listing.created_at.date(),
            end_date=listing.created_at.date(),
        )
    )
    db.session.commit()


@pytest.mark.parametrize("tab", ["enquiries", "contacts", "properties", "memberships", "activity"])
def test_admin_exports_neutralise_formulas(client, auth, admin, formula_world, tab):
    auth.login("admin@example.com")
    rows = csv_rows(client.get(f"/admin/crm/export.csv?tab={tab}"))
    assert len(rows) > 1
    cells = [cell for row in rows[1:] for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    if tab in ("enquiries", "contacts"):
        assert "'" + FORMULA in cells


def test_owner_export_neutralises_formulas(client, auth, formula_world):
    auth.login("owner@example.com")
    cells = [cell for row in csv_rows(client.get("/owner-dashboard/enquiries.csv"))[1:] for cell in row]
    assert "'" + FORMULA in cells and FORMULA not in cells


# --- Huge, malformed and unknown ids ----------------------------------------------------------------


def test_huge_ids_from_the_review_are_404(client, live_property):
    assert client.get("/properties/9223372036854775808").status_code == 404
    assert client.post("/properties/99999999999999999999999/enquiry", data={"guest_name": "x"}).status_code == 404


ID_VALUES = [
    "0",
    "2147483647",
    "2147483648",
    "9223372036854775807",
    "9223372036854775808",
    "99999999999999999999999",
    "-1",
    "1e9",
    "%00",
    "١",
]


def int_routes(app):
    for rule in app.url_map.iter_rules():
        names = [name for name, converter in rule._converters.items() if converter.__class__.__name__ == "IdConverter"]
        if names:
            yield rule, names


@pytest.mark.parametrize("who", [None, "owner@example.com", "admin@example.com"])
def test_every_route_with_an_id_refuses_bad_ids_without_a_500(app, client, auth, admin, owner, live_property, who):
    if who:
        auth.login(who)
    rules = list(int_routes(app))
    assert len(rules) >= 15
    for rule, names in rules:
        template = rule.rule
        for value in ID_VALUES:
            path = template
            for name in names:
                path = re.sub(rf"<int:{name}>", value, path)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                status = client.open(path, method=method, data={"status": "contacted"}).status_code
                assert status < 500, (method, path, status)
                assert status in (302, 400, 401, 403, 404, 405, 409, 422), (method, path, status)


@pytest.mark.parametrize(
    "path, data",
    [
        (
            "/admin/crm/enquiries/bulk",
            {"tab": "enquiries", "action": "status:new", "ids": ["99999999999999999999999", "-3"]},
        ),
        ("/admin/crm/enquiries/bulk", {"tab": "enquiries", "action": "assign:99999999999999999999", "ids": ["1"]}),
    ],
)
def test_huge_ids_in_forms_are_refused_cleanly(client, auth, admin, path, data):
    auth.login("admin@example.com")
    assert client.post(path, data=data).status_code == 422


@pytest.mark.parametrize("query", ["owner=99999999999999999999999", "contact=9223372036854775808", "after=" + "9" * 40])
def test_huge_ids_in_list_filters_are_ignored(client, auth, admin, query):
    auth.login("admin@example.com")
    assert client.get(f"/admin/crm?tab=properties&{query}").status_code == 200


def test_huge_ids_in_the_owner_list_filter_are_404(client, auth, owner):
    auth.login("owner@example.com")
    assert client.get("/owner-dashboard/enquiries?property=99999999999999999999999").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"id": 99999999999999999999999, "status": "contacted"},
        {"id": "9223372036854775808", "status": "contacted"},
        {"id": -1, "status": "contacted"},
        {"id": [1], "status": "contacted"},
    ],
)
def test_huge_ids_in_the_api_are_refused(client, auth, admin, body):
    auth.login("admin@example.com")
    assert client.put("/api/crm/enquiries", json=body).status_code in (400, 404, 422)


# --- 405 says what is allowed --------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path, allowed",
    [
        ("GET", "/logout", {"POST", "OPTIONS"}),
        ("DELETE", "/", {"GET", "HEAD", "OPTIONS"}),
        ("PATCH", "/api/crm/enquiries", {"GET", "POST", "PUT", "HEAD", "OPTIONS"}),
        ("GET", "/api/enquiry", {"POST", "OPTIONS"}),
    ],
)
def test_405_carries_an_allow_header(client, method, path, allowed):
    response = client.open(path, method=method)
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) == allowed


# --- Line breaks in names --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["Eve\r\nBcc: victim@example.com", "Eve\nX-Spam: no", "Eve\rTo: a@b.c", "Eve\u2028Bcc: x"]
)
def test_line_breaks_in_a_guest_name_are_refused_everywhere(client, live_property, name):
    api = client.post("/api/enquiry", json=enquiry_data(live_property, guest_name=name))
    assert api.status_code == 422 and "one line" in api.json["errors"]["guest_name"]
    form = client.post(f"/properties/{live_property.id}/enquiry", data=enquiry_data(live_property, guest_name=name))
    assert form.status_code == 422 and b"must be on one line" in form.data
    assert db.session.scalar(select(func.count()).select_from(Enquiry)) == 0


def test_line_breaks_in_signup_names_are_refused(client):
    response = client.post(
        "/owner-sign-up",
        data={
            "first_name": "Eve\r\nBcc: x@example.com",
            "last_name": "Doe",
            "email": "eve@example.com",
            "password": "a long enough password",
            "confirm": "a long enough password",
        },
    )
    assert response.status_code == 422 and b"Keep this on one line." in response.data


def test_line_breaks_in_a_listing_title_are_refused(client, auth, owner):
    auth.login("owner@example.com")
    response = client.post(
        "/owner-dashboard/properties/new",
        data={
            "title": "Barn\r\nBcc: x@example.com",
            "location": "Bath",
            "bedrooms": "2",
            "bathrooms": "1",
            "max_guests": "4",
            "price_per_night": "100",
            "action": "save",
        },
    )
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Property)) == 0


@pytest.fixture
def smtp_inbox():
    """A real SMTP server on loopback that keeps what it receives."""

    class Handler:
        messages: list = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = Handler()
    handler.messages = []
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def test_a_stored_line_break_never_reshapes_an_email(app, client, owner, smtp_inbox):
    handler, port = smtp_inbox
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    # Data from before the rule (or from the CRM API) may still hold a line break.
    prop = make_property(owner, title="Barn\r\nBcc: victim@example.com")
    submit(client, prop, guest_name="Gwen Guest", guest_email="gwen@example.com")
    [to_owner] = [m for m in handler.messages if m["To"] == "owner@example.com"]
    assert to_owner["Subject"] == "New enquiry for Barn Bcc: victim@example.com from Gwen Guest"
    assert to_owner["Bcc"] is None
    assert not [m for m in handler.messages if "victim" in (m["To"] or "")]


# --- htmx and the session ---------------------------------------------------------------------------


HTMX = {"HX-Request": "true", "HX-Current-URL": "http://localhost/owner-dashboard/enquiries?status=new"}


def test_signed_out_htmx_request_gets_a_whole_page_redirect_to_the_page_not_the_fragment(client):
    response = client.get("/owner-dashboard/enquiries/5/row", headers=HTMX)
    assert response.status_code == 401 and response.data == b""
    assert response.headers["HX-Redirect"] == "/login?next=/owner-dashboard/enquiries?status%3Dnew"
    admin = client.get("/admin/crm/stats", headers=HTMX | {"HX-Current-URL": "http://localhost/admin/crm?tab=contacts"})
    assert admin.headers["HX-Redirect"] == "/login?next=/admin/crm?tab%3Dcontacts"


def test_htmx_redirect_never_points_at_another_site(client):
    response = client.get(
        "/admin/crm/stats", headers={"HX-Request": "true", "HX-Current-URL": "https://evil.example/x"}
    )
    assert response.headers["HX-Redirect"] == "/login?next=/admin/crm/stats"


def test_signed_out_page_request_still_gets_an_ordinary_redirect(client):
    response = client.get("/owner-dashboard/enquiries?status=new")
    assert response.status_code == 302 and "HX-Redirect" not in response.headers
    assert response.headers["Location"].startswith("/login?next=")


def test_stale_htmx_post_after_the_session_ended_leads_to_sign_in(app, client, auth, owner, live_property):
    enquiry_id = submit(client, live_property)
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post(
        f"/owner-dashboard/enquiries/{enquiry_id}/status",
        data={"status": "contacted"},
        headers=HTMX | {"X-CSRFToken": "stale"},
    )
    assert response.status_code == 401 and response.headers["HX-Redirect"].startswith("/login?next=/owner-dashboard")
    assert db.session.get(CrmEnquiry, enquiry_id).status == "new"


def test_stale_form_when_signed_in_is_still_a_400_with_a_message(app, client, auth, owner, live_property):
    enquiry_id = submit(client, live_property)
    auth.login("owner@example.com")
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post(
        f"/owner-dashboard/enquiries/{enquiry_id}/status",
        data={"status": "contacted"},
        headers=HTMX | {"X-CSRFToken": "stale"},
    )
    assert response.status_code == 400 and b"data-error-message" in response.data


# --- Double submits ---------------------------------------------------------------------------------


def test_save_as_draft_twice_makes_one_listing(client, auth, owner):
    auth.login("owner@example.com")
    form = {
        "title": "Orchard Barn",
        "location": "Ludlow, Shropshire",
        "bedrooms": "5",
        "bathrooms": "3",
        "max_guests": "14",
        "price_per_night": "450",
        "action": "save",
    }
    first = client.post("/owner-dashboard/properties/new", data=form)
    second = client.post("/owner-dashboard/properties/new", data=form)
    assert first.status_code == second.status_code == 303
    assert db.session.scalar(select(func.count()).select_from(Property).where(Property.title == "Orchard Barn")) == 1
    another = client.post("/owner-dashboard/properties/new", data=form | {"title": "Orchard Barn II"})
    assert another.status_code == 303
    assert db.session.scalar(select(func.count()).select_from(Property)) == 2


def test_a_reply_or_note_sent_twice_is_kept_once(client, auth, owner, admin, live_property):
    enquiry_id = submit(client, live_property)
    auth.login("owner@example.com")
    for _ in range(2):
        assert (
            client.post(
                f"/owner-dashboard/enquiries/{enquiry_id}/reply", data={"subject": "", "message": "Yes, it is free."}
            ).status_code
            == 303
        )
        assert (
            client.post(f"/owner-dashboard/enquiries/{enquiry_id}/notes", data={"note": "Call Friday."}).status_code
            == 303
        )

    def count(kind: str) -> int:
        return db.session.scalar(select(func.count()).select_from(Interaction).where(Interaction.type == kind))

    assert (count("email"), count("note")) == (1, 1)
    replies = db.session.scalar(select(func.count()).select_from(EmailMessage).where(EmailMessage.subject.like("Re:%")))
    assert replies == 1
    auth.logout()
    auth.login("admin@example.com")
    contact_id = db.session.get(CrmEnquiry, enquiry_id).contact_id
    for _ in range(2):
        client.post(f"/admin/crm/contacts/{contact_id}/notes", data={"content": "Checked the dates."})
    assert count("note") == 2
    # A different note, or the same one later, is a new note.
    client.post(f"/admin/crm/contacts/{contact_id}/notes", data={"content": "Checked again."})
    assert count("note") == 3


def test_an_admin_reply_sent_twice_is_e_mailed_once(client, auth, admin, live_property):
    enquiry_id = submit(client, live_property)
    auth.login("admin@example.com")
    for _ in range(2):
        response = client.post(f"/admin/crm/enquiries/{enquiry_id}/reply", data={"message": "The date is free."})
        assert response.status_code == 303
    db.session.rollback()
    replies = (
        select(func.count())
        .select_from(EmailMessage)
        .where(EmailMessage.enquiry_id == enquiry_id, EmailMessage.text_body.contains("The date is free."))
    )
    assert db.session.scalar(replies) == 1


def test_every_page_carries_its_icon_inline(client):
    """Without an icon every browser asks for /favicon.ico (a 404 on every first visit); a served one is a
    request that can land after sign-out and set the session cookie again. Inline, there is no request."""
    page = client.get("/").get_data(as_text=True)
    icon = re.search(r'<link rel="icon" href="data:image/svg\+xml,([^"]+)" type="image/svg\+xml">', page)
    assert icon
    assert unquote(icon.group(1)).startswith("<svg xmlns='http://www.w3.org/2000/svg'")
