"""Demo and benchmark data: British holiday lets, their owners, guests, enquiries and CRM history.

One generator serves both scales. It writes with bulk executemany inserts in chunks through the
session's connection, in one transaction, with every value worked out in Python beforehand (no ORM
objects, no per-row queries). Ids are allocated here, which keeps a CRM enquiry's id equal to its
platform enquiry's id without asking the database, and the counters on crm_properties are totalled
from the enquiries as they are made.
"""
from __future__ import annotations

import json
import random
import string
import time
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial

import click
from faker import Faker
from sqlalchemy import JSON, Boolean, Date, DateTime, Numeric, bindparam, func, select, text, update

from .auth import hash_password
from .extensions import db
from .models import (
    ActivityLog,
    Contact,
    CrmEnquiry,
    CrmProperty,
    Enquiry,
    EnquiryStatusHistory,
    Interaction,
    Membership,
    Property,
    STAGE_RANK,
    Segment,
    User,
    utcnow,
)

ADMIN_EMAIL, ADMIN_PASSWORD = "admin@example.com", "demo-admin-pass"
OWNER_EMAIL, OWNER_PASSWORD = "owner@example.com", "demo-owner-pass"


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
    "large": Scale(owners=5_000, properties=20_000, guests=95_000, enquiries=300_000,
                   interactions=600_000, activity=400_000, segments=5_000, chunk=10_000,
                   # A younger pipeline than the demo's, so the timeline totals stay near a million.
                   status_weights={"new": 24, "contacted": 18, "negotiating": 8, "booked": 17, "lost": 17, "spam": 16}),
}


# The tables that take most rows; their secondary indexes are rebuilt after loading.
BULK_TABLES = (Contact, Enquiry, CrmEnquiry, EnquiryStatusHistory, Interaction, ActivityLog)


# --- Words the data is made of -----------------------------------------------------------------

# (region, places, kinds of property, price factor)
REGIONS = [
    ("Cotswolds", ["Bourton-on-the-Water, Gloucestershire", "Chipping Campden, Gloucestershire",
                   "Stow-on-the-Wold, Gloucestershire", "Burford, Oxfordshire", "Broadway, Worcestershire",
                   "Bibury, Gloucestershire"], ["Barn", "Manor", "Cottage", "Farmhouse", "Coach House"], 1.3),
    ("Cornwall", ["St Ives, Cornwall", "Padstow, Cornwall", "Fowey, Cornwall", "Port Isaac, Cornwall",
                  "Mousehole, Cornwall", "Falmouth, Cornwall", "Bude, Cornwall"],
     ["Cottage", "Fisherman's Cottage", "Harbour House", "Beach House", "Chapel"], 1.2),
    ("Lake District", ["Windermere, Cumbria", "Ambleside, Cumbria", "Keswick, Cumbria", "Coniston, Cumbria",
                       "Grasmere, Cumbria", "Ullswater, Cumbria"],
     ["Lodge", "Fell Lodge", "Cottage", "Bothy", "Hall"], 1.15),
    ("York", ["York, North Yorkshire", "Whitby, North Yorkshire", "Harrogate, North Yorkshire",
              "Helmsley, North Yorkshire"], ["Townhouse", "Georgian Townhouse", "Mews House", "Vicarage"], 1.0),
    ("Peak District", ["Bakewell, Derbyshire", "Castleton, Derbyshire", "Hathersage, Derbyshire",
                       "Buxton, Derbyshire"], ["Farmhouse", "Barn", "Mill", "Cottage"], 1.0),
    ("Norfolk", ["Burnham Market, Norfolk", "Wells-next-the-Sea, Norfolk", "Blakeney, Norfolk",
                 "Holt, Norfolk"], ["Flint Cottage", "Windmill", "Rectory", "Boathouse"], 1.05),
    ("Devon", ["Salcombe, Devon", "Dartmouth, Devon", "Croyde, Devon", "Lynmouth, Devon"],
     ["Harbour House", "Longhouse", "Cottage", "Boathouse"], 1.15),
    ("Bath", ["Bath, Somerset", "Frome, Somerset", "Wells, Somerset"], ["Townhouse", "Crescent House", "Villa"], 1.2),
    ("Snowdonia", ["Betws-y-Coed, Conwy", "Beddgelert, Gwynedd", "Dolgellau, Gwynedd"],
     ["Chapel", "Slate Cottage", "Lodge", "Farmhouse"], 0.9),
    ("Scottish Highlands", ["Aviemore, Highland", "Fort William, Highland", "Glencoe, Highland",
                            "Pitlochry, Perth and Kinross"],
     ["Lodge", "Shooting Lodge", "Castle", "Steading", "Bothy"], 1.1),
    ("Northumberland", ["Bamburgh, Northumberland", "Alnwick, Northumberland", "Rothbury, Northumberland"],
     ["Bastle House", "Farmhouse", "Cottage", "Tower"], 0.95),
    ("New Forest", ["Lyndhurst, Hampshire", "Brockenhurst, Hampshire", "Lymington, Hampshire"],
     ["Lodge", "Thatched Cottage", "Manor", "Barn"], 1.1),
]
NAME_WORDS = ["Meadow", "Willow", "Oak", "Ash", "Heron", "Kestrel", "Rowan", "Bramble", "Foxglove", "Holly",
              "Swallow", "Harbour", "Lantern", "Saltings", "Orchard", "Beacon", "Larch", "Skylark", "Hazel",
              "Primrose", "Otter", "Curlew", "Thistle", "Fernbank", "Mill", "Brook", "Elder", "Juniper"]
