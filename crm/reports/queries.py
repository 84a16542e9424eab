"""The report figures: each function aggregates in SQL over one period and returns plain rows.

Platform-wide figures read the rollup (crm.reports.rollup): a period is a few hundred rows of
crm_report_days, and a percentile is a histogram of crm_report_duration_days plus one short indexed
scan of crm_report_durations. The breakdowns by owner and by property read a period's whole months
from crm_report_months (or crm_report_totals less the months outside the period) and its loose days
from the enquiries. Figures narrowed by `where` (one owner's or one property's enquiries) read the
enquiries themselves through ix_crm_enquiries_report (created_at first, then every column they group by).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Date, DateTime, Select, bindparam, case, exists, func, literal, select, union_all
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import (
    FUNNEL_STAGES,
    SEGMENTS,
    Contact,
    CrmEnquiry,
    CrmProperty,
    Membership,
    Payment,
    ReportDay,
    ReportDuration,
    ReportDurationDay,
    ReportDurationMonth,
    ReportMonth,
    ReportTotal,
    SegmentRun,
)
from .definitions import BOOKED, BOOKING_VALUE, COUNTED, PAID_STATUSES, count_if, rate
from .period import Period
from .sql import month_of, seconds_between

E = CrmEnquiry
D = ReportDay
TOP = 20
SLOWEST = 10
TIMED_STATUSES = ("new", "contacted", "negotiating")


def _in(period: Period, where: tuple) -> tuple:
    return (COUNTED, period.contains(E.created_at), *where)


def _days(period: Period, dimension: str) -> tuple:
    """The rollup's rows of one dimension for the period's days."""
    return (D.dimension == dimension, D.day >= period.start, D.day <= period.end)


def _sum(column):
    return func.coalesce(func.sum(column), 0)


# --- The funnel ----------------------------------------------------------------------------------


def funnel(period: Period, *where) -> dict[str, Any]:
    """Enquiries received in the period, how many reached each stage, and how many were lost at each."""
    if where:
        lost = E.status == "lost"
        counts = select(
            func.count(),
            *(count_if(E.furthest_stage >= rank) for rank in range(1, len(FUNNEL_STAGES))),
            *(count_if(lost & (E.furthest_stage == rank)) for rank in range(len(FUNNEL_STAGES))),
        ).where(*_in(period, where))
    else:
        counts = select(
            *(
                _sum(c)
                for c in (D.enquiries, D.contacted, D.negotiating, D.booked)
                + (D.lost_new, D.lost_contacted, D.lost_negotiating, D.lost_booked)
            )
        ).where(*_days(period, "all"))
    row = db.session.execute(counts).one()
    total, reached, lost_at = row[0], row[1 : len(FUNNEL_STAGES)], row[len(FUNNEL_STAGES) :]
    # Lost at booked: booked once, then lost (say, cancelled).
    stages = [{"stage": "new", "reached": total, "lost": lost_at[0]}]
    for rank, stage in enumerate(FUNNEL_STAGES[1:], start=1):
        stages.append({"stage": stage, "reached": reached[rank - 1], "lost": lost_at[rank]})
    previous = stages[0]["reached"]
    for step in stages:
        step["of_previous"] = rate(step["reached"], previous)
        step["of_all"] = rate(step["reached"], total)
        previous = step["reached"]
    booked = stages[-1]["reached"]
    return {
        "enquiries": total,
        "stages": stages,
        "reached": {s["stage"]: s["reached"] for s in stages[1:]},
        "lost": sum(lost_at),
        "conversion_rate": rate(booked, total),
    }


# --- Response and status times ------------------------------------------------------------------


def _percentiles(duration, where: tuple, key=None) -> list[dict[str, Any]]:
    """Nearest-rank median, 90th percentile and mean of `duration` (seconds), overall or per `key`, in one query."""
    partition = {"partition_by": key} if key is not None else {}
    columns = [
        duration.label("d"),
        func.row_number().over(order_by=duration, **partition).label("rn"),
        func.count().over(**partition).label("n"),
        func.avg(duration).over(**partition).label("mean"),
    ]
    if key is not None:
        columns.append(key.label("k"))
    ranked = select(*columns).where(*where).subquery()
    median_rank, p90_rank = (ranked.c.n + 1) // 2, (ranked.c.n * 9 + 9) // 10
    statement = select(
        ranked.c.k if key is not None else func.max(ranked.c.n).label("k"),
        func.max(case((ranked.c.rn == median_rank, ranked.c.d))).label("median"),
        func.max(case((ranked.c.rn == p90_rank, ranked.c.d))).label("p90"),
        func.max(ranked.c.n).label("n"),
        func.max(ranked.c.mean).label("mean"),
    ).where(ranked.c.rn.in_((median_rank, p90_rank)))
    if key is not None:
        statement = statement.group_by(ranked.c.k)
    return [
        {"key": r.k, "median": r.median, "p90": r.p90, "count": r.n, "mean": r.mean}
        for r in db.session.execute(statement)
    ]


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 1)


def durations(period: Period, measures: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Count, mean, nearest-rank median and 90th percentile seconds of each measure, from the rollup.

    The histogram says which bucket holds each rank; one scan of that bucket's rows in seconds order
    (ix_crm_report_durations_bucket) finds the value itself.
    """
    h, m = ReportDurationDay, ReportDurationMonth
    spans = [(h, h.day, start, end) for start, end in _loose_days(period)]
    whole = _whole_months(period)
    if whole is not None:
        spans.append((m, m.month, *whole))
    histogram = union_all(
        *(
            select(t.measure, t.bucket, t.durations, t.seconds).where(t.measure.in_(measures), on >= start, on <= end)
            for t, on, start, end in spans
        )
    ).subquery()
    found: dict[str, list] = {m: [] for m in measures}
    for measure, bucket, n, total in db.session.execute(
        select(histogram.c.measure, histogram.c.bucket, func.sum(histogram.c.durations), func.sum(histogram.c.seconds))
        .group_by(histogram.c.measure, histogram.c.bucket)
        .order_by(histogram.c.measure, histogram.c.bucket)
    ):
        if n:
            found[measure].append((bucket, n, total))
    return {measure: _summary(measure, period, buckets) for measure, buckets in found.items()}


