"""Demo memberships: owners' plans in every status, tiering their listings."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, update

from ..extensions import db
from ..models import ActivityLog, CrmProperty, Membership
from .words import MEMBERSHIP_WEIGHTS, MONTHLY_PRICES, PRICES
from .writer import Writer, stripe_id, weighted


class Memberships(Writer):
    """Memberships and the tier they give listings."""

    def memberships(self) -> None:
        rng, today = self.rng, self.today
        members = [owner for k, owner in enumerate(self.owners) if k == 0 or rng.random() < 0.7]
        statuses = weighted(rng, MEMBERSHIP_WEIGHTS, len(members))
        statuses[0] = "active"  # the demo owner
        for k, status in enumerate(MEMBERSHIP_WEIGHTS):
            if len(members) > k + 1:
                statuses[k + 1] = status
        rows, activity, tiered = [], [], []
        for n, (owner, status) in enumerate(zip(members, statuses), start=1):
            contact_id = owner[1]
            tier = "gold" if n == 1 else rng.choices(["bronze", "silver", "gold"], weights=[45, 35, 20])[0]
            cycle = "annual" if rng.random() < 0.8 else "monthly"
            price = PRICES[tier] if cycle == "annual" else MONTHLY_PRICES[tier]
            if status == "expiring_soon":
                end = today + timedelta(days=rng.randint(1, 30))
            elif status == "expired":
                end = today - timedelta(days=rng.randint(1, 200))
            else:
                end = today + timedelta(days=rng.randint(35, 364))
            start = end - timedelta(days=365)
            last_payment = start if cycle == "annual" else max(start, today - timedelta(days=rng.randint(0, 29)))
            next_payment = end if cycle == "annual" else last_payment + timedelta(days=30)
            cancelled = None
            auto_renew = status not in ("cancelled", "expired")
            if status == "cancelled":
                cancelled = start + timedelta(days=rng.randint(10, max(11, (today - start).days)))
                next_payment = None
            failures = rng.randint(1, 3) if status == "suspended" else 0
            created = datetime.combine(start, datetime.min.time()) + timedelta(hours=rng.randint(8, 20))
            rows.append(dict(
                id=n, contact_id=contact_id, plan_tier=tier, plan_price=price, billing_cycle=cycle, start_date=start,
                end_date=end, renewal_date=end, cancelled_date=cancelled, status=status,
                stripe_customer_id=stripe_id(rng, "cus_", 14), stripe_subscription_id=stripe_id(rng, "sub_1", 23),
                last_payment_date=last_payment, last_payment_amount=price, next_payment_date=next_payment,
                auto_renew=auto_renew, payment_failure_count=failures, created_at=created,
                updated_at=max(created, self.now - timedelta(days=rng.randint(0, 30))),
                notes="Card declined twice; owner asked to update it." if status == "suspended" else None))
            activity.append(self.activity_row("membership", n, "created", created,
                                              {"status": {"before": None, "after": "active"}},
                                              reason="Membership bought through Stripe"))
            if status != "active":
                changed_at = min(self.now, created + timedelta(days=300))
                activity.append(self.activity_row("membership", n, "status_changed", changed_at,
                                                  {"status": {"before": "active", "after": status}}))
            if status in ("active", "expiring_soon"):
                tiered.append({"b_owner": contact_id, "tier": tier})
        self.insert(Membership, rows)
        self.insert(ActivityLog, activity)
        table = CrmProperty.__table__
        if tiered:
            db.session.execute(update(table).where(table.c.owner_id == bindparam("b_owner"))
                               .values(membership_tier=bindparam("tier")), tiered)
        self.done("memberships", len(rows))
