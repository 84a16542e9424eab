"""The seed's plumbing: scales, fast bulk inserts in the driver's own types, and shared helpers.

Every generator stage writes with bulk executemany inserts in chunks through the session's
connection, with every value worked out in Python beforehand (no ORM objects, no per-row queries).
"""

from __future__ import annotations

import json
import random
import string
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial

from faker import Faker
from sqlalchemy import JSON, Boolean, Date, DateTime, Numeric

from ..extensions import db
from ..models import ActivityLog, Contact, CrmEnquiry, Enquiry, EnquiryStatusHistory, Interaction, utcnow
from .words import MAIL_DOMAINS


@dataclass(frozen=True)
class Scale:
    """How much to make. Interactions and activity are topped up to at least the given totals."""

    owners: int
    properties: int
    guests: int
    enquiries: int
    interactions: int = 0
    activity: int = 0
    segments: int = 60
    chunk: int = 10_000
    status_weights: dict[str, int] | None = None  # final statuses; STATUS_WEIGHTS if not given


SCALES = {
    "demo": Scale(owners=25, properties=60, guests=400, enquiries=800, segments=60),
    # 100,000 contacts, 20,000 properties, 300,000 enquiries, over 1,000,000 interaction + activity rows.
    "large": Scale(
        owners=5_000,
        properties=20_000,
        guests=95_000,
        enquiries=300_000,
        interactions=600_000,
        activity=400_000,
        segments=5_000,
        chunk=10_000,
        # A younger pipeline than the demo's, so the timeline totals stay near a million.
        status_weights={"new": 24, "contacted": 18, "negotiating": 8, "booked": 17, "lost": 17, "spam": 16},
    ),
}


# The tables that take most rows; their secondary indexes are rebuilt after loading.
BULK_TABLES = (Contact, Enquiry, CrmEnquiry, EnquiryStatusHistory, Interaction, ActivityLog)


def driver_value(column_type, sqlite: bool) -> Callable | None:
    """Return how to turn a Python value into what the driver stores for this column, or None to pass it."""
    if isinstance(column_type, JSON):
        return to_json
    if not sqlite:
        return None  # psycopg takes dates, Decimals and booleans as they are
    if isinstance(column_type, DateTime):
        return partial(datetime.isoformat, sep=" ", timespec="microseconds")  # SQLAlchemy's SQLite format
    if isinstance(column_type, Date):
        return date.isoformat
    if isinstance(column_type, Numeric):
        return float
    if isinstance(column_type, Boolean):
        return int
    return None


def row_reader(keys: list[str], converters: list[Callable | None]) -> Callable[[dict], tuple]:
    """Return a function turning a row dict into the driver's value tuple.

    It is compiled from source once per table because a generic loop over the columns, run for
    millions of rows, was the seed's single biggest cost.
    """
    parts, names = [], {}
    for n, (key, convert) in enumerate(zip(keys, converters, strict=True)):
        if convert is None:
            parts.append(f"row[{key!r}]")
        else:
            names[f"convert{n}"] = convert
            parts.append(f"(None if row[{key!r}] is None else convert{n}(row[{key!r}]))")
    return eval(f"lambda row: ({', '.join(parts)},)", names)  # noqa: S307  only our own column names


def to_json(value) -> str:
    if not value:  # most rows carry an empty list or object
        return "[]" if isinstance(value, list) else "{}"
    return json.dumps(value)


def weighted(rng: random.Random, weights: dict[str, int], k: int) -> list[str]:
    return rng.choices(list(weights), weights=list(weights.values()), k=k)


def money(value: float) -> Decimal:
    return Decimal(int(round(value))).quantize(Decimal("0.01"))


def stripe_id(rng: random.Random, prefix: str, length: int) -> str:
    return prefix + "".join(rng.choices(string.ascii_letters + string.digits, k=length))


