"""Demo listings: properties on the platform and their CRM copies, with their approval history."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from ..models import ActivityLog, CrmProperty, Property
from .words import FEATURES, GOOD_FOR, LISTING_WEIGHTS, NAME_WORDS, NEARBY, REGIONS, REJECTION_REASONS
from .writer import Writer, money, weighted


class Listings(Writer):
    """Properties, both sides."""

    def properties(self) -> None:
        scale, rng = self.scale, self.rng
        n_props = scale.properties
        statuses = weighted(rng, LISTING_WEIGHTS, n_props)
        # The demo owner has a handful of listings, most of them live, so their dashboard has life in it;
        # then every other owner gets one listing before anyone gets a second.
        demo_owner, others = self.owners[0], self.owners[1:] or self.owners
        demo_statuses = ["live", "live", "live", "paused", "draft"][: max(1, n_props - len(LISTING_WEIGHTS))]
        owner_of = [demo_owner] * len(demo_statuses)
        owner_of += others[: n_props - len(owner_of)]
        owner_of += [rng.choice(others) for _ in range(n_props - len(owner_of))]
        statuses[: len(demo_statuses)] = demo_statuses
        for k, status in enumerate(LISTING_WEIGHTS):  # every listing status, whatever the scale
            statuses[n_props - 1 - k] = status

        platform, crm, activity = [], [], []
        self.listings = []  # (published_at, property id) for listings that take enquiries
        self.prop_owner_user = {}
        self.prop_status: dict[int, str] = {}
        self.prop_info = {}
        for i in range(n_props):
            pid = i + 1
            user_id, contact_id = owner_of[i][0], owner_of[i][1]
            status = statuses[i]
            region, places, kinds, factor = rng.choice(REGIONS)
            kind = rng.choice(kinds)
            title = f"The Old {kind}" if rng.random() < 0.2 else f"{rng.choice(NAME_WORDS)} {kind}"
            location = rng.choice(places)
            bedrooms = rng.choices(range(1, 13), weights=[3, 8, 12, 14, 12, 10, 8, 6, 4, 3, 2, 2])[0]
            bathrooms = max(1, min(bedrooms, bedrooms // 2 + rng.randint(0, 2)))
            max_guests = bedrooms * 2 + rng.randint(0, 4)
            price = money((60 + bedrooms * 45 + rng.randint(0, 60)) * factor / 5) * 5
            features = rng.sample(FEATURES, 3)
            description = (
                f"A {kind.lower()} in {location.split(',')[0]} sleeping {max_guests} in {bedrooms} "
                f"bedroom{'s' if bedrooms > 1 else ''}, with {features[0]}, {features[1]} "
                f"and {features[2]}. "
                f"In the heart of the {region}: {rng.choice(NEARBY)}. "
                f"Ideal for {rng.choice(GOOD_FOR)}."
            )
            owner_since = self.owner_created[user_id]
            if status in ("live", "paused"):
                created = self.when(max(owner_since, self.now - timedelta(days=760)), self.now - timedelta(days=20))
                published = created + timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 23))
                self.listings.append((published, pid))
            else:
                created = self.when(max(owner_since, self.now - timedelta(days=90)), self.now - timedelta(hours=2))
                published = None
            updated = max(created, published or created)
            if status == "paused":
                updated = self.when(published, self.now)
            rejection = rng.choice(REJECTION_REASONS) if status == "rejected" else None
            views = rng.randint(40, 4000) if published else rng.randint(0, 20)
            platform.append(
                dict(
                    id=pid,
                    owner_id=user_id,
                    title=title,
                    location=location,
                    description=description,
                    bedrooms=bedrooms,
                    bathrooms=bathrooms,
                    max_guests=max_guests,
                    price_per_night=price,
                    status=status,
                    rejection_reason=rejection,
                    view_count=views,
                    created_at=created,
                    updated_at=updated,
                    published_at=published,
                )
            )
            crm.append(
                dict(
                    id=pid,
                    owner_id=contact_id,
                    property_id=pid,
                    title=title,
                    location=location,
                    bedrooms=bedrooms,
                    bathrooms=bathrooms,
                    max_guests=max_guests,
                    price_per_night=price,
                    listing_status=status,
                    membership_tier=None,
                    view_count=views,
                    enquiry_count=0,
                    booking_count=0,
                    total_revenue=Decimal("0.00"),
                    created_at=created,
                    updated_at=updated,
                    published_at=published,
                    expires_at=None,
                    internal_notes=rng.choice(
                        [
                            None,
                            None,
                            None,
                            "Owner prefers phone calls.",
                            "Check the septic tank note before approving changes.",
                        ]
                    ),
                    rejection_reason=rejection,
                )
            )
            self.prop_owner_user[pid] = user_id
            self.prop_status[pid] = status
            self.prop_info[pid] = (title, max_guests, price, contact_id)
            first_status = "draft" if status == "draft" else "pending_approval"
            activity.append(
                self.activity_row(
                    "property",
                    pid,
                    "created",
                    created,
                    {"listing_status": {"before": None, "after": first_status}},
                    actor=user_id,
                )
            )
            if status in ("live", "paused", "rejected"):
                decided = published or created + timedelta(days=rng.randint(1, 5))
                after = "rejected" if status == "rejected" else "live"
                changed = {"listing_status": {"before": "pending_approval", "after": after}}
                if published:
                    changed["published_at"] = {"before": None, "after": published.isoformat()}
                activity.append(
                    self.activity_row(
                        "property", pid, "status_changed", decided, changed, actor=self.admin_id, reason=rejection
                    )
                )
            if status == "paused":
                activity.append(
                    self.activity_row(
                        "property",
                        pid,
                        "status_changed",
                        updated,
                        {"listing_status": {"before": "live", "after": "paused"}},
                        actor=user_id,
                    )
                )
        self.listings.sort()
        self.listing_times = [published for published, _ in self.listings]
        self.insert(Property, platform)
        self.insert(CrmProperty, crm)
        self.insert(ActivityLog, activity)
        self.done("properties (platform + CRM)", len(platform))
