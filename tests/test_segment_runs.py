"""The reports' segment figures come from the runs' own counts, and agree with the segment rows they count."""

from datetime import datetime, timedelta

from sqlalchemy import event, func, select, update

from crm import engagement, settings
from crm.extensions import db
from crm.models import SEGMENTS, Segment, SegmentRun, utcnow
from crm.reports import queries
from crm.reports.period import Period, preset


def counted_from_segment_rows(period: Period, last_run: datetime | None) -> list[dict]:
    """The segments section's figures the long way: every segment row, counted."""
    rows = db.session.execute(select(Segment.segment, Segment.added_at, Segment.removed_at)).all()

    def count(name, condition):
        return sum(1 for segment, added, removed in rows if segment == name and condition(added, removed))

    def within(moment):
        return moment is not None and period.starts_at <= moment < period.ends_before

    return [
        {
            "segment": name,
            "contacts": count(name, lambda added, removed: removed is None),
            "joined": count(name, lambda added, removed: within(added)),
            "left": count(name, lambda added, removed: within(removed)),
            "joined_last_run": count(name, lambda added, removed: last_run is not None and added == last_run),
            "left_last_run": count(name, lambda added, removed: last_run is not None and removed == last_run),
        }
        for name in SEGMENTS
    ]


def assert_runs_add_up(periods: list[Period]) -> None:
    raw = settings.get(engagement.LAST_SEGMENT_RUN)
    last_run = datetime.fromisoformat(raw) if raw else None
    for period in periods:
        assert queries.segment_figures(period, last_run) == counted_from_segment_rows(period, last_run), period


def run_at(moment: datetime) -> engagement.Outcome:
    outcome = engagement.recompute(moment)
    db.session.commit()
    return outcome


def test_each_run_records_who_joined_and_left_and_the_figures_agree_with_the_rows(busy_owner):
    now = utcnow()
    first, second, third = now - timedelta(days=200), now - timedelta(days=20), now - timedelta(hours=1)
    assert run_at(first).added
    settings.set(engagement.SEGMENT_RULES, {"high_value_guest_min_value": 10000})
    db.session.commit()
    assert run_at(second).removed == 3  # the three guests fall below the new bar
    settings.set(engagement.SEGMENT_RULES, {})
    db.session.commit()
    assert run_at(third).added == 3  # and come back
    assert run_at(now).added == 0  # a run that changes nothing records nothing

    runs = db.session.execute(
        select(SegmentRun.run_at, SegmentRun.segment, SegmentRun.added, SegmentRun.removed, SegmentRun.members)
        .where(SegmentRun.segment == "high_value")
        .order_by(SegmentRun.run_at)
    ).all()
    assert [(at, added, removed, members) for at, _, added, removed, members in runs] == [
        (first, 4, 0, 4),  # the owner and the three guests who booked
        (second, 0, 3, 1),
        (third, 3, 0, 4),
    ]
    assert db.session.scalar(select(func.count()).select_from(SegmentRun)) == 3 * len(SEGMENTS)

    today = now.date()
    assert_runs_add_up(
        [
            preset("30d", today),  # the second and third runs
            preset("12m", today),  # all three
            Period(first.date(), first.date()),  # the first alone
            Period(today - timedelta(days=100), today - timedelta(days=90)),  # none
        ]
    )
    figures = {row["segment"]: row for row in queries.segment_figures(preset("30d", today), third)}
    assert figures["high_value"] == {
        "segment": "high_value",
        "contacts": 4,
        "joined": 3,
        "left": 3,
        "joined_last_run": 3,
        "left_last_run": 0,
    }


def test_the_segments_section_reads_the_runs_not_the_segment_rows(client, auth, admin, busy_owner):
    run_at(utcnow())
    auth.login(admin.email)
    statements = []

    def remember(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        page = client.get("/admin/crm/reports/segments?period=12m")
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)
    assert page.status_code == 200 and "Contacts in each segment" in page.text
    assert any("crm_segment_runs" in s for s in statements)
    # 36,000 current segment rows at the large scale, and their history: none of them is read.
    assert not any("FROM crm_segments" in s for s in statements)


def test_the_daily_job_puts_segment_runs_that_drifted_back_in_line(runner, busy_owner):
    run_at(utcnow() - timedelta(days=3))
    db.session.execute(update(SegmentRun).where(SegmentRun.segment == "high_value").values(members=99, added=98))
    db.session.commit()
    first = runner.invoke(args=["crm", "daily"])
    assert first.exit_code == 0, first.output
    assert "2 segment-run rows from the segments" in first.output  # the drifted row out, the right one in
    db.session.expire_all()
    assert_runs_add_up([preset("30d", utcnow().date())])
    second = runner.invoke(args=["crm", "daily"])
    assert "0 segment-run rows from the segments" in second.output