class Writer:
    """The state and plumbing every stage shares: the random source, the clock and the bulk insert."""

    def __init__(self, scale: Scale, random_seed: int, echo: Callable[[str], None], now: datetime | None = None):
        self.scale = scale
        self.echo = echo
        self.rng = random.Random(random_seed)
        self.faker = Faker("en_GB")
        self.faker.seed_instance(random_seed)
        # The same seed and clock make the same rows, to the byte.
        self.now = (now or utcnow()).replace(microsecond=0)
        self.today = self.now.date()
        self.counts: dict[str, int] = {}
        self.sqlite = db.engine.dialect.name == "sqlite"
        self.stage_started = time.perf_counter()
        self.make_pools()

    def insert(self, model, rows: list[dict]) -> None:
        """Bulk-insert rows (dicts keyed like the model's columns) with executemany, in chunks.

        Values go to the driver already in its own types, which skips SQLAlchemy's per-row
        parameter processing: at a few million rows that processing costs more than the inserts.
        """
        if not rows:
            return
        table = model.__table__
        keys = list(rows[0])
        columns = [model.__mapper__.columns[key] for key in keys]  # attribute names, e.g. meta -> "metadata"
        quote = db.engine.dialect.identifier_preparer.quote
        mark = "?" if db.engine.dialect.paramstyle == "qmark" else "%s"
        sql = (
            f"INSERT INTO {quote(table.name)} ({', '.join(quote(c.name) for c in columns)}) "
            f"VALUES ({', '.join([mark] * len(columns))})"
        )
        as_tuple = row_reader(keys, [driver_value(column.type, self.sqlite) for column in columns])
        connection = db.session.connection()
        for start in range(0, len(rows), self.scale.chunk):
            connection.exec_driver_sql(sql, [as_tuple(row) for row in rows[start : start + self.scale.chunk]])
        self.counts[table.name] = self.counts.get(table.name, 0) + len(rows)

    def done(self, label: str, count: int) -> None:
        now = time.perf_counter()
        self.echo(f"  {label:<34} {count:>10,}  {now - self.stage_started:6.1f} s")
        self.stage_started = now

    def make_pools(self) -> None:
        """Draw small pools from Faker once; rows combine them, which is far quicker than Faker per row."""
        f, rng = self.faker, self.rng
        self.first_names = sorted({f.first_name() for _ in range(600)})  # sorted: sets iterate by hash
        self.last_names = sorted({f.last_name() for _ in range(600)})
        self.streets = [f.street_address().replace("\n", ", ") for _ in range(300)]
        self.cities = [f.city() for _ in range(200)]
        self.postcodes = [f.postcode() for _ in range(300)]
        self.companies = [f.company() for _ in range(200)]
        # Ofcom's drama ranges: real-looking numbers that never ring anyone.
        self.phones = [f"+447700900{n:03d}" for n in range(1000)] + [f"+442079460{n:03d}" for n in range(1000)]
        self.ips = [f"{net}.{host}" for net in ("192.0.2", "198.51.100", "203.0.113") for host in range(1, 255)]
        rng.shuffle(self.first_names)
        rng.shuffle(self.last_names)

    def person(self, n: int) -> tuple[str, str, str]:
        """Return a first name, last name and unique e-mail for the n-th person."""
        first, last = self.rng.choice(self.first_names), self.rng.choice(self.last_names)
        slug = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
        return first, last, f"{slug}{n}@{MAIL_DOMAINS[n % 3]}"

    def when(self, earliest: datetime, latest: datetime) -> datetime:
        span = max(int((latest - earliest).total_seconds()), 1)
        return earliest + timedelta(seconds=self.rng.randrange(span))

    def activity_row(
        self,
        entity_type: str,
        entity_id: int,
        action: str,
        at: datetime,
        changed: dict,
        actor: int | None = None,
        reason: str | None = None,
        ip: str | None = None,
    ) -> dict:
        return dict(
            entity_type=entity_type,
            entity_id=entity_id,
            action=action,
            changed_fields=changed,
            performed_by=self.user_email[actor] if actor else "system",
            performed_by_id=actor,
            ip_address=ip,
            timestamp=at,
            reason=reason,
            meta={},
        )
