"""Reads that SQLite serves in index order are served in index order on PostgreSQL too (no timings)."""

import pytest
from sqlalchemy import select, text

from crm.api.reports import SEGMENTS
from crm.extensions import db
from crm.models import Segment

from .conftest import BACKEND


def plan(statement) -> str:
    """The database's own plan for `statement`, as one string."""
    compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
    if BACKEND == "sqlite":
        return " | ".join(row[-1] for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    # The test's tables are nearly empty; without this PostgreSQL would read them whole and sort.
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    return " | ".join(row[0] for row in db.session.execute(text(f"EXPLAIN {compiled}")))


@pytest.mark.parametrize("segment", [None, "at_risk"])
def test_the_current_segments_page_reads_an_index_in_order(app, segment):
    """GET /api/crm/segments: "removed_at IS NULL" is no equality to PostgreSQL, so it needs a partial index."""
    statement = select(Segment).where(Segment.removed_at.is_(None))
    if segment:
        statement = statement.where(Segment.segment == segment)
    found = plan(statement.order_by(*SEGMENTS.order_by()).limit(51))
    if BACKEND == "sqlite":
        assert "TEMP B-TREE" not in found
    else:
        assert "Sort" not in found
        assert "ix_crm_segments_current_" in found