FEATURES = ["a wood-burning stove", "a hot tub under the stars", "an Aga in the farmhouse kitchen",
            "a games room with a full-size snooker table", "a heated indoor pool", "a walled garden",
            "a long oak dining table that seats everyone", "fast Wi-Fi and a dedicated workspace",
            "a boot room for muddy walkers", "a sauna and cold plunge", "sea views from every bedroom",
            "a private path down to the beach", "a vaulted barn with exposed beams", "a firepit and outdoor kitchen",
            "a cinema room", "a tennis court", "a dog-friendly enclosed garden", "EV charging on the drive"]
NEARBY = ["the village pub is a five-minute stroll away", "the coast path starts at the gate",
          "there are fell walks straight from the door", "the Minster is a ten-minute walk",
          "the farm shop and deli are just down the lane", "the harbour and its seafood restaurants are close by",
          "there is a National Trust garden a mile away", "the station is a short taxi ride",
          "the high street's independent shops are on the doorstep"]
EVENT_WEIGHTS = {"birthday": 30, "family": 25, "hen_stag": 15, "wedding": 10, "corporate": 10, "other": 10}
OCCASIONS = {
    "birthday": ["a 40th birthday", "my mum's 70th", "a surprise 50th", "our twins' 30th", "a 60th birthday weekend"],
    "family": ["a family reunion", "three generations getting together", "our annual cousins' weekend",
               "Christmas with the whole family", "a half-term family break"],
    "hen_stag": ["a hen weekend", "a stag do", "my sister's hen party", "a low-key stag weekend"],
    "wedding": ["our wedding", "a small wedding celebration", "the night before our wedding", "a wedding party"],
    "corporate": ["a team away-day", "a leadership offsite", "our company retreat", "a client workshop"],
    "other": ["a walking club weekend", "a book club retreat", "a yoga weekend", "a university reunion"],
}
QUESTIONS = ["Is the house free then?", "Could you let me know the total price?", "Is there parking for four cars?",
             "Can we bring our dog?", "Is early check-in possible?", "Are caterers allowed on site?",
             "Would you accept a deposit now and the balance later?", "Is the hot tub included?",
             "Is the ground floor suitable for my grandmother, who uses a wheelchair?"]
REPLIES = ["Thanks for getting in touch. Yes, those dates are free at the moment. I've attached the booking terms.",
           "Lovely to hear from you. The house would suit your group; the total for those nights is below.",
           "Thank you for your enquiry. We do allow well-behaved dogs, and there is parking for several cars.",
           "Happy to help. We can offer early check-in from 1pm if the previous guests leave on time.",
           "Thanks for your message. Caterers are welcome; I can send you a list of local ones we recommend."]
NOTES = ["Called the guest, they are comparing two houses.", "Guest asked for a revised quote without the hot tub.",
         "Left a voicemail about the deposit.", "Repeat guest, stayed with us last year.",
         "Guest prefers WhatsApp, number on file.", "Sent the house manual and directions.",
         "Owner asked us to chase the balance.", "Budget is tight, offered a midweek discount."]
LOST_REASONS = ["Booked somewhere else", "Dates not available", "Over budget", "Group too large for the house",
                "Guest stopped replying", "Event cancelled", "Wanted a shorter stay than the minimum"]
SPAM_MESSAGES = ["Boost your Google ranking today! http://seo.example.net http://seo.example.net/a http://x.example",
                 "Cheap watches www.watches.example.com www.watches.example.com/sale http://bit.example/abc",
                 "Hello dear, I have a business proposal for you, kindly reply.",
                 "Crypto opportunity, guaranteed returns http://coin.example http://coin.example/a http://b.example"]
SPAM_REASONS = [["honeypot field was filled in"], ["message contains 3 links"],
                ["sent 0.8 s after the form was served"],
                ["form token missing or not valid", "honeypot field was filled in"],
                ["more than 5 enquiries from this e-mail address in an hour"]]
