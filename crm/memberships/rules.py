"""What a membership means: the plans, which statuses count as paid, and how many live listings a tier allows.

Every count of "active memberships" and every listing gate reads these definitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, case, or_, select

from .. import settings
from ..extensions import db
from ..fields import LAST_DATE
from ..models import Membership

# A paid membership: one an owner has paid for and that has not run out.
PAID_STATUSES = ("active", "expiring_soon")
# A suspended membership (payments failing) keeps its listings live for this long.
GRACE = timedelta(days=14)
LISTING_LIMITS = "listing_limits"
DEFAULT_LIMITS = {"bronze": 1, "silver": 3, "gold": 10}


@dataclass(frozen=True)
class Plan:
    tier: str
    annual: Decimal
    monthly: Decimal
    perks: tuple[str, ...]

    def price(self, billing_cycle: str) -> Decimal:
        return self.annual if billing_cycle == "annual" else self.monthly


PLANS = {
    "bronze": Plan(
        "bronze",
        Decimal("99.00"),
        Decimal("9.99"),
        ("A bronze badge on your listing", "Enquiries straight to your inbox"),
    ),
    "silver": Plan(
        "silver",
        Decimal("199.00"),
        Decimal("19.99"),
        ("A silver badge on every listing", "Enquiries straight to your inbox", "Insights on views and enquiries"),
    ),
    "gold": Plan(
        "gold",
        Decimal("349.00"),
        Decimal("34.99"),
        (
            "A gold badge and top placement",
            "Enquiries straight to your inbox",
            "Insights on views and enquiries",
            "Priority help from our team",
        ),
    ),
}


def listing_limits() -> dict[str, int]:
    """Return how many live listings each tier allows (an admin setting)."""
    stored = settings.get(LISTING_LIMITS) or {}
    return {tier: int(stored.get(tier, default)) for tier, default in DEFAULT_LIMITS.items()}


def is_active_status():
    """Return the SQL condition for an active (paid) membership: the stat cards count these."""
    return Membership.status.in_(PAID_STATUSES)


def paid_condition(now: datetime):
    """Return the SQL condition for a membership that keeps listings live: paid, or suspended within the grace."""
    return or_(
        Membership.status.in_(PAID_STATUSES),
        and_(Membership.status == "suspended", Membership.suspended_at >= now - GRACE),
    )


def is_paid(membership: Membership | None, now: datetime) -> bool:
    """Tell whether this membership keeps its owner's listings live."""
    if membership is None:
        return False
    if membership.status in PAID_STATUSES:
        return True
    return (
        membership.status == "suspended"
        and membership.suspended_at is not None
        and membership.suspended_at >= now - GRACE
    )


def current_membership(contact_id: int, now: datetime) -> Membership | None:
    """Return the owner's membership that counts: the paid one with the highest allowance, else the latest."""
    tier_rank = case({"gold": 3, "silver": 2, "bronze": 1}, value=Membership.plan_tier)
    return db.session.scalar(
        select(Membership)
        .where(Membership.contact_id == contact_id)
        .order_by(
            case((paid_condition(now), 0), else_=1), tier_rank.desc(), Membership.end_date.desc(), Membership.id.desc()
        )
        .limit(1)
    )


def allowance(membership: Membership | None, now: datetime) -> int:
    """Return how many live listings this membership allows right now (0 unless paid)."""
    if not is_paid(membership, now):
        return 0
    return listing_limits()[membership.plan_tier]


def ends_at(membership: Membership) -> datetime:
    """Return the end of a membership's last day, the moment its listings' tier expires.

    An end stored beyond LAST_DATE (before the API checked dates) counts as LAST_DATE: the day after
    9999-12-31 is no date at all.
    """
    return datetime.combine(min(membership.end_date, LAST_DATE), datetime.min.time()) + timedelta(days=1)


def period_end(start: date, billing_cycle: str) -> date:
    """Return when a period bought on `start` ends, for a manual grant or before Stripe has told us."""
    if billing_cycle == "monthly":
        month = start.month % 12 + 1
        year = start.year + (start.month == 12)
        day = min(start.day, 28)
        return date(year, month, day)
    try:
        return start.replace(year=start.year + 1)
    except ValueError:  # 29 February
        return start.replace(year=start.year + 1, day=28)