def _whole_months(period: Period, open_end: bool = False) -> tuple[date, date] | None:
    """The first days of the first and the last month that lie wholly inside the period, if any.

    With `open_end` (nothing is recorded after the period, as when it ends today) the month the period
    ends in counts as whole too: its rollup row holds that month's days up to the period's end and no others.
    """
    first = period.start if period.start.day == 1 else (period.start.replace(day=28) + timedelta(days=4)).replace(day=1)
    if open_end:
        last = period.end.replace(day=1)
    else:
        last = ((period.end + timedelta(days=1)).replace(day=1) - timedelta(days=1)).replace(day=1)
    return (first, last) if first <= last else None


def _loose_days(period: Period, open_end: bool = False) -> list[tuple[date, date]]:
    """The period's days outside its whole months, as at most two (first, last) ranges."""
    whole = _whole_months(period, open_end)
    if whole is None:
        return [(period.start, period.end)]
    after = (whole[1].replace(day=28) + timedelta(days=4)).replace(day=1)
    spans = [(period.start, whole[0] - timedelta(days=1)), (after, period.end)]
    return [(start, end) for start, end in spans if start <= end]


Sums = Callable[[Any, int], list]


def _months_and_loose_days(
    period: Period,
    loose: Callable[[date, date], Select],
    dimension: str,
    sums: Sums,
    where: Callable[[Any], tuple] = lambda table: (),
    later: Select | None = None,
) -> Any:
    """One subquery over the period: the monthly rollup of `dimension` for its whole months and
    `loose(first, last)` for each run of days outside them, their columns lined up under the same labels.

    `sums(table, sign)` are the labelled columns of a crm_report_months or crm_report_totals row, times
    `sign`; `where(table)` narrows either. `later` selects a row recorded after the period, if there is
    one: when there is none (the period ends today), the month it ends in is read from the rollup as
    well, rather than day by day.
    """
    open_end = later is not None and db.session.execute(later.limit(1)).first() is None
    parts = [loose(start, end) for start, end in _loose_days(period, open_end)]
    whole = _whole_months(period, open_end)
    if whole is not None:
        parts += _whole_months_rows(dimension, *whole, sums, where)
    return union_all(*parts).subquery()


def _month_count(first: date, last: date) -> int:
    return (last.year - first.year) * 12 + last.month - first.month + 1


