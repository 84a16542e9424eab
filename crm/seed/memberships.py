"""Demo memberships, consistent with what a tier means: every owner with live listings pays for a tier that
allows them; some lapsed owners have listings paused for it; paid Stripe memberships have their payments."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import bindparam, update

from ..extensions import db
from ..memberships.rules import DEFAULT_LIMITS, GRACE, PAID_STATUSES
from ..memberships.tier import LAPSED, OVER_LIMIT
from ..models import ActivityLog, CrmProperty, Membership, Payment, Property
from .words import MEMBERSHIP_WEIGHTS, MONTHLY_PRICES, PRICES
from .writer import Writer, stripe_id, weighted

LAPSED_STATUSES = ("expired", "cancelled")
# Earlier years of membership, by membership number: three in five have renewed at least once.
RENEWALS = (0, 1, 2, 0, 1)
TIER_ORDER = ("bronze", "silver", "gold")


class Memberships(Writer):
    """Memberships, their payments, and the tier (or the pause) they give listings."""

    def memberships(self) -> None:
        rng, today = self.rng, self.today
        live_of: dict[int, list[int]] = defaultdict(list)  # owner user id -> live listing ids, oldest first
        for pid, status in self.prop_status.items():
            if status == "live":
                live_of[self.prop_owner_user[pid]].append(pid)
        members = [owner for k, owner in enumerate(self.owners) if k == 0 or owner[0] in live_of or rng.random() < 0.7]
        statuses = weighted(rng, MEMBERSHIP_WEIGHTS, len(members))
        statuses[0] = "active"  # the demo owner
        for k, status in enumerate(MEMBERSHIP_WEIGHTS):
            if len(members) > k + 1:
                statuses[k + 1] = status
        rows, activity, payments, tiered, paused = [], [], [], [], []
        for n, (owner, status) in enumerate(zip(members, statuses, strict=True), start=1):
            user_id, contact_id = owner[0], owner[1]
            live = live_of.get(user_id, [])
            tier = "gold" if n == 1 else rng.choices(TIER_ORDER, weights=[45, 35, 20])[0]
            if status not in LAPSED_STATUSES:
                # A paying owner's tier allows their live listings (up to gold's limit; the rest are paused).
                tier = next((t for t in TIER_ORDER[TIER_ORDER.index(tier) :] if DEFAULT_LIMITS[t] >= len(live)), "gold")
            cycle = "annual" if rng.random() < 0.8 else "monthly"
            manual = n > 1 and rng.random() < 0.05
            price = PRICES[tier] if cycle == "annual" else MONTHLY_PRICES[tier]
            if status == "expiring_soon":
                end = today + timedelta(days=rng.randint(1, 30))
            elif status == "expired":
                end = today - timedelta(days=rng.randint(1, 200))
            else:
                end = today + timedelta(days=rng.randint(35, 364))
            # Most members have renewed before: a year or two of earlier payments behind this year's (a fixed
            # share by membership number, not a draw).
            renewals = 0 if status == "cancelled" else RENEWALS[n % len(RENEWALS)]
            start = end - timedelta(days=365 * (1 + renewals))
            this_year = end - timedelta(days=365)
            last_payment = this_year if cycle == "annual" else max(start, today - timedelta(days=rng.randint(0, 29)))
            next_payment = end if cycle == "annual" else last_payment + timedelta(days=30)
            cancelled = None
            auto_renew = status not in ("cancelled", "expired") and not manual
            if status == "cancelled":
                cancelled = start + timedelta(days=rng.randint(10, max(11, (today - start).days)))
                next_payment = None
            failures = rng.randint(1, 3) if status == "suspended" else 0
            # Suspended within the grace, so their listings are still live.
            suspended_at = self.now - timedelta(days=rng.randint(1, GRACE.days - 1)) if status == "suspended" else None
            created = datetime.combine(start, datetime.min.time()) + timedelta(hours=rng.randint(8, 20))
            customer = None if manual else stripe_id(rng, "cus_", 14)
            subscription = None if manual else stripe_id(rng, "sub_1", 23)
            rows.append(
                dict(
                    id=n,
                    contact_id=contact_id,
                    plan_tier=tier,
                    plan_price=Decimal("0.00") if manual else price,
                    billing_cycle=cycle,
                    start_date=start,
                    end_date=end,
                    renewal_date=end,
                    cancelled_date=cancelled,
                    status=status,
                    stripe_customer_id=customer,
                    stripe_subscription_id=subscription,
                    last_payment_date=None if manual else last_payment,
                    last_payment_amount=None if manual else price,
                    next_payment_date=None if manual else next_payment,
                    auto_renew=auto_renew,
                    payment_failure_count=failures,
                    created_at=created,
                    updated_at=max(created, self.now - timedelta(days=rng.randint(0, 30))),
                    notes="Card declined; owner asked to update it."
                    if status == "suspended"
                    else ("Granted by hand: founding member." if manual else None),
                    source="manual" if manual else "stripe",
                    stripe_event_at=None,
                    suspended_at=suspended_at,
                )
            )
            activity.append(
                self.activity_row(
                    "membership",
                    n,
                    "created",
                    created,
                    {"status": {"before": None, "after": "active"}},
                    reason="Granted by hand" if manual else "Membership bought through Stripe",
                )
            )
            if status != "active":
                changed_at = min(self.now, datetime.combine(this_year, created.time()) + timedelta(days=300))
                activity.append(
                    self.activity_row(
                        "membership", n, "status_changed", changed_at, {"status": {"before": "active", "after": status}}
                    )
                )
            if not manual:
                payments.extend(
                    self.payment_rows(
                        user_id, tier, price, cycle, start, last_payment, customer, subscription, failures
                    )
                )
            if status in PAID_STATUSES or status == "suspended":
                tiered.append(
                    {
                        "b_owner": contact_id,
                        "tier": tier,
                        "expires": datetime.combine(end, datetime.min.time()) + timedelta(days=1),
                    }
                )
                limit = DEFAULT_LIMITS[tier]
                reason = OVER_LIMIT.format(tier=tier, limit=limit, s="s" if limit != 1 else "")
                paused.extend((pid, reason, user_id) for pid in live[limit:])
            else:
                paused.extend((pid, LAPSED, user_id) for pid in live)
        self.insert(Membership, rows)
        self.insert(Payment, payments)
        table = CrmProperty.__table__
        if tiered:
            db.session.execute(
                update(table)
                .where(table.c.owner_id == bindparam("b_owner"))
                .values(
                    membership_tier=bindparam("tier"), expires_at=bindparam("expires"), updated_at=table.c.updated_at
                ),
                tiered,
            )
        self.pause_for_membership(paused, activity)
        self.insert(ActivityLog, activity)
        self.done(f"memberships ({len(paused)} listings paused)", len(rows))

    def payment_rows(
        self,
        user_id: int,
        tier: str,
        price,
        cycle: str,
        start,
        last_payment,
        customer: str,
        subscription: str,
        failures: int,
    ) -> list[dict]:
        """Return a Stripe membership's payments: the first, each renewal (yearly, or monthly plans' every
        month) up to the last payment, and any failed tries."""
        rng, rows = self.rng, []
        paid_on = [start]
        step = timedelta(days=30 if cycle == "monthly" else 365)
        while paid_on[-1] + step <= last_payment:
            paid_on.append(paid_on[-1] + step)
        for k, day in enumerate(paid_on):
            at = datetime.combine(day, datetime.min.time()) + timedelta(hours=rng.randint(8, 20))
            rows.append(
                dict(
                    user_id=user_id,
                    plan_tier=tier,
                    amount=price,
                    currency="gbp",
                    status="paid",
                    stripe_checkout_session_id=stripe_id(rng, "cs_live_", 24) if k == 0 else None,
                    stripe_customer_id=customer,
                    stripe_subscription_id=subscription,
                    stripe_invoice_id=stripe_id(rng, "in_1", 23),
                    billing_reason="subscription_create" if k == 0 else "subscription_cycle",
                    created_at=at,
                    paid_at=at,
                )
            )
        for k in range(failures):
            at = self.now - timedelta(days=failures - k, hours=rng.randint(0, 12))
            rows.append(
                dict(
                    user_id=user_id,
                    plan_tier=tier,
                    amount=price,
                    currency="gbp",
                    status="failed",
                    stripe_checkout_session_id=None,
                    stripe_customer_id=customer,
                    stripe_subscription_id=subscription,
                    stripe_invoice_id=stripe_id(rng, "in_1", 23),
                    billing_reason="subscription_cycle",
                    created_at=at,
                    paid_at=None,
                )
            )
        return rows

    def pause_for_membership(self, paused: list[tuple[int, str, int]], activity: list[dict]) -> None:
        """Pause live listings their owner's membership does not cover, with the reason the owner sees."""
        if not paused:
            return
        rows = [{"b_id": pid, "reason": reason} for pid, reason, _ in paused]
        properties, crm = Property.__table__, CrmProperty.__table__
        db.session.execute(
            update(properties)
            .where(properties.c.id == bindparam("b_id"))
            .values(status="paused", paused_reason=bindparam("reason"), updated_at=properties.c.updated_at),
            rows,
        )
        db.session.execute(
            update(crm)
            .where(crm.c.property_id == bindparam("b_id"))
            .values(listing_status="paused", updated_at=crm.c.updated_at),
            rows,
        )
        for pid, reason, _ in paused:
            self.prop_status[pid] = "paused"
            activity.append(
                self.activity_row(
                    "property",
                    pid,
                    "status_changed",
                    self.now,
                    {"listing_status": {"before": "live", "after": "paused"}},
                    reason=reason[:500],
                )
            )
