"""Typed models for the platform tables and the CRM (crm_*) tables."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    literal_column,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db


def utcnow() -> datetime:
    """Return the current UTC time as a naive datetime, the form every column stores."""
    return datetime.now(UTC).replace(tzinfo=None)


def choice(name: str, values: tuple[str, ...]) -> Enum:
    """Return a string column type whose values the database itself enforces."""
    return Enum(
        *values,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(v) for v in values),
        validate_strings=True,
    )


Money = Numeric(12, 2)

ROLES = ("admin", "owner")
LISTING_STATUSES = ("draft", "pending_approval", "live", "paused", "rejected")
EVENT_TYPES = ("birthday", "wedding", "corporate", "hen_stag", "family", "other")
CONTACT_TYPES = ("owner", "guest")
CONTACT_STATUSES = ("active", "inactive", "blocked")
TIERS = ("bronze", "silver", "gold")
ENQUIRY_STATUSES = ("new", "contacted", "negotiating", "booked", "lost", "spam")
# The funnel's stages in order; an enquiry's furthest_stage is the rank of the furthest one it reached.
FUNNEL_STAGES = ("new", "contacted", "negotiating", "booked")
STAGE_RANK = {stage: rank for rank, stage in enumerate(FUNNEL_STAGES)}
PRIORITIES = ("low", "medium", "high")
ENQUIRY_SOURCES = ("form", "email", "phone", "website")
BILLING_CYCLES = ("annual", "monthly")
MEMBERSHIP_STATUSES = ("active", "expiring_soon", "expired", "cancelled", "suspended")
INTERACTION_TYPES = ("email", "phone", "message", "note", "status_change")
DIRECTIONS = ("inbound", "outbound", "internal")
INITIATORS = ("contact", "owner", "admin", "system")
ENTITY_TYPES = ("contact", "property", "enquiry", "membership", "setting")  # setting: an admin changed a setting
ACTIONS = ("created", "updated", "deleted", "status_changed")
SEGMENTS = ("high_value", "churning", "at_risk", "premium", "inactive")
SYNC_STATUSES = ("pending", "done")
EMAIL_STATUSES = ("pending", "sent")
ACCOUNT_TOKEN_PURPOSES = ("password_reset", "admin_invite")
THROTTLE_KINDS = ("sign_in_account", "sign_in_address", "password_reset_email")
FIT_FLAGS = ("over_capacity", "date_booked", "budget_below_price", "short_notice")
MEMBERSHIP_SOURCES = ("stripe", "manual")


# --- Platform -----------------------------------------------------------------------


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(choice("user_role", ROLES), index=True)
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    phone: Mapped[str | None] = mapped_column(String(32))
    business_name: Mapped[str | None] = mapped_column(String(160))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime)
    # A deactivated account cannot sign in and its sessions have ended.
    deactivated_at: Mapped[datetime | None] = mapped_column(DateTime)

    properties: Mapped[list[Property]] = relationship(back_populates="owner")

    # Not a column: the token of the sign-in (UserSession) this object was loaded for. Flask-Login
    # keeps it, not the user id, in the session and any remember cookie (see crm.auth.sessions).
    session_token = None

    def get_session_token(self) -> str | None:
        return self.session_token

    @property
    def is_active(self) -> bool:
        return self.deactivated_at is None

    @property
    def has_password(self) -> bool:
        """Tell whether a password is set: an invited admin has none until they follow the link."""
        return bool(self.password_hash)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


# E-mail addresses are unique whatever their case.
Index("uq_users_email_lower", func.lower(User.email), unique=True)


class UserSession(db.Model):
    """One sign-in: the cookie carries its token, and it ends at sign-out, password change or deactivation."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # SHA-256 of the token: a copy of the database cannot be replayed as a cookie.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(400))

    user: Mapped[User] = relationship()