def _whole_months_rows(dimension: str, first: date, last: date, sums: Sums, where) -> list[Select]:
    """The sums of the months first to last: their rows of crm_report_months, or, when those are most of the
    months recorded, the all-time totals (crm_report_totals) less the months outside them, which are fewer rows.

    (A year's breakdown by property on a platform a little over a year old: 14,000 totals and one month's
    rows instead of twelve months' 100,000.) The totals count as about two months of rows: every key has one.
    """
    m, t = ReportMonth, ReportTotal

    def months(*bounds, sign: int = 1) -> Select:
        return select(*sums(m, sign)).where(m.dimension == dimension, *bounds, *where(m))

    recorded = select(m.month).where(m.dimension == dimension)
    oldest, newest = db.session.execute(
        select(
            recorded.order_by(m.month).limit(1).scalar_subquery(),
            recorded.order_by(m.month.desc()).limit(1).scalar_subquery(),
        )
    ).one()
    if oldest is None:
        return [months(m.month >= first, m.month <= last)]
    inside = max(0, _month_count(max(first, oldest), min(last, newest)))
    if _month_count(oldest, newest) - inside + 2 >= inside:
        return [months(m.month >= first, m.month <= last)]
    return [
        select(*sums(t, 1)).where(t.dimension == dimension, *where(t)),
        months(m.month < first, sign=-1),
        months(m.month > last, sign=-1),
    ]


def _signed(column, sign: int):
    return column if sign == 1 else -column