REJECTION_REASONS = ["Photos are too dark to show the rooms; please add daylight photos.",
                     "We could not verify the address; please add the full postcode.",
                     "The description mentions a different nightly price from the one entered.",
                     "Maximum guests is higher than the bedrooms allow; please check."]
USER_AGENTS = ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1",
               "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
               "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari/605.1.15",
               "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/124.0 Mobile Safari/537.36"]
GOOD_FOR = ["birthdays", "family gatherings", "celebrations", "walking groups", "hen weekends", "small weddings"]
MAIL_DOMAINS = ["example.com", "example.net", "example.org"]
PRICES = {"bronze": Decimal("99.00"), "silver": Decimal("199.00"), "gold": Decimal("349.00")}
MONTHLY_PRICES = {"bronze": Decimal("9.99"), "silver": Decimal("19.99"), "gold": Decimal("34.99")}

# Each final status is reached by one of these paths; the first step is how the enquiry arrived.
PATHS = {
    "new": [("new",)],
    "contacted": [("new", "contacted")],
    "negotiating": [("new", "contacted", "negotiating")],
    "booked": [("new", "contacted", "negotiating", "booked"), ("new", "contacted", "booked")],
    "lost": [("new", "contacted", "lost"), ("new", "contacted", "negotiating", "lost"), ("new", "lost")],
    "spam": [("spam",)],
}
STATUS_WEIGHTS = {"new": 8, "contacted": 14, "negotiating": 10, "booked": 26, "lost": 27, "spam": 15}
LISTING_WEIGHTS = {"live": 62, "paused": 8, "pending_approval": 10, "draft": 12, "rejected": 8}
MEMBERSHIP_WEIGHTS = {"active": 60, "expiring_soon": 10, "expired": 12, "cancelled": 10, "suspended": 8}


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
    for n, (key, convert) in enumerate(zip(keys, converters)):
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


# --- Entry point ------------------------------------------------------------------------------


def seed(scale: str = "demo", random_seed: int = 2026, echo: Callable[[str], None] = print) -> None:
    """Fill an empty database with demo data at `scale`, or refuse if it already holds data."""
    if database_has_data():
        raise click.ClickException(
            "The database already has users or CRM data; seed-demo only fills an empty database. "
            "Point DATABASE_URL at a new database and run `flask db upgrade` first.")
    started = time.perf_counter()
    echo(f"Seeding {scale} data (random seed {random_seed}) ...")
    counts = Generator(SCALES[scale], random_seed, echo).run()
    echo(f"Done in {time.perf_counter() - started:.1f} s: " + ", ".join(f"{n:,} {name}" for name, n in counts.items()))
    echo("")
    echo("Demo accounts:")
    echo(f"  admin  {ADMIN_EMAIL} / {ADMIN_PASSWORD}   (CRM at /admin/crm)")
    echo(f"  owner  {OWNER_EMAIL} / {OWNER_PASSWORD}   (other owners share this password)")


def database_has_data() -> bool:
    return any(db.session.scalar(select(func.count()).select_from(model))
               for model in (User, Contact, Property, Enquiry))


# --- The generator -------------------------------------------------------------------------------


