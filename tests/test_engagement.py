"""Engagement scores and segments: from each contact's own side of the data, visible, filterable, idempotent."""

from sqlalchemy import func, select

from crm import engagement, settings
from crm.extensions import db
from crm.models import Contact, Segment, utcnow


def scored():
    outcome = engagement.recompute(utcnow())
    db.session.commit()
    return outcome


def current_segments(contact_id):
    return {
        s.segment: s.reason
        for s in db.session.scalars(
            select(Segment).where(Segment.contact_id == contact_id, Segment.removed_at.is_(None))
        )
    }


def test_owners_are_scored_on_their_own_listings_replies_bookings_and_membership(busy_owner, other_owner):
    scored()
    owner = db.session.get(Contact, busy_owner["contact"])
    factors = owner.engagement_factors
    assert set(factors) == {"live_listings", "replies", "reply_time_hours", "bookings", "membership", "recent_activity"}
    assert factors["live_listings"] == {"value": 1, "points": 10}
    assert factors["bookings"]["value"] == 3 and factors["membership"]["value"] == "gold"
    assert factors["replies"]["value"] == 1.0 and factors["recent_activity"]["points"] == 10
    assert owner.engagement_score == sum(f["points"] for f in factors.values()) > 60
    segments = current_segments(owner.id)
    assert set(segments) == {"high_value", "premium"}  # busy and paying: neither inactive nor at risk
    assert "£24,000" in segments["high_value"]
    # An owner with nothing at all scores 0 and is inactive.
    idle = db.session.scalar(select(Contact).where(Contact.user_id == other_owner.id))
    assert idle.engagement_score == 0 and set(current_segments(idle.id)) == {"inactive"}


def test_guests_are_scored_on_their_enquiries_bookings_and_recency(busy_owner):
    scored()
    guest = db.session.get(Contact, busy_owner["guests"][0])
    assert guest.engagement_factors["enquiries"] == {"value": 1, "points": 10}
    assert guest.engagement_factors["bookings"] == {"value": 1, "points": 20}
    assert guest.engagement_factors["recency"]["points"] == 30
    assert guest.engagement_score == 60
    assert current_segments(guest.id) == {"high_value": "Lifetime booking value £8,000 (at least £2,000)"}


def test_segment_rules_are_settings(busy_owner):
    scored()
    settings.set(engagement.SEGMENT_RULES, {"high_value_guest_min_value": 10000})
    db.session.commit()
    outcome = scored()
    assert outcome.removed == 3  # the three guests fall below the new bar
    guest = busy_owner["guests"][0]
    left = db.session.scalar(select(Segment).where(Segment.contact_id == guest, Segment.segment == "high_value"))
    assert left.removed_at is not None and "no longer applies" in left.reason


def test_running_twice_changes_nothing_the_second_time(busy_owner):
    first = scored()
    assert first.scored and first.added
    before = (
        db.session.execute(
            select(Contact.id, Contact.engagement_score, Contact.engagement_factors).order_by(Contact.id)
        ).all(),
        db.session.execute(
            select(Segment.id, Segment.removed_at, Segment.reason, Segment.engagement_score).order_by(Segment.id)
        ).all(),
    )
    second = scored()
    assert (second.scored, second.added, second.removed) == (0, 0, 0)
    after = (
        db.session.execute(
            select(Contact.id, Contact.engagement_score, Contact.engagement_factors).order_by(Contact.id)
        ).all(),
        db.session.execute(
            select(Segment.id, Segment.removed_at, Segment.reason, Segment.engagement_score).order_by(Segment.id)
        ).all(),
    )
    assert after == before


def test_the_contact_page_shows_score_factors_segments_and_history(client, auth, admin, busy_owner):
    scored()
    settings.set(engagement.SEGMENT_RULES, {"premium_tier": "silver"})
    db.session.commit()
    scored()
    auth.login(admin.email)
    page = client.get(f"/admin/crm/contacts/{busy_owner['contact']}").text
    owner = db.session.get(Contact, busy_owner["contact"])
    assert f'<span class="score__value">{owner.engagement_score}</span>' in page
    assert "Live listings" in page and "Reply time hours" in page
    assert "Lifetime booking value £24,000" in page
    assert "Segment history" in page and "Gold membership — no longer applies" in page


def test_the_contacts_tab_filters_by_segment_and_sorts_by_score(client, auth, admin, busy_owner):
    scored()
    auth.login(admin.email)
    page = client.get("/admin/crm?tab=contacts&segment=high_value&sort=score", headers={"HX-Request": "true"}).text
    high_value = db.session.scalars(
        select(Contact)
        .join(Segment, Segment.contact_id == Contact.id)
        .where(Segment.segment == "high_value", Segment.removed_at.is_(None))
    ).all()
    assert len(high_value) == 4
    for contact in high_value:
        assert contact.email in page
    ordered = sorted(high_value, key=lambda c: (c.engagement_score, c.id), reverse=True)
    positions = [page.index(c.email) for c in ordered]
    assert positions == sorted(positions)
    assert "admin@example.com" not in page
    # An unknown segment is no filter at all, never an error.
    assert client.get("/admin/crm?tab=contacts&segment=vip").status_code == 200


def test_api_contact_records_carry_the_score(client, auth, admin, busy_owner):
    scored()
    auth.login(admin.email)
    items = client.get("/api/crm/contacts?type=owner").json["items"]
    scores = {item["id"]: item["engagement_score"] for item in items}
    assert scores[busy_owner["contact"]] == db.session.get(Contact, busy_owner["contact"]).engagement_score > 0


def test_the_daily_job_reports_what_changed(runner, busy_owner):
    first = runner.invoke(args=["crm", "daily"])
    assert first.exit_code == 0, first.output
    assert "engagement scores changed" in first.output
    second = runner.invoke(args=["crm", "daily"])
    assert "Segments: 0 added, 0 removed; 0 engagement scores changed." in second.output
    assert db.session.scalar(select(func.count()).select_from(Segment).where(Segment.removed_at.is_(None))) >= 5
