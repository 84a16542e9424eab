"""Owner insights as CSV: each section downloads the owner's own figures, the same as the page shows."""

import csv
import html
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.models import CrmEnquiry, utcnow
from crm.owner.insights import SECTIONS
from crm.reports.period import preset

from .builders import enquiry_data, make_property

# (final status, the steps an admin takes through the API)
WALKS = [
    ("booked", ("contacted", "negotiating", "booked")),
    ("booked", ("contacted", "booked")),
    ("lost", ("contacted", "lost")),
    ("new", ()),
]
FORMULA_TITLE = '=HYPERLINK("http://evil.example","Click")'


@pytest.fixture
def figures(client, auth, admin, owner, other_owner, live_property):
    """Enquiries on two owners' listings walked through their statuses; one of the owner's titles is a formula."""
    tricky = make_property(owner, title=FORMULA_TITLE)
    theirs = make_property(other_owner, title="Mill Cottage")
    for n, (prop, (_, steps)) in enumerate([(p, w) for p in (live_property, tricky, theirs) for w in WALKS]):
        enquiry_id = client.post("/api/enquiry", json=enquiry_data(prop)).json["id"]
        auth.login(admin.email)
        for status in steps:
            body = {"id": enquiry_id, "status": status} | ({"booking_value": 7000 + n} if status == "booked" else {})
            assert client.put("/api/crm/enquiries", json=body).status_code == 200
        auth.logout()
    return {"theirs": theirs}


def download(client, name: str, query: str = ""):
    response = client.get(f"/owner-dashboard/insights/{name}.csv{query}")
    assert response.status_code == 200, response.text
    return response, list(csv.reader(io.StringIO(response.text)))


def page_rows(page: str, caption: str) -> list[list[str]]:
    """The cells of the page's table with this caption, as the reader sees them."""
    table = page[page.index(f"<caption>{caption}</caption>") :]
    body = table[table.index("<tbody>") : table.index("</tbody>")]
    return [
        [
            html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def shown(value: str, kind: str) -> str:
    """A CSV cell written the way the page writes it."""
    if value == "":
        return "—"
    if kind == "money":
        return f"£{float(value):,.0f}"
    if kind == "rate":
        return f"{float(value) * 100:.1f}%"
    if kind == "number":
        return f"{int(value):,}"
    if kind == "text" and value.islower() and " " not in value:
        return value.replace("_", " ").capitalize()
    return value.removeprefix("'")  # the CSV's guard against formulas; the page shows the title as typed


@pytest.mark.parametrize("name", ["funnel", "listings", "months"])
def test_each_table_downloads_with_the_numbers_on_the_page(client, auth, owner, figures, name):
    auth.login(owner.email)
    page = client.get("/owner-dashboard/insights?period=12m").text
    response, rows = download(client, name, "?period=12m")
    today = utcnow().date()
    [table] = SECTIONS[name].tables(SECTIONS[name].compute(preset("12m", today), owner))
    assert rows[0] == [SECTIONS[name].title, (today - timedelta(days=364)).isoformat(), today.isoformat()]
    assert rows[2] == [table.caption] and rows[3] == [c.label for c in table.columns]
    kinds = [c.kind for c in table.columns]
    assert [[shown(v, k) for v, k in zip(row, kinds, strict=True)] for row in rows[4:]] == page_rows(
        page, table.caption
    )
    assert response.mimetype == "text/csv" and response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="insights-{name}-{today - timedelta(days=364)}-{today}.csv"'
    )


def test_the_figures_are_the_owners_own(client, auth, owner, other_owner, figures):
    mine = list(db.session.scalars(select(CrmEnquiry).where(CrmEnquiry.property_id != figures["theirs"].id)))
    auth.login(owner.email)
    bodies = {name: download(client, name)[0].text for name in SECTIONS}
    assert not any("Mill Cottage" in body for body in bodies.values())
    # Worked out a second way: the owner's eight enquiries, four booked, and what they were booked for.
    _, funnel = download(client, "funnel")
    assert funnel[4][:2] == ["new", str(len(mine))] == ["new", "8"]
    assert funnel[-1][:2] == ["booked", str(sum(e.status == "booked" for e in mine))]
    _, months = download(client, "months", "?period=30d")
    assert sum(float(row[3]) for row in months[4:]) == float(sum(e.booking_value or 0 for e in mine))
    theirs = sum(e.booking_value or 0 for e in db.session.scalars(select(CrmEnquiry)) if e not in mine)
    assert f"{float(theirs)}" not in bodies["months"]

    auth.logout()
    auth.login(other_owner.email)
    _, listings = download(client, "listings")
    assert [row[0] for row in listings[4:]] == ["Mill Cottage"]


def test_reply_times_download_beside_the_platforms(client, auth, owner, figures):
    auth.login(owner.email)
    page = client.get("/owner-dashboard/insights").text
    _, rows = download(client, "reply")
    assert rows[3] == ["Who", "Median hours", "90th percentile hours", "Enquiries answered"]
    you, everyone = rows[4], rows[5]
    assert you[0] == "You" and everyone[0] == "All owners"
    my_median = re.search(r'data-figure="my-median">([^<]*)<', page).group(1)
    assert my_median == f"{you[1]} h" and you[3] == "6"  # six of the owner's eight were answered
    assert everyone[3] == "9"


def test_cells_a_spreadsheet_would_run_are_neutralised(client, auth, owner, figures):
    auth.login(owner.email)
    _, rows = download(client, "listings")
    titles = [row[0] for row in rows[4:]]
    assert "'" + FORMULA_TITLE in titles
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_the_period_in_the_url_is_the_pages(client, auth, owner, figures):
    auth.login(owner.email)
    page = client.get("/owner-dashboard/insights?from=2026-01-01&to=2026-03-31").text
    assert 'href="/owner-dashboard/insights/funnel.csv?from=2026-01-01&amp;to=2026-03-31"' in page
    _, rows = download(client, "funnel", "?from=2026-01-01&to=2026-03-31")
    assert rows[0][1:] == ["2026-01-01", "2026-03-31"]
    preset = client.get("/owner-dashboard/insights?period=30d").text
    assert 'href="/owner-dashboard/insights/months.csv?period=30d"' in preset


def test_only_owners_download_and_unknown_sections_are_404(client, auth, admin, owner, figures):
    assert client.get("/owner-dashboard/insights/funnel.csv").status_code == 302  # to sign in
    auth.login(admin.email)
    assert client.get("/owner-dashboard/insights/funnel.csv").status_code == 403
    auth.logout()
    auth.login(owner.email)
    assert client.get("/owner-dashboard/insights/nope.csv").status_code == 404
    assert (
        client.get("/owner-dashboard/insights/funnel.csv?from=2026-99-01").status_code == 200
    )  # as the page: the default