class AccountToken(db.Model):
    """A single-use e-mailed link: a password reset or an admin invitation."""

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(choice("account_token_purpose", ACCOUNT_TOKEN_PURPOSES))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class ThrottleEvent(db.Model):
    """One counted attempt (a failed sign-in, a reset e-mail), shared by every worker through the database."""

    __tablename__ = "throttle_events"
    __table_args__ = (Index("ix_throttle_events_kind_key_created", "kind", "key", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(choice("throttle_kind", THROTTLE_KINDS))
    # A SHA-256 of the e-mail address or IP address: what was typed is not kept.
    key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Property(db.Model):
    __tablename__ = "properties"
    __table_args__ = (
        CheckConstraint("bedrooms >= 0", name="bedrooms_not_negative"),
        CheckConstraint("bathrooms >= 0", name="bathrooms_not_negative"),
        CheckConstraint("max_guests >= 1", name="max_guests_positive"),
        CheckConstraint("price_per_night >= 0", name="price_not_negative"),
        Index("ix_properties_status_published", "status", "published_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(160))
    location: Mapped[str] = mapped_column(String(160), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    bedrooms: Mapped[int] = mapped_column(Integer, default=1)
    bathrooms: Mapped[int] = mapped_column(Integer, default=1)
    max_guests: Mapped[int] = mapped_column(Integer, default=2)
    price_per_night: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    status: Mapped[str] = mapped_column(choice("listing_status", LISTING_STATUSES), default="draft")
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    # Set when the platform paused a live listing because its owner's membership lapsed; such a
    # listing goes live again, without a new approval, when the owner pays.
    paused_reason: Mapped[str | None] = mapped_column(String(500))
    view_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(DateTime)

    owner: Mapped[User] = relationship(back_populates="properties")

    @property
    def is_live(self) -> bool:
        return self.status == "live"


class Enquiry(db.Model):
    """A guest's enquiry exactly as it was received."""

    __tablename__ = "enquiries"
    __table_args__ = (
        Index("ix_enquiries_dedupe", "property_id", "guest_email", "event_date", "created_at"),
        Index("ix_enquiries_ip_created", "ip_address", "created_at"),
        Index("ix_enquiries_email_created", "guest_email", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Empty only for enquiries an admin logged by hand about a property that is not on the platform.
    property_id: Mapped[int | None] = mapped_column(ForeignKey("properties.id", ondelete="SET NULL"))
    guest_name: Mapped[str] = mapped_column(String(120))
    guest_email: Mapped[str] = mapped_column(String(254))
    guest_phone: Mapped[str | None] = mapped_column(String(32))
    event_type: Mapped[str | None] = mapped_column(choice("event_type", EVENT_TYPES))
    event_date: Mapped[date | None] = mapped_column(Date)
    estimated_guests: Mapped[int | None] = mapped_column(Integer)
    estimated_budget: Mapped[Decimal | None] = mapped_column(Money)
    message: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(choice("enquiry_source", ENQUIRY_SOURCES), default="form")
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(400))
    spam_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    submission_count: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    property: Mapped[Property | None] = relationship()


class Payment(db.Model):
    """A Stripe payment for a membership, as Stripe reported it."""

    __tablename__ = "payments"
    __table_args__ = (
        # The reports' membership revenue and renewals: a period's paid payments from one index range.
        Index("ix_payments_status_paid", "status", "paid_at", "user_id", "amount"),
        # An owner's payments; with status and date, whether they paid before a payment is one probe (renewals).
        Index("ix_payments_user_paid", "user_id", "status", "paid_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Empty only while Stripe has told us of a payment for a subscription we cannot yet tie to an owner.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    plan_tier: Mapped[str] = mapped_column(choice("payment_tier", TIERS))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="gbp")
    status: Mapped[str] = mapped_column(
        choice("payment_status", ("pending", "paid", "failed", "refunded")), default="pending"
    )
    stripe_checkout_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), index=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(255), index=True)
    stripe_invoice_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    billing_reason: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime)


class StripeEvent(db.Model):
    """A Stripe webhook event already processed, so a replay does nothing."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(120))
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Setting(db.Model):
    """An admin setting, stored as JSON under a key."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


# --- CRM ------------------------------------------------------------------------------


class Contact(db.Model):
    __tablename__ = "crm_contacts"
    __table_args__ = (
        Index("ix_crm_contacts_type_created", "type", "created_at", "id"),
        Index("ix_crm_contacts_status_created", "status", "created_at", "id"),
        Index("ix_crm_contacts_created", "created_at", "id"),
        Index("ix_crm_contacts_last_name", "last_name", "first_name", "id"),
        Index("ix_crm_contacts_first_name", "first_name", "id"),
        Index("ix_crm_contacts_engagement", "engagement_score", "id"),
        Index("ix_crm_contacts_phone", "phone"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(choice("contact_type", CONTACT_TYPES))
    first_name: Mapped[str] = mapped_column(String(80), default="")
    last_name: Mapped[str] = mapped_column(String(80), default="")
    email: Mapped[str] = mapped_column(String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(255))
    city: Mapped[str | None] = mapped_column(String(120))
    postcode: Mapped[str | None] = mapped_column(String(16))
    country: Mapped[str | None] = mapped_column(String(2), default="GB")
    business_name: Mapped[str | None] = mapped_column(String(160))
    tax_id: Mapped[str | None] = mapped_column(String(40))
    bank_details: Mapped[str | None] = mapped_column(String(255))
    company_name: Mapped[str | None] = mapped_column(String(160))
    event_type: Mapped[str | None] = mapped_column(choice("contact_event_type", EVENT_TYPES))
    status: Mapped[str] = mapped_column(choice("contact_status", CONTACT_STATUSES), default="active")
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    last_contacted_at: Mapped[datetime | None] = mapped_column(DateTime)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), unique=True)
    # Written by the daily job: the score (None until first scored) and the points behind it, by factor.
    engagement_score: Mapped[int] = mapped_column(Integer, default=0)
    engagement_factors: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    user: Mapped[User | None] = relationship()

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email


# Name search is a prefix range on the lower-cased names.
Index("ix_crm_contacts_first_name_lower", func.lower(Contact.first_name))
Index("ix_crm_contacts_last_name_lower", func.lower(Contact.last_name))


class CrmProperty(db.Model):
    __tablename__ = "crm_properties"
    __table_args__ = (
        Index("ix_crm_properties_status_created", "listing_status", "created_at", "id"),
        Index("ix_crm_properties_owner_created", "owner_id", "created_at", "id"),
        Index("ix_crm_properties_created", "created_at", "id"),
        Index("ix_crm_properties_tier", "membership_tier", "id"),
        # The properties list's sorts and the moderation queue (oldest change first) read in index order.
        Index("ix_crm_properties_title", "title", "id"),
        Index("ix_crm_properties_enquiries", "enquiry_count", "id"),
        Index("ix_crm_properties_revenue", "total_revenue", "id"),
        Index("ix_crm_properties_status_updated", "listing_status", "updated_at", "id"),
        CheckConstraint("max_guests >= 1", name="max_guests_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("crm_contacts.id", ondelete="CASCADE"))
    property_id: Mapped[int | None] = mapped_column(ForeignKey("properties.id", ondelete="SET NULL"), unique=True)
    title: Mapped[str] = mapped_column(String(160))
    location: Mapped[str] = mapped_column(String(160), default="")
    bedrooms: Mapped[int] = mapped_column(Integer, default=1)
    bathrooms: Mapped[int] = mapped_column(Integer, default=1)
    max_guests: Mapped[int] = mapped_column(Integer, default=2)
    price_per_night: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    listing_status: Mapped[str] = mapped_column(choice("crm_listing_status", LISTING_STATUSES), default="draft")
    membership_tier: Mapped[str | None] = mapped_column(choice("crm_property_tier", TIERS))
    view_count: Mapped[int] = mapped_column(Integer, default=0)
    enquiry_count: Mapped[int] = mapped_column(Integer, default=0)
    booking_count: Mapped[int] = mapped_column(Integer, default=0)
    total_revenue: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    internal_notes: Mapped[str | None] = mapped_column(Text)
    rejection_reason: Mapped[str | None] = mapped_column(Text)

    owner: Mapped[Contact] = relationship()


class CrmEnquiry(db.Model):
    __tablename__ = "crm_enquiries"
    __table_args__ = (
        Index("ix_crm_enquiries_created", "created_at", "id"),
        Index("ix_crm_enquiries_status_created", "status", "created_at", "id"),
        Index("ix_crm_enquiries_owner_created", "owner_id", "created_at", "id"),
        Index("ix_crm_enquiries_owner_status", "owner_id", "status", "created_at"),
        Index("ix_crm_enquiries_property_created", "property_id", "created_at", "id"),
        # With the status, a guest search counts and gathers its enquiries (spam left out) from the index alone.
        # PostgreSQL also carries the id, which SQLite's indexes hold anyway, so it need not visit the table.
        Index("ix_crm_enquiries_contact_created", "contact_id", "created_at", "status", postgresql_include=["id"]),
        Index("ix_crm_enquiries_assigned", "assigned_to_admin_id", "created_at"),
        # With the status, an event-date filter counts its matches (spam left out) from the index alone.
        Index("ix_crm_enquiries_event_date", "event_date", "id", "status"),
        Index("ix_crm_enquiries_property_event", "property_id", "event_date", "status"),
        Index("ix_crm_enquiries_last_updated", "last_updated_at", "id"),
        Index("ix_crm_enquiries_guest_email", "guest_email"),
        Index("ix_crm_enquiries_status_updated", "status", "last_updated_at", "id"),
        Index("ix_crm_enquiries_priority_created", "priority", "created_at", "id"),
        # The board's columns filtered by priority: a capped count and the newest cards, read from one index.
        Index("ix_crm_enquiries_status_priority_updated", "status", "priority", "last_updated_at", "id"),
        Index("ix_crm_enquiries_guest_name", "guest_name", "id"),
        Index("ix_crm_enquiries_follow_up", "follow_up_date", "id"),
        CheckConstraint("estimated_guests IS NULL OR estimated_guests >= 1", name="guests_positive"),
        CheckConstraint("estimated_budget IS NULL OR estimated_budget >= 0", name="budget_not_negative"),
        CheckConstraint("booking_value IS NULL OR booking_value >= 0", name="booking_value_not_negative"),
        # The reports read a period's enquiries from this index alone, without touching the table.
        Index(
            "ix_crm_enquiries_report",
            "created_at",
            "status",
            "furthest_stage",
            "owner_id",
            "property_id",
            "source",
            "event_type",
            "booking_value",
            "first_response_at",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("crm_contacts.id", ondelete="CASCADE"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("crm_contacts.id", ondelete="SET NULL"))
    property_id: Mapped[int | None] = mapped_column(ForeignKey("crm_properties.id", ondelete="SET NULL"))
    source_enquiry_id: Mapped[int | None] = mapped_column(ForeignKey("enquiries.id", ondelete="SET NULL"), unique=True)
    status: Mapped[str] = mapped_column(choice("crm_enquiry_status", ENQUIRY_STATUSES), default="new")
    event_type: Mapped[str | None] = mapped_column(choice("crm_enquiry_event_type", EVENT_TYPES))
    event_date: Mapped[date | None] = mapped_column(Date)
    estimated_guests: Mapped[int | None] = mapped_column(Integer)
    estimated_budget: Mapped[Decimal | None] = mapped_column(Money)
    message: Mapped[str] = mapped_column(Text, default="")
    guest_email: Mapped[str] = mapped_column(String(254))
    guest_phone: Mapped[str | None] = mapped_column(String(32))
    guest_name: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    first_response_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    converted_to_booking: Mapped[bool] = mapped_column(Boolean, default=False)
    booking_value: Mapped[Decimal | None] = mapped_column(Money)
    assigned_to_admin_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    internal_notes: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(choice("crm_enquiry_priority", PRIORITIES), default="medium")
    source: Mapped[str] = mapped_column(choice("crm_enquiry_source", ENQUIRY_SOURCES), default="form")
    lost_reason: Mapped[str | None] = mapped_column(String(500))
    spam_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    fit_over_capacity: Mapped[bool] = mapped_column(Boolean, default=False)
    fit_date_booked: Mapped[bool] = mapped_column(Boolean, default=False)
    fit_budget_below_price: Mapped[bool] = mapped_column(Boolean, default=False)
    fit_short_notice: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_seen_at: Mapped[datetime | None] = mapped_column(DateTime)
    # How far along new < contacted < negotiating < booked the enquiry has ever been (0-3), for the funnel.
    furthest_stage: Mapped[int] = mapped_column(Integer, default=0)
    follow_up_date: Mapped[date | None] = mapped_column(Date)

    # Defined before the `property` relationship below, which shadows the builtin in this class.
    @property
    def fit_flags(self) -> list[str]:
        return [flag for flag in FIT_FLAGS if getattr(self, f"fit_{flag}")]

    contact: Mapped[Contact] = relationship(foreign_keys=[contact_id])
    owner: Mapped[Contact | None] = relationship(foreign_keys=[owner_id])
    property: Mapped[CrmProperty | None] = relationship()
    assigned_to_admin: Mapped[User | None] = relationship()


# Sorting by event date puts enquiries without one last, through this indexed expression.
EVENT_SORT = func.coalesce(CrmEnquiry.event_date, literal_column("'9999-12-31'"))
Index("ix_crm_enquiries_event_sort", EVENT_SORT, CrmEnquiry.id)

# A fit-flag filter reads a small partial index instead of scanning every enquiry.
for _flag in FIT_FLAGS:
    _column = getattr(CrmEnquiry, f"fit_{_flag}")
    Index(
        f"ix_crm_enquiries_fit_{_flag}",
        CrmEnquiry.created_at,
        CrmEnquiry.id,
        sqlite_where=_column == True,  # noqa: E712
        postgresql_where=_column == True,  # noqa: E712
    )

# The needs-reply queue reads only the enquiries nobody has answered yet, oldest first.
Index(
    "ix_crm_enquiries_awaiting_reply",
    CrmEnquiry.created_at,
    CrmEnquiry.id,
    sqlite_where=CrmEnquiry.first_response_at.is_(None),
    postgresql_where=CrmEnquiry.first_response_at.is_(None),
)


class EnquiryStatusHistory(db.Model):
    """One row per status an enquiry entered; time in a status is the gap to the next row."""

    __tablename__ = "crm_enquiry_status_history"
    __table_args__ = (
        Index("ix_crm_enquiry_status_history_enquiry", "enquiry_id", "changed_at"),
        Index("ix_crm_enquiry_status_history_changed", "changed_at", "to_status", "left_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enquiry_id: Mapped[int] = mapped_column(ForeignKey("crm_enquiries.id", ondelete="CASCADE"))
    from_status: Mapped[str | None] = mapped_column(choice("history_from_status", ENQUIRY_STATUSES))
    to_status: Mapped[str] = mapped_column(choice("history_to_status", ENQUIRY_STATUSES))
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    performed_by: Mapped[str] = mapped_column(String(120), default="system")
    reason: Mapped[str | None] = mapped_column(String(500))
    # When the enquiry moved on to its next status; None while it is still in this one.
    left_at: Mapped[datetime | None] = mapped_column(DateTime)


class ReportDay(db.Model):
    """Non-spam enquiries by the day they arrived and one dimension's value: the reports' rollup.

    Kept by database triggers (crm.reports.rollup) in the same transaction as every change to an
    enquiry or a property's tier, and rebuilt from the rows by the daily job and the seed.
    """

    __tablename__ = "crm_report_days"

    dimension: Mapped[str] = mapped_column(String(20), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    # The dimension's value ('' for none): a source, an event type, a tier or a lost reason.
    key: Mapped[str] = mapped_column(String(500), primary_key=True)
    enquiries: Mapped[int] = mapped_column(Integer, default=0)
    # How many reached each stage after new (furthest_stage), and how many were lost at each stage.
    contacted: Mapped[int] = mapped_column(Integer, default=0)
    negotiating: Mapped[int] = mapped_column(Integer, default=0)
    booked: Mapped[int] = mapped_column(Integer, default=0)
    lost_new: Mapped[int] = mapped_column(Integer, default=0)
    lost_contacted: Mapped[int] = mapped_column(Integer, default=0)
    lost_negotiating: Mapped[int] = mapped_column(Integer, default=0)
    lost_booked: Mapped[int] = mapped_column(Integer, default=0)
    # Enquiries whose status is booked now, and their booking value.
    bookings: Mapped[int] = mapped_column(Integer, default=0)
    booking_value: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))


class ReportMonth(db.Model):
    """Non-spam enquiries by the month they arrived and their owner or property (key 0: none).

    Owners and properties are too many for a daily rollup to be smaller than the enquiries; by month it
    is, and a period reads its whole months here and its loose days from the enquiries. Kept like ReportDay.
    """

    __tablename__ = "crm_report_months"
    __table_args__ = (
        # A period's sums by owner or property from the index alone: the table's rows need a look-up each,
        # and a year of properties is 100,000 of them.
        Index(
            "ix_crm_report_months_sums",
            "dimension",
            "month",
            "key",
            "enquiries",
            "bookings",
            "booking_value",
            "responded",
            "response_seconds",
        ),
    )

    dimension: Mapped[str] = mapped_column(String(20), primary_key=True)
    # The first day of the month.
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    key: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    enquiries: Mapped[int] = mapped_column(Integer, default=0)
    bookings: Mapped[int] = mapped_column(Integer, default=0)
    booking_value: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    # First responses to those enquiries and their total seconds: the average reply time by owner.
    responded: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    response_seconds: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class ReportTotal(db.Model):
    """crm_report_months summed over all its months, by owner or property (key 0: none); kept by the same triggers.

    A period that covers most of the months recorded (a year, when the platform is a little over a year old)
    reads these totals less the months outside it: at the large scale 14,000 rows instead of 100,000.
    """

    __tablename__ = "crm_report_totals"
    __table_args__ = (
        # Read from the index alone, as crm_report_months is.
        Index(
            "ix_crm_report_totals_sums",
            "dimension",
            "key",
            "enquiries",
            "bookings",
            "booking_value",
            "responded",
            "response_seconds",
        ),
    )

    dimension: Mapped[str] = mapped_column(String(20), primary_key=True)
    key: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    enquiries: Mapped[int] = mapped_column(Integer, default=0)
    bookings: Mapped[int] = mapped_column(Integer, default=0)
    booking_value: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    responded: Mapped[int] = mapped_column(Integer, default=0)
    response_seconds: Mapped[int] = mapped_column(BigInteger, default=0)


class ReportDuration(db.Model):
    """One measured time: an enquiry's first response, or a finished stay in an open status.

    measure is first_response (id an enquiry's, day its arrival) or the status stayed in (id a
    status-history row, day when the stay began). bucket is a monotone step of seconds (two significant
    digits), so a percentile is found by bucket counts, then one short indexed scan inside one bucket.
    Kept by the same triggers as ReportDay.
    """

    __tablename__ = "crm_report_durations"
    __table_args__ = (
        Index("ix_crm_report_durations_bucket", "measure", "bucket", "seconds", "day"),
        Index("ix_crm_report_durations_owner", "measure", "owner_id", "seconds", "day"),
        # A period's replies by owner (the slowest owners' loose days).
        Index("ix_crm_report_durations_day", "measure", "day", "owner_id", "seconds"),
    )

    measure: Mapped[str] = mapped_column(String(20), primary_key=True)
    # The measured row's own id: the enquiry's, or the status-history row's.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date)
    seconds: Mapped[float] = mapped_column(Float)
    bucket: Mapped[int] = mapped_column(Integer)
    owner_id: Mapped[int | None] = mapped_column(Integer)


class ReportDurationDay(db.Model):
    """How many durations fell in each bucket on each day, with their total: the histogram percentiles read."""

    __tablename__ = "crm_report_duration_days"

    measure: Mapped[str] = mapped_column(String(20), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    durations: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)


class ReportDurationMonth(db.Model):
    """The same histogram by month, so a long period reads a month's row instead of each of its days."""

    __tablename__ = "crm_report_duration_months"

    measure: Mapped[str] = mapped_column(String(20), primary_key=True)
    # The first day of the month.
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    durations: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)


class Membership(db.Model):
    __tablename__ = "crm_memberships"
    __table_args__ = (
        Index("ix_crm_memberships_status_end", "status", "end_date", "id"),
        Index("ix_crm_memberships_status_created", "status", "created_at", "id"),
        Index("ix_crm_memberships_contact", "contact_id", "created_at"),
        Index("ix_crm_memberships_created", "created_at", "id"),
        Index("ix_crm_memberships_end", "end_date", "id"),
        Index("ix_crm_memberships_tier_end", "plan_tier", "end_date", "id"),
        # The reports: memberships started in a period, and whether their owner had one before.
        Index("ix_crm_memberships_start", "start_date", "contact_id"),
        Index("ix_crm_memberships_contact_start", "contact_id", "start_date"),
        Index("ix_crm_memberships_cancelled", "cancelled_date"),
        CheckConstraint("plan_price >= 0", name="price_not_negative"),
        CheckConstraint("payment_failure_count >= 0", name="failures_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("crm_contacts.id", ondelete="CASCADE"))
    plan_tier: Mapped[str] = mapped_column(choice("membership_tier", TIERS))
    plan_price: Mapped[Decimal] = mapped_column(Money)
    billing_cycle: Mapped[str] = mapped_column(choice("billing_cycle", BILLING_CYCLES), default="annual")
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    renewal_date: Mapped[date | None] = mapped_column(Date)
    cancelled_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(choice("membership_status", MEMBERSHIP_STATUSES), default="active")
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), index=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    last_payment_date: Mapped[date | None] = mapped_column(Date)
    last_payment_amount: Mapped[Decimal | None] = mapped_column(Money)
    next_payment_date: Mapped[date | None] = mapped_column(Date)
    auto_renew: Mapped[bool] = mapped_column(Boolean, default=True)
    payment_failure_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    notes: Mapped[str | None] = mapped_column(Text)
    # manual: granted by an admin, with no Stripe subscription behind it.
    source: Mapped[str] = mapped_column(choice("membership_source", MEMBERSHIP_SOURCES), default="stripe")
    # The `created` time of the newest Stripe event applied, so an older one never overwrites newer state.
    stripe_event_at: Mapped[datetime | None] = mapped_column(DateTime)
    # When it became suspended: listings stay live for a grace period from then.
    suspended_at: Mapped[datetime | None] = mapped_column(DateTime)

    contact: Mapped[Contact] = relationship()


class MembershipReminder(db.Model):
    """A renewal reminder already sent, so each threshold is reminded once."""

    __tablename__ = "crm_membership_reminders"
    __table_args__ = (
        UniqueConstraint("membership_id", "threshold_days", name="uq_crm_membership_reminders_threshold"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("crm_memberships.id", ondelete="CASCADE"))
    threshold_days: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Interaction(db.Model):
    __tablename__ = "crm_interactions"
    __table_args__ = (
        Index("ix_crm_interactions_contact_created", "contact_id", "created_at"),
        Index("ix_crm_interactions_enquiry_created", "related_enquiry_id", "created_at"),
        Index("ix_crm_interactions_property", "related_property_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("crm_contacts.id", ondelete="CASCADE"))
    related_property_id: Mapped[int | None] = mapped_column(ForeignKey("crm_properties.id", ondelete="SET NULL"))
    related_enquiry_id: Mapped[int | None] = mapped_column(ForeignKey("crm_enquiries.id", ondelete="SET NULL"))
    type: Mapped[str] = mapped_column(choice("interaction_type", INTERACTION_TYPES))
    subject: Mapped[str | None] = mapped_column(String(255))
    content: Mapped[str] = mapped_column(Text, default="")
    direction: Mapped[str] = mapped_column(choice("interaction_direction", DIRECTIONS))
    initiated_by: Mapped[str] = mapped_column(choice("interaction_initiator", INITIATORS))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)
    # "metadata" is reserved on declarative classes, so the attribute is named meta.
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)

    contact: Mapped[Contact] = relationship()
    created_by: Mapped[User | None] = relationship()


class ActivityLog(db.Model):
    __tablename__ = "crm_activity_log"
    __table_args__ = (
        Index("ix_crm_activity_log_entity", "entity_type", "entity_id", "timestamp"),
        Index("ix_crm_activity_log_timestamp", "timestamp", "id"),
        Index("ix_crm_activity_log_action", "action", "timestamp"),
        Index("ix_crm_activity_log_type_time", "entity_type", "timestamp", "id"),
        Index("ix_crm_activity_log_type_action_time", "entity_type", "action", "timestamp", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_type: Mapped[str] = mapped_column(choice("activity_entity_type", ENTITY_TYPES))
    entity_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(choice("activity_action", ACTIONS))
    changed_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    performed_by: Mapped[str] = mapped_column(String(120), default="system")
    performed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    ip_address: Mapped[str | None] = mapped_column(String(45))
    timestamp: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    reason: Mapped[str | None] = mapped_column(String(500))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)

    performer: Mapped[User | None] = relationship()


class Segment(db.Model):
    __tablename__ = "crm_segments"
    __table_args__ = (
        Index("ix_crm_segments_contact", "contact_id", "segment", "removed_at"),
        Index("ix_crm_segments_segment", "segment", "removed_at"),
        Index("ix_crm_segments_current", "removed_at", "added_at", "id"),
        CheckConstraint("engagement_score BETWEEN 0 AND 100", name="engagement_score_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("crm_contacts.id", ondelete="CASCADE"))
    segment: Mapped[str] = mapped_column(choice("segment_name", SEGMENTS))
    lifetime_value: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    engagement_score: Mapped[int] = mapped_column(Integer, default=0)
    added_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(DateTime)
    reason: Mapped[str | None] = mapped_column(String(500))


class SegmentRun(db.Model):
    """What one run of the segment job changed in one segment: who joined, who left, and how many are in it after.

    Written with the segment rows it counts, for every segment, by each run that changed any; the reports'
    segments section reads these few rows instead of counting crm_segments (36,000 current rows and their
    history at the large scale).
    """

    __tablename__ = "crm_segment_runs"
    __table_args__ = (UniqueConstraint("run_at", "segment", name="uq_crm_segment_runs_run"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_at: Mapped[datetime] = mapped_column(DateTime)
    segment: Mapped[str] = mapped_column(choice("segment_run_name", SEGMENTS))
    added: Mapped[int] = mapped_column(Integer, default=0)
    removed: Mapped[int] = mapped_column(Integer, default=0)
    members: Mapped[int] = mapped_column(Integer, default=0)


def postgresql_only(index: Index) -> Index:
    """Build `index` on PostgreSQL alone: SQLite already serves its queries from another index."""
    return index.ddl_if(dialect="postgresql")


def built_on(dialect: str):
    """Return Alembic's include_object filter that leaves out indexes built only on another database."""

    def include(obj, _name, type_, _reflected, _compare_to) -> bool:
        condition = getattr(obj, "_ddl_if", None) if type_ == "index" else None
        wanted = condition.dialect if condition else None
        return wanted is None or dialect in ((wanted,) if isinstance(wanted, str) else wanted)

    return include


# The current segments, newest first, whole or of one segment. SQLite walks ix_crm_segments_current and
# ix_crm_segments_segment in that order, taking "removed_at IS NULL" as an equality; PostgreSQL does not,
# so it read and sorted every current row (36,000 at the large scale) for each page.
postgresql_only(
    Index(
        "ix_crm_segments_current_added",
        Segment.added_at,
        Segment.id,
        postgresql_where=Segment.removed_at.is_(None),
    )
)
postgresql_only(
    Index(
        "ix_crm_segments_current_segment",
        Segment.segment,
        Segment.added_at,
        Segment.id,
        postgresql_where=Segment.removed_at.is_(None),
    )
)


class SavedView(db.Model):
    """A list an admin named: a tab and its filters, search and sort, as a query string."""

    __tablename__ = "crm_saved_views"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_crm_saved_views_user_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    tab: Mapped[str] = mapped_column(String(40))
    query: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class OwnerDigest(db.Model):
    """A daily digest already sent to an owner, so a day never gets two."""

    __tablename__ = "crm_owner_digests"
    __table_args__ = (UniqueConstraint("contact_id", "digest_date", name="uq_crm_owner_digests_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("crm_contacts.id", ondelete="CASCADE"))
    digest_date: Mapped[date] = mapped_column(Date)
    waiting: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SyncEvent(db.Model):
    """The sync outbox: a platform write's CRM work, recorded in the same transaction.

    It is a platform table (no crm_ prefix) on purpose: it must take writes even when the CRM's own tables cannot.
    """

    __tablename__ = "sync_events"
    __table_args__ = (Index("ix_sync_events_status", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(choice("sync_status", SYNC_STATUSES), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime)


class EmailMessage(db.Model):
    """The e-mail outbox: rendered and queued with the write that caused it, delivered off the request path."""

    __tablename__ = "email_outbox"
    __table_args__ = (
        Index("ix_email_outbox_status", "status", "id"),
        Index("ix_email_outbox_recipient", "to_address", "template", "created_at"),
        # Deleting an enquiry clears its messages' link (ON DELETE SET NULL): without this, a read of every message.
        Index("ix_email_outbox_enquiry", "enquiry_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The same logical message (say, one enquiry's acknowledgement) is queued at most once.
    dedupe_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(255))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    reply_to: Mapped[str | None] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(choice("email_status", EMAIL_STATUSES), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    enquiry_id: Mapped[int | None] = mapped_column(ForeignKey("crm_enquiries.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Which template it came from, so sends to one recipient can be throttled per kind.
    template: Mapped[str | None] = mapped_column(String(60))
    # One Message-ID for every attempt, so a receiver can tell a resend from a new message.
    message_id: Mapped[str | None] = mapped_column(String(255))
    # A deliverer owns a message while claimed_until is in the future; a crashed one's claim lapses.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime)