class Generator:
    """Builds every table's rows in dependency order and bulk-inserts them."""

    def __init__(self, scale: Scale, random_seed: int, echo: Callable[[str], None]):
        self.scale = scale
        self.echo = echo
        self.rng = random.Random(random_seed)
        self.faker = Faker("en_GB")
        self.faker.seed_instance(random_seed)
        self.now = utcnow().replace(microsecond=0)
        self.today = self.now.date()
        self.counts: dict[str, int] = {}
        self.sqlite = db.engine.dialect.name == "sqlite"
        self.stage_started = time.perf_counter()
        self.make_pools()

    # -- plumbing --

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
        sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c.name) for c in columns)}) "
               f"VALUES ({', '.join([mark] * len(columns))})")
        as_tuple = row_reader(keys, [driver_value(column.type, self.sqlite) for column in columns])
        connection = db.session.connection()
        for start in range(0, len(rows), self.scale.chunk):
            connection.exec_driver_sql(sql, [as_tuple(row) for row in rows[start:start + self.scale.chunk]])
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

    # -- stages --

    def run(self) -> dict[str, int]:
        """Make everything in one transaction, so a failed seed leaves the database empty."""
        self.tune_sqlite()
        # Building an index once over sorted rows is far quicker than updating it row by row.
        indexes = [index for model in BULK_TABLES for index in model.__table__.indexes]
        for index in indexes:
            index.drop(db.session.connection())
        self.users()
        self.owner_contacts()
        self.properties()
        self.memberships()
        self.plan_enquiries()
        self.guest_contacts()
        self.enquiries()
        self.totals()
        self.segments()
        self.top_up()
        for index in indexes:
            index.create(db.session.connection())
        self.done("indexes rebuilt", len(indexes))
        self.reset_sequences()
        started = time.perf_counter()
        db.session.commit()
        self.echo(f"  {'commit':<34} {'':>10}  {time.perf_counter() - started:6.1f} s")
        started = time.perf_counter()
        # Fresh statistics let the query planner pick the right index for each list filter.
        with db.engine.connect() as connection:
            connection.execute(text("ANALYZE"))
            connection.commit()
        self.echo(f"  {'statistics (ANALYZE)':<34} {'':>10}  {time.perf_counter() - started:6.1f} s")
        return self.counts

    def tune_sqlite(self) -> None:
        """Give this connection a large page cache, so index pages stay in memory while loading."""
        if db.engine.dialect.name == "sqlite":
            db.session.execute(text("PRAGMA cache_size = -1000000"))  # in KiB: about 1 GB
            db.session.execute(text("PRAGMA temp_store = MEMORY"))

    def users(self) -> None:
        scale, rng = self.scale, self.rng
        owner_hash = hash_password(OWNER_PASSWORD)  # one hash for every owner: Argon2 is slow on purpose
        self.admin_id = 1
        rows = [dict(id=1, email=ADMIN_EMAIL, password_hash=hash_password(ADMIN_PASSWORD), role="admin",
                     first_name="Priya", last_name="Shah", phone=None, business_name=None,
                     created_at=self.now - timedelta(days=800))]
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
            rows.append(dict(id=user_id, email=email, password_hash=owner_hash, role="owner", first_name=first,
                             last_name=last, phone=phone, business_name=business,
                             created_at=self.now - timedelta(days=rng.randint(400, 790), minutes=rng.randrange(1440))))
        self.owner_created = {row["id"]: row["created_at"] for row in rows}
        self.user_email = {row["id"]: row["email"] for row in rows}
        self.insert(User, rows)
        self.done("users (admin + owners)", len(rows))

    def owner_contacts(self) -> None:
        rng = self.rng
        contacts, activity = [], []
        for user_id, contact_id, email, first, last, business, phone in self.owners:
            created = self.owner_created[user_id]
            contacts.append(dict(
                id=contact_id, type="owner", first_name=first, last_name=last, email=email, phone=phone,
                address=rng.choice(self.streets), city=rng.choice(self.cities), postcode=rng.choice(self.postcodes),
                country="GB", business_name=business, tax_id=f"GB{rng.randrange(10**8, 10**9)}" if business else None,
                bank_details=f"Sort code {rng.randint(10, 99)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}, "
                             f"account ending {rng.randint(1000, 9999)}",
                company_name=None, event_type=None, status="active", notes=None, created_at=created,
                updated_at=created, last_contacted_at=None, user_id=user_id))
            activity.append(self.activity_row("contact", contact_id, "created", created,
                                              {"type": {"before": None, "after": "owner"}}, reason="Owner signed up"))
        self.insert(Contact, contacts)
        self.insert(ActivityLog, activity)
        self.done("owner contacts", len(contacts))

    def properties(self) -> None:
        scale, rng = self.scale, self.rng
        n_props = scale.properties
        statuses = weighted(rng, LISTING_WEIGHTS, n_props)
        # The demo owner has a handful of listings, most of them live, so their dashboard has life in it;
        # then every other owner gets one listing before anyone gets a second.
        demo_owner, others = self.owners[0], self.owners[1:] or self.owners
        demo_statuses = ["live", "live", "live", "paused", "draft"][:max(1, n_props - len(LISTING_WEIGHTS))]
        owner_of = [demo_owner] * len(demo_statuses)
        owner_of += others[:n_props - len(owner_of)]
        owner_of += [rng.choice(others) for _ in range(n_props - len(owner_of))]
        statuses[:len(demo_statuses)] = demo_statuses
        for k, status in enumerate(LISTING_WEIGHTS):  # every listing status, whatever the scale
            statuses[n_props - 1 - k] = status

        platform, crm, activity = [], [], []
        self.listings = []  # (published_at, property id) for listings that take enquiries
        self.prop_owner_user = {}
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
            description = (f"A {kind.lower()} in {location.split(',')[0]} sleeping {max_guests} in {bedrooms} "
                           f"bedroom{'s' if bedrooms > 1 else ''}, with {features[0]}, {features[1]} "
                           f"and {features[2]}. "
                           f"In the heart of the {region}: {rng.choice(NEARBY)}. "
                           f"Ideal for {rng.choice(GOOD_FOR)}.")
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
            platform.append(dict(id=pid, owner_id=user_id, title=title, location=location, description=description,
                                 bedrooms=bedrooms, bathrooms=bathrooms, max_guests=max_guests, price_per_night=price,
                                 status=status, rejection_reason=rejection, view_count=views, created_at=created,
                                 updated_at=updated, published_at=published))
            crm.append(dict(id=pid, owner_id=contact_id, property_id=pid, title=title, location=location,
                            bedrooms=bedrooms, bathrooms=bathrooms, max_guests=max_guests, price_per_night=price,
                            listing_status=status, membership_tier=None, view_count=views, enquiry_count=0,
                            booking_count=0, total_revenue=Decimal("0.00"), created_at=created, updated_at=updated,
                            published_at=published, expires_at=published + timedelta(days=365) if published else None,
                            internal_notes=rng.choice([None, None, None, "Owner prefers phone calls.",
                                                       "Check the septic tank note before approving changes."]),
                            rejection_reason=rejection))
            self.prop_owner_user[pid] = user_id
            self.prop_info[pid] = (title, max_guests, price, contact_id)
            first_status = "draft" if status == "draft" else "pending_approval"
            activity.append(self.activity_row("property", pid, "created", created,
                                              {"listing_status": {"before": None, "after": first_status}},
                                              actor=user_id))
            if status in ("live", "paused", "rejected"):
                decided = published or created + timedelta(days=rng.randint(1, 5))
                after = "rejected" if status == "rejected" else "live"
                changed = {"listing_status": {"before": "pending_approval", "after": after}}
                if published:
                    changed["published_at"] = {"before": None, "after": published.isoformat()}
                activity.append(self.activity_row("property", pid, "status_changed", decided, changed,
                                                  actor=self.admin_id, reason=rejection))
            if status == "paused":
                activity.append(self.activity_row("property", pid, "status_changed", updated,
                                                  {"listing_status": {"before": "live", "after": "paused"}},
                                                  actor=user_id))
        self.listings.sort()
        self.listing_times = [published for published, _ in self.listings]
        self.insert(Property, platform)
        self.insert(CrmProperty, crm)
        self.insert(ActivityLog, activity)
        self.done("properties (platform + CRM)", len(platform))

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

    def plan_enquiries(self) -> None:
        """Decide when each enquiry arrives, for which listing and from which guest."""
        scale, rng = self.scale, self.rng
        n = scale.enquiries
        earliest = self.now - timedelta(days=365)
        first_listing = self.listing_times[0]
        earliest = max(earliest, first_listing + timedelta(hours=1))
        span = int((self.now - timedelta(minutes=5) - earliest).total_seconds())
        arrivals = sorted(earliest + timedelta(seconds=rng.randrange(span)) for _ in range(n))
        self.arrivals = arrivals
        self.enquiry_property = []
        for at in arrivals:
            eligible = bisect_right(self.listing_times, at)
            self.enquiry_property.append(self.listings[rng.randrange(eligible)][1])
        guests = scale.guests
        guest_of = list(range(guests))[:n] + [rng.randrange(guests) for _ in range(max(0, n - guests))]
        rng.shuffle(guest_of)
        self.enquiry_guest = guest_of
        self.guest_first_seen: dict[int, datetime] = {}
        for at, g in zip(arrivals, guest_of):
            self.guest_first_seen.setdefault(g, at)

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
            rows.append(dict(
                id=contact_id, type="guest", first_name=first, last_name=last, email=email, phone=phone,
                address=None, city=rng.choice(self.cities) if rng.random() < 0.3 else None, postcode=None,
                country="GB", business_name=None, tax_id=None, bank_details=None,
                company_name=rng.choice(self.companies) if rng.random() < 0.08 else None, event_type=None,
                status=rng.choices(["active", "inactive", "blocked"], weights=[95, 4, 1])[0], notes=None,
                created_at=created, updated_at=created, last_contacted_at=None, user_id=None))
            activity.append(self.activity_row("contact", contact_id, "created", created,
                                              {"type": {"before": None, "after": "guest"}},
                                              reason="First enquiry received"))
        self.insert(Contact, rows)
        self.insert(ActivityLog, activity)
        self.done("guest contacts", len(rows))

    def enquiries(self) -> None:
        """Make each enquiry on both sides with its whole history, a chunk at a time."""
        scale, rng = self.scale, self.rng
        n = scale.enquiries
        finals = weighted(rng, scale.status_weights or STATUS_WEIGHTS, n)
        self.event_types = weighted(rng, EVENT_WEIGHTS, n)
        for k, status in enumerate(PATHS):  # the oldest few take every path, so every status is present
            if k < n:
                finals[k] = status
        self.prop_totals = {pid: [0, 0, Decimal("0.00")] for pid in self.prop_info}
        self.guest_last_contacted: dict[int, datetime] = {}
        self.guest_event_type: dict[int, str] = {}
        self.guest_revenue: dict[int, Decimal] = {}
        self.booked_dates: set[tuple[int, date]] = set()
        for start in range(0, n, scale.chunk):
            tables = self.enquiry_chunk(finals, start)
            for model, rows in zip((Enquiry, CrmEnquiry, EnquiryStatusHistory, Interaction, ActivityLog), tables):
                self.insert(model, rows)
            made = min(n, start + scale.chunk)
            self.done(f"enquiries {made:,}/{n:,} (+ history, timeline)", len(tables[0]))

    def enquiry_chunk(self, finals: list[str], start: int) -> tuple[list[dict], ...]:
        """Make one chunk of enquiries: rows for enquiries, crm_enquiries, history, interactions, activity."""
        platform, crm, history, interactions, activity = [], [], [], [], []
        for k in range(start, min(len(finals), start + self.scale.chunk)):
            p, c, h, i, a = self.enquiry(k + 1, finals[k])
            platform.append(p)
            crm.append(c)
            history.extend(h)
            interactions.extend(i)
            activity.extend(a)
        for current, following in zip(history, history[1:] + [None]):
            current["left_at"] = following["changed_at"] if following else None
        return platform, crm, history, interactions, activity

    def enquiry(self, eid: int, final: str):
        rng = self.rng
        k = eid - 1
        created = self.arrivals[k]
        pid = self.enquiry_property[k]
        title, max_guests, price, owner_contact = self.prop_info[pid]
        owner_user = self.prop_owner_user[pid]
        g = self.enquiry_guest[k]
        contact_id = self.guest_base + g + 1
        name, email, phone = self.guests[g]
        path = rng.choice(PATHS[final])
        is_spam = path[0] == "spam"

        event_type = self.event_types[k]
        event_date = created.date() + timedelta(days=rng.randint(3, 13) if rng.random() < 0.1 else rng.randint(14, 300))
        guests_count = max(1, min(max_guests + 6, int(rng.gauss(max_guests * 0.8, max_guests * 0.3))))
        nights = rng.randint(2, 4)
        budget = money(float(price) * nights * rng.uniform(0.3, 1.6) / 50) * 50 if rng.random() < 0.75 else None
        if is_spam:
            message = rng.choice(SPAM_MESSAGES)
            reasons = rng.choice(SPAM_REASONS)
            guests_count, budget, event_type = None, None, None
        else:
            occasion = rng.choice(OCCASIONS[event_type])
            message = (f"Hello, we are planning {occasion} for {guests_count} people around "
                       f"{event_date:%d %B %Y}, for {nights} nights. {rng.choice(QUESTIONS)} "
                       f"Many thanks, {name.split()[0]}")
            reasons = []
            self.guest_event_type[g] = event_type
        source = rng.choices(["form", "website", "email", "phone"], weights=[60, 25, 10, 5])[0]
        ip = rng.choice(self.ips) if source in ("form", "website") else None

        # Walk the path; steps that would land in the future have not happened yet.
        steps = [(None, path[0], created)]
        at = created
        for before, after in zip(path, path[1:]):
            if before == "new":
                at += timedelta(minutes=rng.randint(20, 2880))  # a first reply within two days
            else:
                at += timedelta(hours=rng.randint(6, 24 * 14))
            if at > self.now:
                break
            steps.append((before, after, at))
        status = steps[-1][1]
        first_response = steps[1][2] if len(steps) > 1 else None
        closed = steps[-1][2] if status in ("booked", "lost") else None
        booking_value = money(float(price) * nights * rng.uniform(0.9, 1.2)) if status == "booked" else None
        lost_reason = rng.choice(LOST_REASONS) if status == "lost" else None
        date_booked = (pid, event_date) in self.booked_dates
        if status == "booked":
            self.booked_dates.add((pid, event_date))

        totals = self.prop_totals[pid]
        totals[0] += not is_spam  # spam never counts as an enquiry
        if status == "booked":
            totals[1] += 1
            totals[2] += booking_value
            self.guest_revenue[g] = self.guest_revenue.get(g, Decimal("0")) + booking_value

        seen = created + timedelta(hours=3)
        priority = "low" if is_spam else ("high" if (budget or 0) >= 3000 or event_type == "wedding"
                                          else rng.choices(["low", "medium", "high"], weights=[20, 65, 15])[0])
        assigned = self.admin_id if not is_spam and rng.random() < 0.25 else None
        platform = dict(id=eid, property_id=pid, guest_name=name, guest_email=email, guest_phone=phone,
                        event_type=event_type, event_date=event_date, estimated_guests=guests_count,
                        estimated_budget=budget, message=message, source=source, ip_address=ip,
                        user_agent=rng.choice(USER_AGENTS) if ip else None, spam_reasons=reasons, submission_count=1,
                        created_at=created, updated_at=created)
        crm = dict(id=eid, contact_id=contact_id, owner_id=owner_contact, property_id=pid, source_enquiry_id=eid,
                   status=status, event_type=event_type, event_date=event_date, estimated_guests=guests_count,
                   estimated_budget=budget, message=message, guest_email=email, guest_phone=phone, guest_name=name,
                   created_at=created, first_response_at=first_response, last_updated_at=steps[-1][2],
                   closed_at=closed, converted_to_booking=status == "booked", booking_value=booking_value,
                   assigned_to_admin_id=assigned,
                   internal_notes=rng.choice(NOTES) if status in ("negotiating", "booked") and rng.random() < 0.3
                   else None,
                   priority=priority, source=source, lost_reason=lost_reason, spam_reasons=reasons,
                   fit_over_capacity=bool(guests_count and guests_count > max_guests), fit_date_booked=date_booked,
                   fit_budget_below_price=bool(budget is not None and budget < price),
                   fit_short_notice=not is_spam and (event_date - created.date()).days < 14,
                   owner_seen_at=first_response or (seen if seen < self.now and rng.random() < 0.5 else None),
                   furthest_stage=max(STAGE_RANK.get(step[1], 0) for step in steps))

        history = [dict(enquiry_id=eid, from_status=None, to_status=path[0], changed_at=created, changed_by_id=None,
                        performed_by="system", reason="; ".join(reasons) or None)]
        interactions = [dict(contact_id=contact_id, related_property_id=pid, related_enquiry_id=eid, type="message",
                             subject=f"Enquiry about {title}", content=message, direction="inbound",
                             initiated_by="contact", created_by_id=None, created_at=created,
                             read_at=first_response, meta={"source": source, "spam_reasons": reasons})]
        activity = [self.activity_row("enquiry", eid, "created", created,
                                      {"status": {"before": None, "after": path[0]}}, ip=ip,
                                      reason=("Quarantined as spam: " + "; ".join(reasons)) if reasons else None)]
        for before, after, at in steps[1:]:
            actor = self.admin_id if assigned or rng.random() < 0.3 else owner_user
            who = self.user_email[actor]
            role = "admin" if actor == self.admin_id else "owner"
            changed = {"status": {"before": before, "after": after}}
            summary = f"Status changed from {before} to {after}"
            reason = None
            if before == "new":
                changed["first_response_at"] = {"before": None, "after": at.isoformat()}
                if rng.random() < 0.6:
                    interactions.append(dict(
                        contact_id=contact_id, related_property_id=pid, related_enquiry_id=eid, type="email",
                        subject=f"Re: Enquiry about {title}", content=rng.choice(REPLIES), direction="outbound",
                        initiated_by=role, created_by_id=actor, created_at=at - timedelta(minutes=1), read_at=None,
                        meta={}))
                    self.guest_last_contacted[g] = at
            if after in ("booked", "lost"):
                changed["closed_at"] = {"before": None, "after": at.isoformat()}
            if after == "booked":
                changed["converted_to_booking"] = {"before": False, "after": True}
                changed["booking_value"] = {"before": None, "after": float(booking_value)}
                summary += f" (booking value £{booking_value:,.2f})"
            if after == "lost":
                changed["lost_reason"] = {"before": None, "after": lost_reason}
                summary += f": {lost_reason}"
                reason = lost_reason
            history.append(dict(enquiry_id=eid, from_status=before, to_status=after, changed_at=at,
                                changed_by_id=actor, performed_by=who, reason=reason))
            interactions.append(dict(contact_id=contact_id, related_property_id=pid, related_enquiry_id=eid, type="status_change",
                                     subject=summary, content="", direction="internal", initiated_by=role,
                                     created_by_id=actor, created_at=at, read_at=None,
                                     meta={"from": before, "to": after, "by": who}))
            activity.append(self.activity_row("enquiry", eid, "status_changed", at, changed, actor=actor,
                                              reason=reason))
        if len(steps) > 1 and rng.random() < 0.15:
            at = min(self.now, steps[-1][2] + timedelta(hours=rng.randint(1, 48)))
            interactions.append(dict(contact_id=contact_id, related_property_id=pid, related_enquiry_id=eid, type="note",
                                     subject=None, content=rng.choice(NOTES), direction="internal",
                                     initiated_by="admin",
                                     created_by_id=self.admin_id, created_at=at, read_at=None, meta={}))
        return platform, crm, history, interactions, activity

    def activity_row(self, entity_type: str, entity_id: int, action: str, at: datetime, changed: dict,
                     actor: int | None = None, reason: str | None = None, ip: str | None = None) -> dict:
        return dict(entity_type=entity_type, entity_id=entity_id, action=action, changed_fields=changed,
                    performed_by=self.user_email[actor] if actor else "system", performed_by_id=actor,
                    ip_address=ip, timestamp=at, reason=reason, meta={})

    def totals(self) -> None:
        """Write the counters the enquiries imply onto properties, and guests' last-contacted dates."""
        props = CrmProperty.__table__
        rows = [{"b_id": pid, "enquiries": t[0], "bookings": t[1], "revenue": t[2]}
                for pid, t in self.prop_totals.items() if t[0]]
        if rows:
            db.session.execute(update(props).where(props.c.id == bindparam("b_id")).values(
                enquiry_count=bindparam("enquiries"), booking_count=bindparam("bookings"),
                total_revenue=bindparam("revenue")), rows)
        contacts = Contact.__table__
        rows = [{"b_id": self.guest_base + g + 1, "contacted": self.guest_last_contacted.get(g),
                 "event_type": self.guest_event_type.get(g)}
                for g in range(self.scale.guests) if g in self.guest_last_contacted or g in self.guest_event_type]
        if rows:
            db.session.execute(update(contacts).where(contacts.c.id == bindparam("b_id")).values(
                last_contacted_at=bindparam("contacted"), event_type=bindparam("event_type")), rows)
        self.done("property counters, guest details", len(self.prop_totals))

    def segments(self) -> None:
        """Put some contacts in segments, with a little history of ones that left."""
        rng, limit = self.rng, self.scale.segments
        rows = []
        big_spenders = sorted(self.guest_revenue.items(), key=lambda item: item[1], reverse=True)
        for g, revenue in big_spenders[:limit // 2]:
            rows.append(self.segment_row(self.guest_base + g + 1, "high_value", revenue, rng.randint(60, 100),
                                         "Booked more than most guests"))
        lapsed = [g for g, seen in self.guest_first_seen.items()
                  if seen < self.now - timedelta(days=200) and g not in self.guest_revenue]
        for g in lapsed[:limit // 4]:
            rows.append(self.segment_row(self.guest_base + g + 1, "inactive", Decimal("0"), rng.randint(0, 20),
                                         "No enquiry for six months"))
        for owner in self.owners[:limit // 4]:
            segment = rng.choice(["premium", "at_risk", "churning"])
            rows.append(self.segment_row(owner[1], segment, Decimal(rng.randint(0, 800)), rng.randint(10, 95),
                                         {"premium": "Gold member", "at_risk": "Payment failed",
                                          "churning": "Membership lapsing"}[segment]))
        for row in rows[::5]:  # some left their segment, and the history is kept
            row["removed_at"] = min(self.now, row["added_at"] + timedelta(days=rng.randint(5, 60)))
        self.insert(Segment, rows)
        self.done("segments", len(rows))

    def segment_row(self, contact_id: int, segment: str, value: Decimal, score: int, reason: str) -> dict:
        return dict(contact_id=contact_id, segment=segment, lifetime_value=value, engagement_score=score,
                    added_at=self.now - timedelta(days=self.rng.randint(1, 120)), removed_at=None, reason=reason)

    def top_up(self) -> None:
        """Add calls, notes and profile edits until the timeline tables reach the scale's totals."""
        rng = self.rng
        missing = self.scale.interactions - self.counts.get("crm_interactions", 0)
        while missing > 0:
            rows = []
            for _ in range(min(missing, self.scale.chunk)):
                g = rng.randrange(self.scale.guests)
                kind = rng.choice(["phone", "note"])
                rows.append(dict(contact_id=self.guest_base + g + 1, related_property_id=None, related_enquiry_id=None,
                                 type=kind,
                                 subject="Phone call" if kind == "phone" else None, content=rng.choice(NOTES),
                                 direction="outbound" if kind == "phone" else "internal", initiated_by="admin",
                                 created_by_id=self.admin_id, created_at=self.since_first_seen(g),
                                 read_at=None, meta={}))
            self.insert(Interaction, rows)
            missing -= len(rows)
            self.done("extra calls and notes", len(rows))
        missing = self.scale.activity - self.counts.get("crm_activity_log", 0)
        while missing > 0:
            rows = []
            for _ in range(min(missing, self.scale.chunk)):
                g = rng.randrange(self.scale.guests)
                rows.append(self.activity_row("contact", self.guest_base + g + 1, "updated",
                                              self.since_first_seen(g),
                                              {"phone": {"before": None, "after": rng.choice(self.phones)}},
                                              actor=self.admin_id))
            self.insert(ActivityLog, rows)
            missing -= len(rows)
            self.done("extra contact edits", len(rows))

    def since_first_seen(self, g: int) -> datetime:
        return self.when(self.guest_first_seen.get(g, self.now - timedelta(days=1)), self.now)

    def reset_sequences(self) -> None:
        """Move PostgreSQL's id sequences past the ids given here, so the app's next insert fits."""
        if db.engine.dialect.name != "postgresql":
            return
        for model in (User, Contact, Property, CrmProperty, Membership, Enquiry, CrmEnquiry):
            table = model.__tablename__
            db.session.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))"))
