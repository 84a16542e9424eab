"""Test data builders: each makes a valid record with sensible defaults, overridable by keyword."""

import itertools
from datetime import date, timedelta
from decimal import Decimal
from functools import cache

from sqlalchemy import select, text

from crm import sync
from crm.auth import hash_password
from crm.extensions import db
from crm.models import Property, User, utcnow

PASSWORD = "correct horse battery"
_counter = itertools.count(1)


@cache
def password_hash(password: str) -> str:
    """Hash each test password once: Argon2 is slow on purpose."""
    return hash_password(password)


def make_user(role: str = "owner", email: str | None = None, password: str = PASSWORD, **fields) -> User:
    n = next(_counter)
    user = User(
        email=email or f"{role}{n}@example.com",
        password_hash=password_hash(password),
        role=role,
        first_name=fields.pop("first_name", f"Test{n}"),
        last_name=fields.pop("last_name", "Person"),
        **fields,
    )
    db.session.add(user)
    db.session.flush()
    if role == "owner":
        sync.record("owner.signed_up", user_id=user.id)
    sync.commit()
    return user


def make_property(owner: User, status: str = "live", **fields) -> Property:
    n = next(_counter)
    values = dict(
        title=f"Test House {n}",
        location="Bath, Somerset",
        description="A lovely house.",
        bedrooms=4,
        bathrooms=2,
        max_guests=10,
        price_per_night=Decimal("250.00"),
    )
    values.update(fields)
    prop = Property(owner_id=owner.id, status=status, published_at=utcnow() if status == "live" else None, **values)
    db.session.add(prop)
    db.session.flush()
    sync.record("property.saved", property_id=prop.id)
    sync.commit()
    return prop


def enquiry_data(prop: Property, **fields) -> dict:
    n = next(_counter)
    data = {
        "property_id": prop.id,
        "guest_name": f"Guest Number{n}",
        "guest_email": f"guest{n}@example.com",
        "guest_phone": "07700 900123",
        "event_type": "birthday",
        "event_date": (date.today() + timedelta(days=60)).isoformat(),
        "estimated_guests": 8,
        "estimated_budget": 2000,
        "message": "We would love to celebrate a 40th birthday here.",
    }
    data.update(fields)
    return data


def make_membership(owner: User, tier: str = "gold", status: str = "active", **fields):
    """Give an owner a paid membership (as an admin's grant would), so their listings may go live."""
    from crm.memberships import service
    from crm.models import Contact

    contact = db.session.scalar(select(Contact).where(Contact.user_id == owner.id))
    admin = db.session.scalar(select(User).where(User.role == "admin")) or make_user("admin")
    membership = service.grant(contact, tier, "annual", 12, admin, None)
    for name, value in dict(status=status, **fields).items():
        setattr(membership, name, value)
    sync.commit()
    return membership


def crm_refuses(table: str, when: str, on: bool) -> None:
    """Make the database itself refuse `when` ("INSERT", "UPDATE OF view_count") on `table` while `on`: a real
    CRM fault from SQLite or PostgreSQL, not a patched function."""
    if db.engine.dialect.name == "sqlite":
        statements = (
            [f"CREATE TRIGGER crm_down BEFORE {when} ON {table} BEGIN SELECT RAISE(ABORT, 'crm is down'); END"]
            if on
            else ["DROP TRIGGER crm_down"]
        )
    else:
        statements = (
            [
                "CREATE FUNCTION crm_down() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'crm is down'; END $$ "
                "LANGUAGE plpgsql",
                f"CREATE TRIGGER crm_down BEFORE {when} ON {table} FOR EACH ROW EXECUTE FUNCTION crm_down()",
            ]
            if on
            else [f"DROP TRIGGER crm_down ON {table}", "DROP FUNCTION crm_down()"]
        )
    for statement in statements:
        db.session.execute(text(statement))
    db.session.commit()
