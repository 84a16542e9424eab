"""Demo and benchmark data: British holiday lets, their owners, guests, enquiries, memberships and CRM history.

One generator serves both scales. Each module makes one kind of thing (people, listings,
memberships, enquiries and their history); the Generator runs their stages in dependency order in
one transaction. Ids are allocated here, which keeps a CRM enquiry's id equal to its platform
enquiry's id without asking the database, and the counters on crm_properties are totalled from the
enquiries as they are made. The same random seed (and clock) always makes the same rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import click
from sqlalchemy import func, select, text

from ..extensions import db
from ..models import Contact, CrmEnquiry, CrmProperty, Enquiry, Membership, Property, User
from ..reports import rollup
from .enquiries import Enquiries
from .listings import Listings
from .memberships import Memberships
from .people import ADMIN_EMAIL, ADMIN_PASSWORD, OWNER_EMAIL, OWNER_PASSWORD, People
from .writer import BULK_TABLES, SCALES, Scale

__all__ = ["ADMIN_EMAIL", "ADMIN_PASSWORD", "OWNER_EMAIL", "OWNER_PASSWORD", "SCALES", "Generator", "Scale", "seed"]


def seed(scale: str = "demo", random_seed: int = 2026, echo: Callable[[str], None] = print) -> None:
    """Fill an empty database with demo data at `scale`, or refuse if it already holds data."""
    if database_has_data():
        raise click.ClickException(
            "The database already has users or CRM data; seed-demo only fills an empty database. "
            "Point DATABASE_URL at a new database and run `flask db upgrade` first."
        )
    started = time.perf_counter()
    echo(f"Seeding {scale} data (random seed {random_seed}) ...")
    counts = Generator(SCALES[scale], random_seed, echo).run()
    echo(f"Done in {time.perf_counter() - started:.1f} s: " + ", ".join(f"{n:,} {name}" for name, n in counts.items()))
    echo("")
    echo("Demo accounts:")
    echo(f"  admin  {ADMIN_EMAIL} / {ADMIN_PASSWORD}   (CRM at /admin/crm)")
    echo(f"  owner  {OWNER_EMAIL} / {OWNER_PASSWORD}   (other owners share this password)")


def database_has_data() -> bool:
    return any(
        db.session.scalar(select(func.count()).select_from(model)) for model in (User, Contact, Property, Enquiry)
    )


class Generator(People, Listings, Memberships, Enquiries):
    """Builds every table's rows in dependency order and bulk-inserts them."""

    def run(self) -> dict[str, int]:
        """Make everything in one transaction, so a failed seed leaves the database empty."""
        self.tune_sqlite()
        # Building an index once over sorted rows is far quicker than updating it row by row.
        indexes = [index for model in BULK_TABLES for index in model.__table__.indexes]
        for index in indexes:
            index.drop(db.session.connection())
        # Likewise the reports' rollup: summed once at the end, not trigger by trigger.
        rollup.uninstall(db.session.connection())
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
        self.done("report rollup", rollup.rebuild(db.session.connection()))
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

    def reset_sequences(self) -> None:
        """Move PostgreSQL's id sequences past the ids given here, so the app's next insert fits."""
        if db.engine.dialect.name != "postgresql":
            return
        for model in (User, Contact, Property, CrmProperty, Membership, Enquiry, CrmEnquiry):
            table = model.__tablename__
            db.session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))"
                )
            )
