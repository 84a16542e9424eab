"""Demo people: the admin, owners and their contacts, guests, and the segments they fall into."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from ..auth import hash_password
from ..engagement import rebuild_segment_runs
from ..extensions import db
from ..models import ActivityLog, Contact, Segment, User
from .writer import Writer

ADMIN_EMAIL, ADMIN_PASSWORD = "admin@example.com", "demo-admin-pass"
OWNER_EMAIL, OWNER_PASSWORD = "owner@example.com", "demo-owner-pass"


class People(Writer):
    """Users, owner and guest contacts, and segments."""

    def users(self) -> None:
        scale, rng = self.scale, self.rng
        owner_hash = hash_password(OWNER_PASSWORD)  # one hash for every owner: Argon2 is slow on purpose
        self.admin_id = 1
        rows = [
            dict(
                id=1,
                email=ADMIN_EMAIL,
                password_hash=hash_password(ADMIN_PASSWORD),
                role="admin",
                first_name="Priya",
                last_name="Shah",
                phone=None,
                business_name=None,
                created_at=self.now - timedelta(days=800),
            )
        ]
        self.owners = []  # (user id, contact id, e-mail, first, last, business, phone)
        for n in range(scale.owners):
            if n == 0:
                first, last, email = "Olivia", "Pennington", OWNER_EMAIL
            else:
                first, last, email = self.person(n)
            business = rng.choice([f"{last} Holiday Lets", rng.choice(self.companies), None, None])
            phone = rng.choice(self.phones)
            user_id = n + 2
            self.owners.append((user_id, n + 1, email, first, last, business, phone))
            rows.append(
                dict(
                    id=user_id,
                    email=email,
                    password_hash=owner_hash,
                    role="owner",
                    first_name=first,
                    last_name=last,
                    phone=phone,
                    business_name=business,
                    created_at=self.now - timedelta(days=rng.randint(400, 790), minutes=rng.randrange(1440)),
                )
            )
        self.owner_created = {row["id"]: row["created_at"] for row in rows}
        self.user_email = {row["id"]: row["email"] for row in rows}
        self.insert(User, rows)
        self.done("users (admin + owners)", len(rows))

    def owner_contacts(self) -> None:
        rng = self.rng
        contacts, activity = [], []
        for user_id, contact_id, email, first, last, business, phone in self.owners:
            created = self.owner_created[user_id]
            contacts.append(
                dict(
                    id=contact_id,
                    type="owner",
                    first_name=first,
                    last_name=last,
                    email=email,
                    phone=phone,
                    address=rng.choice(self.streets),
                    city=rng.choice(self.cities),
                    postcode=rng.choice(self.postcodes),
                    country="GB",
                    business_name=business,
                    tax_id=f"GB{rng.randrange(10**8, 10**9)}" if business else None,
                    bank_details=f"Sort code {rng.randint(10, 99)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}, "
                    f"account ending {rng.randint(1000, 9999)}",
                    company_name=None,
                    event_type=None,
                    status="active",
                    notes=None,
                    created_at=created,
                    updated_at=created,
                    last_contacted_at=None,
                    user_id=user_id,
                )
            )
            activity.append(
                self.activity_row(
                    "contact",
                    contact_id,
                    "created",
                    created,
                    {"type": {"before": None, "after": "owner"}},
                    reason="Owner signed up",
                )
            )
        self.insert(Contact, contacts)
        self.insert(ActivityLog, activity)
        self.done("owner contacts", len(contacts))

    def guest_contacts(self) -> None:
        rng = self.rng
        self.guest_base = len(self.owners)  # guest g has contact id guest_base + g + 1
        self.guests = []  # (name, e-mail, phone)
        rows, activity = [], []
        for g in range(self.scale.guests):
            contact_id = self.guest_base + g + 1
            first, last, email = self.person(100_000 + g)
            phone = rng.choice(self.phones) if rng.random() < 0.8 else None
            created = self.guest_first_seen.get(g) or self.when(self.now - timedelta(days=365), self.now)
            self.guests.append((f"{first} {last}", email, phone))
            rows.append(
                dict(
                    id=contact_id,
                    type="guest",
                    first_name=first,
                    last_name=last,
                    email=email,
                    phone=phone,
                    address=None,
                    city=rng.choice(self.cities) if rng.random() < 0.3 else None,
                    postcode=None,
                    country="GB",
                    business_name=None,
                    tax_id=None,
                    bank_details=None,
                    company_name=rng.choice(self.companies) if rng.random() < 0.08 else None,
                    event_type=None,
                    status=rng.choices(["active", "inactive", "blocked"], weights=[95, 4, 1])[0],
                    notes=None,
                    created_at=created,
                    updated_at=created,
                    last_contacted_at=None,
                    user_id=None,
                )
            )
            activity.append(
                self.activity_row(
                    "contact",
                    contact_id,
                    "created",
                    created,
                    {"type": {"before": None, "after": "guest"}},
                    reason="First enquiry received",
                )
            )
        self.insert(Contact, rows)
        self.insert(ActivityLog, activity)
        self.done("guest contacts", len(rows))

    def segments(self) -> None:
        """Put some contacts in segments, with a little history of ones that left."""
        rng, limit = self.rng, self.scale.segments
        rows = []
        big_spenders = sorted(self.guest_revenue.items(), key=lambda item: item[1], reverse=True)
        for g, revenue in big_spenders[: limit // 2]:
            rows.append(
                self.segment_row(
                    self.guest_base + g + 1, "high_value", revenue, rng.randint(60, 100), "Booked more than most guests"
                )
            )
        lapsed = [
            g
            for g, seen in self.guest_first_seen.items()
            if seen < self.now - timedelta(days=200) and g not in self.guest_revenue
        ]
        for g in lapsed[: limit // 4]:
            rows.append(
                self.segment_row(
                    self.guest_base + g + 1, "inactive", Decimal("0"), rng.randint(0, 20), "No enquiry for six months"
                )
            )
        for owner in self.owners[: limit // 4]:
            segment = rng.choice(["premium", "at_risk", "churning"])
            rows.append(
                self.segment_row(
                    owner[1],
                    segment,
                    Decimal(rng.randint(0, 800)),
                    rng.randint(10, 95),
                    {"premium": "Gold member", "at_risk": "Payment failed", "churning": "Membership lapsing"}[segment],
                )
            )
        for row in rows[::5]:  # some left their segment, and the history is kept
            row["removed_at"] = min(self.now, row["added_at"] + timedelta(days=rng.randint(5, 60)))
        self.insert(Segment, rows)
        self.done("segments", len(rows))
        # The segments were written here, not by runs of the segment job: their history stands for the runs.
        self.done("segment runs", rebuild_segment_runs(db.session.connection()))

    def segment_row(self, contact_id: int, segment: str, value: Decimal, score: int, reason: str) -> dict:
        return dict(
            contact_id=contact_id,
            segment=segment,
            lifetime_value=value,
            engagement_score=score,
            added_at=self.now - timedelta(days=self.rng.randint(1, 120)),
            removed_at=None,
            reason=reason,
        )