def _summary(measure: str, period: Period, buckets: list) -> dict[str, Any]:
    count = sum(n for _, n, _ in buckets)
    if not count:
        return {"median": None, "p90": None, "count": 0, "mean": None}
    return {
        "median": _ranked(measure, period, buckets, (count + 1) // 2),
        "p90": _ranked(measure, period, buckets, (count * 9 + 9) // 10),
        "count": count,
        "mean": sum(total for _, _, total in buckets) / count,
    }


def _ranked(measure: str, period: Period, buckets: list, rank: int) -> float:
    """The rank-th smallest duration of the measure in the period (rank from 1)."""
    before, index = 0, 0
    while before + buckets[index][1] < rank:
        before += buckets[index][1]
        index += 1
    bucket = buckets[index][0]
    d = ReportDuration
    return db.session.scalar(
        select(d.seconds)
        .where(d.measure == measure, d.bucket == bucket, d.day >= period.start, d.day <= period.end)
        .order_by(d.seconds)
        .offset(rank - before - 1)
        .limit(1)
    )


def first_response(period: Period, *where) -> dict[str, Any]:
    """Median and 90th percentile hours from arrival to the first reply, for enquiries received in the period."""
    if where:
        responded = (*_in(period, where), E.first_response_at.is_not(None))
        rows = _percentiles(seconds_between(E.first_response_at, E.created_at), responded)
        row = rows[0] if rows else {"median": None, "p90": None, "count": 0}
    else:
        row = durations(period, ("first_response",))["first_response"]
    return {"median_hours": _hours(row["median"]), "p90_hours": _hours(row["p90"]), "responded": row["count"] or 0}


def slowest_owners(period: Period, limit: int = SLOWEST) -> list[dict[str, Any]]:
    """The owners whose first replies took longest on average in the period (owners with at least 3 replies).

    The averages come from sums by owner: whole months from crm_report_months, the loose days from the
    replies themselves (ix_crm_report_durations_day). Only the owners listed have their replies read, for
    their median and 90th percentile (ix_crm_report_durations_owner).
    """
    d = ReportDuration
    rows = _months_and_loose_days(
        period,
        lambda start, end: select(d.owner_id.label("k"), literal(1).label("n"), func.round(d.seconds).label("s")).where(
            d.measure == "first_response", d.day >= start, d.day <= end, d.owner_id.is_not(None)
        ),
        "owner",
        lambda table, sign: [
            table.key.label("k"),
            _signed(table.responded, sign).label("n"),
            _signed(table.response_seconds, sign).label("s"),
        ],
        lambda table: (table.key != 0, table.responded > 0),
        later=select(d.day).where(d.measure == "first_response", d.day > period.end),
    )
    responded, average = func.sum(rows.c.n), func.sum(rows.c.s) / func.sum(rows.c.n)
    found = db.session.execute(
        select(rows.c.k, responded, average)
        .group_by(rows.c.k)
        .having(responded >= 3)
        .order_by(average.desc(), rows.c.k)
        .limit(limit)
    ).all()
    owners = [owner_id for owner_id, _, _ in found]
    if not owners:
        return []
    in_period = (d.measure == "first_response", d.day >= period.start, d.day <= period.end, d.owner_id.in_(owners))
    spread = {r["key"]: r for r in _percentiles(d.seconds, in_period, d.owner_id)}
    names = _contact_names(owners)
    return [
        {
            "owner_id": owner_id,
            "owner": names.get(owner_id, "—"),
            "average_hours": _hours(mean),
            "median_hours": _hours(spread.get(owner_id, {}).get("median")),
            "p90_hours": _hours(spread.get(owner_id, {}).get("p90")),
            "responded": count,
        }
        for owner_id, count, mean in found
    ]


def time_in_status(period: Period) -> list[dict[str, Any]]:
    """Average and median hours enquiries spent in each open status, for stays that began in the period."""
    rows = durations(period, TIMED_STATUSES)
    return [
        {
            "status": s,
            "stays": rows[s]["count"],
            "average_hours": _hours(rows[s]["mean"]),
            "median_hours": _hours(rows[s]["median"]),
            "p90_hours": _hours(rows[s]["p90"]),
        }
        for s in TIMED_STATUSES
    ]


# --- Breakdowns ------------------------------------------------------------------------------------


def lost_reasons(period: Period, *where) -> list[dict[str, Any]]:
    """Lost enquiries received in the period, by the reason given."""
    if where:
        reason, lost = func.coalesce(E.lost_reason, ""), func.count()
        statement = select(reason, lost).where(*_in(period, where), E.status == "lost")
    else:
        reason, lost = D.key, func.sum(D.enquiries)
        statement = select(reason, lost).where(*_days(period, "lost_reason"))
    rows = db.session.execute(statement.group_by(reason).having(lost > 0).order_by(lost.desc(), reason).limit(TOP))
    return [{"reason": r or "No reason given", "lost": n} for r, n in rows]


def by_month(period: Period, *where) -> list[dict[str, Any]]:
    """Enquiries, bookings and booking value by the month the enquiry arrived, every month of the period."""
    if where:
        month = month_of(E.created_at)
        statement = select(month, func.count(), count_if(BOOKED), BOOKING_VALUE).where(*_in(period, where))
    else:
        month = month_of(D.day)
        statement = select(month, _sum(D.enquiries), _sum(D.bookings), _sum(D.booking_value)).where(
            *_days(period, "all")
        )
    found = {m: (n, b, v) for m, n, b, v in db.session.execute(statement.group_by(month))}
    return [
        {
            "month": m,
            "enquiries": found.get(m, (0,))[0],
            "bookings": found.get(m, (0, 0))[1],
            "value": float(found.get(m, (0, 0, 0))[2] or 0),
        }
        for m in months(period)
    ]


def months(period: Period) -> list[str]:
    year, month, last = period.start.year, period.start.month, (period.end.year, period.end.month)
    found = []
    while (year, month) <= last:
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


DIMENSIONS = {
    "source": "Source",
    "event_type": "Event type",
    "tier": "Membership tier",
    "property": "Property",
    "owner": "Owner",
}


def breakdown(period: Period, dimension: str, limit: int = TOP) -> list[dict[str, Any]]:
    """Enquiries, bookings, conversion and booking value by one dimension, largest first."""
    if dimension in ROLLED_UP:
        rows = _rolled_up(period, dimension, limit)
        names = {}
    else:
        rows = _by_entity(period, dimension, limit)
        names = _names(dimension, [r[0] for r in rows if r[0]])
    return [
        {
            "key": k,
            "label": names.get(k) or (str(k).replace("_", " ").capitalize() if k else "None"),
            "enquiries": n,
            "bookings": b,
            "conversion_rate": rate(b, n),
            "value": float(v or 0),
        }
        for k, n, b, v in rows
    ]


# Dimensions the rollup keeps by day; owners and properties are too many for a daily rollup to be smaller.
ROLLED_UP = ("source", "event_type", "tier")


def _rolled_up(period: Period, dimension: str, limit: int) -> list[tuple]:
    """(key, enquiries, bookings, value) from the rollup, largest first; its key '' stands for none."""
    enquiries = func.sum(D.enquiries)
    rows = db.session.execute(
        select(D.key, enquiries, _sum(D.bookings), _sum(D.booking_value))
        .where(*_days(period, dimension))
        .group_by(D.key)
        .having(enquiries > 0)
        .order_by(enquiries.desc(), D.key)
        .limit(limit)
    )
    return [(k or None, n, b, v) for k, n, b, v in rows]


def _by_entity(period: Period, dimension: str, limit: int) -> list[tuple]:
    """(owner or property id, enquiries, bookings, value), largest first: whole months from the rollup,
    the period's loose days from the enquiries (ix_crm_enquiries_report); id None for none."""
    column = {"property": E.property_id, "owner": E.owner_id}[dimension]
    rows = _months_and_loose_days(
        period,
        lambda start, end: select(
            func.coalesce(column, 0).label("k"),
            literal(1).label("n"),
            case((BOOKED, 1), else_=0).label("b"),
            case((BOOKED, E.booking_value), else_=0).label("v"),
        ).where(
            COUNTED,
            E.created_at >= datetime.combine(start, time.min),
            E.created_at < datetime.combine(end + timedelta(days=1), time.min),
        ),
        dimension,
        lambda table, sign: [
            table.key.label("k"),
            _signed(table.enquiries, sign).label("n"),
            _signed(table.bookings, sign).label("b"),
            _signed(table.booking_value, sign).label("v"),
        ],
        later=select(E.created_at).where(E.created_at >= period.ends_before),
    )
    enquiries = func.sum(rows.c.n)
    found = db.session.execute(
        select(rows.c.k, enquiries, _sum(rows.c.b), _sum(rows.c.v))
        .group_by(rows.c.k)
        .having(enquiries > 0)
        .order_by(enquiries.desc(), rows.c.k)
        .limit(limit)
    )
    return [(k or None, n, b, v) for k, n, b, v in found]


def _names(dimension: str, ids: list[int]) -> dict[int, str]:
    if dimension == "owner":
        return _contact_names(ids)
    return dict(db.session.execute(select(CrmProperty.id, CrmProperty.title).where(CrmProperty.id.in_(ids))).all())


def _contact_names(ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {c.id: c.full_name for c in db.session.scalars(select(Contact).where(Contact.id.in_(ids)))}


# --- Memberships -------------------------------------------------------------------------------------


def membership_figures(period: Period) -> dict[str, Any]:
    """Membership revenue by month and the period's new, renewed, failed, cancelled and lapsed memberships."""
    bounds = {
        "start": period.start,
        "end": period.end,
        "starts_at": period.starts_at,
        "ends_before": period.ends_before,
    }
    revenue = dict(db.session.execute(membership_revenue_query(), bounds).all())
    counts = db.session.execute(membership_counts_query(), bounds).one()
    return {
        "revenue_by_month": [{"month": m, "revenue": float(revenue.get(m) or 0)} for m in months(period)],
        "revenue": float(sum(revenue.values(), 0)),
        "new": counts.new,
        "renewed": counts.renewed,
        "failed": counts.failed,
        "cancelled": counts.cancelled,
        "lapsed": counts.lapsed,
        "paid_at_start": counts.paid_at_start,
        "paid_now": counts.paid_now,
        "churn_rate": rate(counts.lapsed_of_those, counts.paid_at_start),
    }


def _period_bounds():
    """The period's bounds as bind parameters: its first and last day, and the instants it starts and ends before."""
    return (
        bindparam("start", type_=Date),
        bindparam("end", type_=Date),
        bindparam("starts_at", type_=DateTime),
        bindparam("ends_before", type_=DateTime),
    )


@cache
def membership_revenue_query() -> Select:
    """Return the paid payments' amounts by the month they were paid, in the period (built once)."""
    _, _, starts_at, ends_before = _period_bounds()
    month = month_of(Payment.paid_at)
    return (
        select(month, func.sum(Payment.amount))
        .where(Payment.status == "paid", Payment.paid_at >= starts_at, Payment.paid_at < ends_before)
        .group_by(month)
    )


@cache
def membership_counts_query() -> Select:
    """Return the period's membership counts in one statement, built once: one round trip, not eight."""
    start, end, starts_at, ends_before = _period_bounds()

    def count(model, *conditions):
        return select(func.count()).select_from(model).where(*conditions).scalar_subquery()

    earlier_membership = aliased(Membership)
    new = count(
        Membership,
        Membership.start_date >= start,
        Membership.start_date <= end,
        ~exists().where(
            earlier_membership.contact_id == Membership.contact_id,
            earlier_membership.start_date < Membership.start_date,
        ),
    )
    # A renewal is a paid payment with an earlier paid one of the same owner: one probe each in ix_payments_user_paid.
    earlier_payment = aliased(Payment)
    renewed = count(
        Payment,
        Payment.status == "paid",
        Payment.paid_at >= starts_at,
        Payment.paid_at < ends_before,
        exists().where(
            earlier_payment.user_id == Payment.user_id,
            earlier_payment.status == "paid",
            earlier_payment.paid_at < Payment.paid_at,
        ),
    )
    failed = count(
        Payment, Payment.status == "failed", Payment.created_at >= starts_at, Payment.created_at < ends_before
    )
    cancelled = count(Membership, Membership.cancelled_date >= start, Membership.cancelled_date <= end)
    ended = func.coalesce(Membership.cancelled_date, Membership.end_date)
    lapsed_status = Membership.status.in_(("expired", "cancelled"))
    lapsed = count(Membership, lapsed_status, ended >= start, ended <= end)
    paid_now = count(Membership, Membership.status.in_(PAID_STATUSES))
    # The statement's own rows are the memberships paid at the start of the period; the rest are subqueries.
    return select(
        new.label("new"),
        renewed.label("renewed"),
        failed.label("failed"),
        cancelled.label("cancelled"),
        lapsed.label("lapsed"),
        paid_now.label("paid_now"),
        func.count().label("paid_at_start"),
        count_if(lapsed_status & (ended <= end)).label("lapsed_of_those"),
    ).where(
        Membership.start_date < start,
        Membership.end_date >= start,
        Membership.cancelled_date.is_(None) | (Membership.cancelled_date >= start),
    )


# --- Segments -----------------------------------------------------------------------------------------


def segment_figures(period: Period, last_run: datetime | None) -> list[dict[str, Any]]:
    """Contacts in each segment now, and how many joined and left in the period and at the last run.

    Read from the runs' own counts (crm_segment_runs, a row per segment for each run that changed any), so
    a period costs a few hundred rows at most, however many contacts the segments hold.
    """
    r = SegmentRun
    latest = select(func.max(r.run_at)).scalar_subquery()
    now = dict(db.session.execute(select(r.segment, r.members).where(r.run_at == latest)).all())
    moved = {
        segment: (added, removed)
        for segment, added, removed in db.session.execute(
            select(r.segment, _sum(r.added), _sum(r.removed)).where(period.contains(r.run_at)).group_by(r.segment)
        )
    }
    at_last_run = {}
    if last_run is not None:
        at_last_run = {
            segment: (added, removed)
            for segment, added, removed in db.session.execute(
                select(r.segment, r.added, r.removed).where(r.run_at == last_run)
            )
        }
    rows = []
    for name in SEGMENTS:
        joined, left = moved.get(name, (0, 0))
        joined_last_run, left_last_run = at_last_run.get(name, (0, 0))
        rows.append(
            {
                "segment": name,
                "contacts": now.get(name, 0),
                "joined": joined,
                "left": left,
                "joined_last_run": joined_last_run,
                "left_last_run": left_last_run,
            }
        )
    return rows


def listings(properties: Select, period: Period, *where) -> list[dict[str, Any]]:
    """Views, enquiries, bookings and booking value per listing; enquiries received within the period."""
    counts = {
        pid: (n, b, v)
        for pid, n, b, v in db.session.execute(
            select(E.property_id, func.count(), count_if(BOOKED), BOOKING_VALUE)
            .where(*_in(period, where))
            .group_by(E.property_id)
        )
    }
    rows = []
    for p in db.session.scalars(properties.order_by(None).order_by(CrmProperty.title, CrmProperty.id)):
        n, b, v = counts.get(p.id, (0, 0, 0))
        rows.append(
            {
                "property_id": p.id,
                "title": p.title,
                "status": p.listing_status,
                "views": p.view_count,
                "enquiries": n,
                "bookings": b,
                "value": float(v or 0),
                "conversion_rate": rate(b, n),
            }
        )
    return rows
