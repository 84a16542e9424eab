"""The reports' rollup: enquiries by day, and every measured duration, kept by database triggers.

Triggers, not application hooks, keep crm_report_days, crm_report_months (by owner and property) and
their all-time crm_report_totals, crm_report_durations and its histogram (crm_report_duration_days and
_months) in step: they run in the same transaction as every change to an enquiry, a status-history row
or a property's tier, whichever code path (ORM, bulk UPDATE, a cascade) made it. rebuild() recomputes
them all from the rows (the daily job and the seed call it; a second run changes nothing). Each figure's
contribution is written once below and used by both the triggers and rebuild().
"""

from __future__ import annotations

from sqlalchemy import literal_column
from sqlalchemy.engine import Connection

from ..extensions import db
from .sql import day_of, month_start, seconds_between

TIMED_STATUSES = ("new", "contacted", "negotiating")
STAGE_COUNTERS = {"contacted": 1, "negotiating": 2, "booked": 3}
LOST_COUNTERS = {"lost_new": 0, "lost_contacted": 1, "lost_negotiating": 2, "lost_booked": 3}
ENQUIRY_COLUMNS = (
    "status",
    "furthest_stage",
    "created_at",
    "source",
    "event_type",
    "lost_reason",
    "booking_value",
    "property_id",
    "owner_id",
    "first_response_at",
)
HISTORY_COLUMNS = ("to_status", "changed_at", "left_at")


def counters(r: str) -> dict[str, str]:
    """Each crm_report_days counter's contribution of one enquiry row, aliased `r` (a non-spam one)."""
    found = {"enquiries": "1"}
    for name, rank in STAGE_COUNTERS.items():
        found[name] = f"CASE WHEN {r}.furthest_stage >= {rank} THEN 1 ELSE 0 END"
    for name, rank in LOST_COUNTERS.items():
        found[name] = f"CASE WHEN {r}.status = 'lost' AND {r}.furthest_stage = {rank} THEN 1 ELSE 0 END"
    found["bookings"] = f"CASE WHEN {r}.status = 'booked' THEN 1 ELSE 0 END"
    found["booking_value"] = f"CASE WHEN {r}.status = 'booked' THEN COALESCE({r}.booking_value, 0) ELSE 0 END"
    return found


def dimensions(r: str) -> dict[str, tuple[str, str]]:
    """Each dimension's key for an enquiry row `r`, and the condition for the row to count in it."""
    return {
        "all": ("''", "1 = 1"),
        "source": (f"{r}.source", "1 = 1"),
        "event_type": (f"COALESCE({r}.event_type, '')", "1 = 1"),
        # The property's tier now: a change of tier moves its enquiries (see the crm_properties trigger).
        "tier": (
            f"COALESCE((SELECT p.membership_tier FROM crm_properties p WHERE p.id = {r}.property_id), '')",
            "1 = 1",
        ),
        "lost_reason": (f"COALESCE({r}.lost_reason, '')", f"{r}.status = 'lost'"),
    }


def _sql(expression, dialect) -> str:
    return str(expression.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def _day(column: str, dialect) -> str:
    return _sql(day_of(literal_column(column)), dialect)


def _month(column: str, dialect) -> str:
    return _sql(month_start(literal_column(column)), dialect)


def _seconds(later: str, earlier: str, dialect) -> str:
    return _sql(seconds_between(literal_column(later), literal_column(earlier)), dialect)


def bucket(seconds: str) -> str:
    """A monotone step of `seconds`: digits and the first two of them (under 10 s, and negatives, are 0)."""
    whole = f"CAST(CAST({seconds} AS BIGINT) AS TEXT)"
    return f"CASE WHEN {seconds} < 10 THEN 0 ELSE LENGTH({whole}) * 100 + CAST(SUBSTR({whole}, 1, 2) AS INTEGER) END"


def _upsert(table: str, keys: tuple[str, ...], columns: list[str]) -> str:
    added = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in columns)
    return f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {added}"


ENTITIES = {"owner": "owner_id", "property": "property_id"}


def entity_counters(r: str, dialect) -> dict[str, str]:
    """Each crm_report_months counter's contribution of one (non-spam) enquiry row `r`.

    responded and response_seconds are the enquiry's first response as crm_report_durations records
    it (add_first_response), summed by owner so that the slowest owners on average need no scan of every reply.
    """
    found = counters(r)
    answered, seconds = first_response(r, dialect)
    return {
        **{name: found[name] for name in ("enquiries", "bookings", "booking_value")},
        "responded": f"CASE WHEN {answered} THEN 1 ELSE 0 END",
        # Whole seconds, so that adding and taking away leaves no rounding residue.
        "response_seconds": f"CASE WHEN {answered} THEN CAST(ROUND({seconds}) AS BIGINT) ELSE 0 END",
    }


def add_enquiry(r: str, sign: int, dialect) -> list[str]:
    """Add (sign 1) or take away (sign -1) the enquiry row `r` in crm_report_days, crm_report_months and
    crm_report_totals."""
    parts = counters(r)
    keyed = " UNION ALL ".join(
        f"SELECT '{name}' AS dimension, {key} AS key WHERE {condition}"
        for name, (key, condition) in dimensions(r).items()
    )
    values = ", ".join(f"{sign} * ({expression})" for expression in parts.values())
    entity_parts = entity_counters(r, dialect)
    entities = " UNION ALL ".join(
        f"SELECT '{name}' AS dimension, COALESCE({r}.{column}, 0) AS key" for name, column in ENTITIES.items()
    )
    entity_values = ", ".join(f"{sign} * ({expression})" for expression in entity_parts.values())
    entity_columns = ", ".join(entity_parts)
    return [
        f"INSERT INTO crm_report_days (dimension, day, key, {', '.join(parts)}) "
        f"SELECT d.dimension, {_day(f'{r}.created_at', dialect)}, d.key, {values} FROM ({keyed}) AS d "
        f"WHERE {r}.status <> 'spam'" + _upsert("crm_report_days", ("dimension", "day", "key"), list(parts)),
        f"INSERT INTO crm_report_months (dimension, month, key, {entity_columns}) "
        f"SELECT d.dimension, {_month(f'{r}.created_at', dialect)}, d.key, {entity_values} FROM ({entities}) AS d "
        f"WHERE {r}.status <> 'spam'" + _upsert("crm_report_months", ("dimension", "month", "key"), list(entity_parts)),
        f"INSERT INTO crm_report_totals (dimension, key, {entity_columns}) "
        f"SELECT d.dimension, d.key, {entity_values} FROM ({entities}) AS d "
        f"WHERE {r}.status <> 'spam'" + _upsert("crm_report_totals", ("dimension", "key"), list(entity_parts)),
    ]


def _histogram(measure_condition: str, source_id: str, sign: int, dialect) -> list[str]:
    """Count (sign 1) or uncount (sign -1) one recorded duration in the histogram by day and by month."""
    sign_seconds = "seconds" if sign > 0 else "-seconds"
    return [
        f"INSERT INTO {table} (measure, {span}, bucket, durations, seconds) "
        f"SELECT measure, {start}, bucket, {sign}, {sign_seconds} FROM crm_report_durations "
        f"WHERE {measure_condition} AND id = {source_id}"
        + _upsert(table, ("measure", span, "bucket"), ["durations", "seconds"])
        for table, span, start in (
            ("crm_report_duration_days", "day", "day"),
            ("crm_report_duration_months", "month", _month("day", dialect)),
        )
    ]


def _add_duration(measure: str, row: str, day: str, seconds: str, owner: str, condition: str) -> str:
    return (
        "INSERT INTO crm_report_durations (measure, id, day, seconds, bucket, owner_id) "
        f"SELECT m, rid, d, s, {bucket('s')}, o FROM (SELECT {measure} AS m, {row} AS rid, {day} AS d, "
        f"{seconds} AS s, {owner} AS o WHERE {condition}) AS f"
    )


def first_response(r: str, dialect) -> tuple[str, str]:
    """Whether the enquiry row `r` has had its first response, and the seconds it took."""
    return f"{r}.first_response_at IS NOT NULL", _seconds(f"{r}.first_response_at", f"{r}.created_at", dialect)


def add_first_response(r: str, dialect) -> list[str]:
    """Record the enquiry row `r`'s time to first response, and count it in the histogram."""
    answered, seconds = first_response(r, dialect)
    condition = f"{r}.status <> 'spam' AND {answered}"
    return [
        _add_duration(
            "'first_response'", f"{r}.id", _day(f"{r}.created_at", dialect), seconds, f"{r}.owner_id", condition
        ),
        *_histogram("measure = 'first_response'", f"{r}.id", 1, dialect),
    ]


def remove_first_response(r: str, dialect) -> list[str]:
    return [
        *_histogram("measure = 'first_response'", f"{r}.id", -1, dialect),
        f"DELETE FROM crm_report_durations WHERE measure = 'first_response' AND id = {r}.id",
    ]


TIMED = "(" + ", ".join(f"'{s}'" for s in TIMED_STATUSES) + ")"


def add_stay(r: str, dialect) -> list[str]:
    """Record the status-history row `r`'s stay, once it has ended, under the status stayed in."""
    seconds = _seconds(f"{r}.left_at", f"{r}.changed_at", dialect)
    condition = f"{r}.to_status IN {TIMED} AND {r}.left_at IS NOT NULL"
    return [
        _add_duration(
            f"{r}.to_status", f"{r}.id", _day(f"{r}.changed_at", dialect), seconds, "CAST(NULL AS INTEGER)", condition
        ),
        *_histogram(f"measure IN {TIMED}", f"{r}.id", 1, dialect),
    ]


def remove_stay(r: str, dialect) -> list[str]:
    return [
        *_histogram(f"measure IN {TIMED}", f"{r}.id", -1, dialect),
        f"DELETE FROM crm_report_durations WHERE measure IN {TIMED} AND id = {r}.id",
    ]


def move_tier(dialect) -> str:
    """A property's tier changed: move its enquiries from the old tier's rows to the new one's."""
    parts = counters("e")
    values = ", ".join(f"SUM(t.sign * ({expression}))" for expression in parts.values())
    return (
        f"INSERT INTO crm_report_days (dimension, day, key, {', '.join(parts)}) "
        f"SELECT 'tier', {_day('e.created_at', dialect)}, t.key, {values} "
        "FROM crm_enquiries e, (SELECT COALESCE(OLD.membership_tier, '') AS key, -1 AS sign "
        "UNION ALL SELECT COALESCE(NEW.membership_tier, ''), 1) AS t "
        "WHERE e.property_id = NEW.id AND e.status <> 'spam' GROUP BY 2, 3"
        + _upsert("crm_report_days", ("dimension", "day", "key"), list(parts))
    )


# --- Installing the triggers -------------------------------------------------------------------------

TRIGGERS = ("crm_enquiries_report", "crm_enquiry_status_history_report", "crm_properties_report_tier")


def _sqlite_triggers(dialect) -> list[str]:
    body = "; ".join
    enquiry_columns, history_columns = ", ".join(ENQUIRY_COLUMNS), ", ".join(HISTORY_COLUMNS)
    return [
        f"CREATE TRIGGER crm_enquiries_report_insert AFTER INSERT ON crm_enquiries BEGIN "
        f"{body([*add_enquiry('NEW', 1, dialect), *add_first_response('NEW', dialect)])}; END",
        f"CREATE TRIGGER crm_enquiries_report_update AFTER UPDATE OF {enquiry_columns} ON crm_enquiries BEGIN "
        f"{body([*add_enquiry('OLD', -1, dialect), *remove_first_response('OLD', dialect)])}; "
        f"{body([*add_enquiry('NEW', 1, dialect), *add_first_response('NEW', dialect)])}; END",
        f"CREATE TRIGGER crm_enquiries_report_delete AFTER DELETE ON crm_enquiries BEGIN "
        f"{body([*add_enquiry('OLD', -1, dialect), *remove_first_response('OLD', dialect)])}; END",
        f"CREATE TRIGGER crm_enquiry_status_history_report_insert AFTER INSERT ON crm_enquiry_status_history "
        f"BEGIN {body(add_stay('NEW', dialect))}; END",
        f"CREATE TRIGGER crm_enquiry_status_history_report_update AFTER UPDATE OF {history_columns} "
        f"ON crm_enquiry_status_history BEGIN {body([*remove_stay('OLD', dialect), *add_stay('NEW', dialect)])}; END",
        f"CREATE TRIGGER crm_enquiry_status_history_report_delete AFTER DELETE ON crm_enquiry_status_history "
        f"BEGIN {body(remove_stay('OLD', dialect))}; END",
        "CREATE TRIGGER crm_properties_report_tier AFTER UPDATE OF membership_tier ON crm_properties "
        "WHEN COALESCE(OLD.membership_tier, '') <> COALESCE(NEW.membership_tier, '') "
        f"BEGIN {move_tier(dialect)}; END",
    ]


def _postgresql_function(name: str, removed: list[str], added: list[str], table: str, when: str) -> list[str]:
    old = "; ".join(removed)
    new = "; ".join(added)
    return [
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF TG_OP <> 'INSERT' THEN {old}; END IF; "
        f"IF TG_OP <> 'DELETE' THEN {new}; END IF; "
        "RETURN NULL; END $$",
        f"CREATE TRIGGER {name} AFTER {when} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()",
    ]


def _postgresql_triggers(dialect) -> list[str]:
    return [
        *_postgresql_function(
            "crm_enquiries_report",
            [*add_enquiry("OLD", -1, dialect), *remove_first_response("OLD", dialect)],
            [*add_enquiry("NEW", 1, dialect), *add_first_response("NEW", dialect)],
            "crm_enquiries",
            f"INSERT OR DELETE OR UPDATE OF {', '.join(ENQUIRY_COLUMNS)}",
        ),
        *_postgresql_function(
            "crm_enquiry_status_history_report",
            remove_stay("OLD", dialect),
            add_stay("NEW", dialect),
            "crm_enquiry_status_history",
            f"INSERT OR DELETE OR UPDATE OF {', '.join(HISTORY_COLUMNS)}",
        ),
        "CREATE FUNCTION crm_properties_report_tier() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF COALESCE(OLD.membership_tier, '') <> COALESCE(NEW.membership_tier, '') THEN {move_tier(dialect)}; "
        "END IF; RETURN NULL; END $$",
        "CREATE TRIGGER crm_properties_report_tier AFTER UPDATE OF membership_tier ON crm_properties "
        "FOR EACH ROW EXECUTE FUNCTION crm_properties_report_tier()",
    ]


def install(connection: Connection) -> None:
    """Create the triggers that keep the rollup in step (the migration and the seed call this)."""
    dialect = connection.dialect
    statements = _postgresql_triggers(dialect) if dialect.name == "postgresql" else _sqlite_triggers(dialect)
    for statement in statements:
        connection.exec_driver_sql(statement)


def uninstall(connection: Connection) -> None:
    """Drop the triggers (and on PostgreSQL their functions)."""
    if connection.dialect.name == "postgresql":
        for name in TRIGGERS:
            connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {name}() CASCADE")
        return
    for name in TRIGGERS[:2]:
        for action in ("insert", "update", "delete"):
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}_{action}")
    connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {TRIGGERS[2]}")


# --- Rebuilding from the rows --------------------------------------------------------------------------

TABLES = {
    "crm_report_days": ("dimension", "day", "key"),
    "crm_report_durations": ("measure", "id"),
    "crm_report_duration_days": ("measure", "day", "bucket"),
    "crm_report_duration_months": ("measure", "month", "bucket"),
    "crm_report_months": ("dimension", "month", "key"),
    "crm_report_totals": ("dimension", "key"),
}


def expected_statements(dialect, into: dict[str, str]) -> list[str]:
    """Fill the tables named in `into` (one per rollup table) with the rollup recomputed from the rows."""
    days, durations, histogram, by_month, entities, totals = (into[name] for name in TABLES)
    parts = counters("e")
    statements = []
    for name, (key, condition) in dimensions("e").items():
        values = ", ".join(f"SUM({expression})" for expression in parts.values())
        statements.append(
            f"INSERT INTO {days} (dimension, day, key, {', '.join(parts)}) "
            f"SELECT '{name}', {_day('e.created_at', dialect)}, {key}, {values} FROM crm_enquiries e "
            f"WHERE e.status <> 'spam' AND {condition} GROUP BY 2, 3"
        )
    entity_parts = entity_counters("e", dialect)
    for name, column in ENTITIES.items():
        values = ", ".join(f"SUM({expression})" for expression in entity_parts.values())
        statements.append(
            f"INSERT INTO {entities} (dimension, month, key, {', '.join(entity_parts)}) "
            f"SELECT '{name}', {_month('e.created_at', dialect)}, COALESCE(e.{column}, 0), {values} "
            "FROM crm_enquiries e WHERE e.status <> 'spam' GROUP BY 2, 3"
        )
    sums = ", ".join(entity_parts)
    statements.append(
        f"INSERT INTO {totals} (dimension, key, {sums}) SELECT dimension, key, "
        f"{', '.join(f'SUM({name})' for name in entity_parts)} FROM {entities} GROUP BY dimension, key"
    )
    answered, responses = first_response("e", dialect)
    stays = _seconds("h.left_at", "h.changed_at", dialect)
    statements += [
        f"INSERT INTO {durations} (measure, id, day, seconds, bucket, owner_id) "
        f"SELECT 'first_response', id, d, s, {bucket('s')}, owner_id FROM (SELECT e.id, "
        f"{_day('e.created_at', dialect)} AS d, {responses} AS s, e.owner_id FROM crm_enquiries e "
        f"WHERE e.status <> 'spam' AND {answered}) AS f",
        f"INSERT INTO {durations} (measure, id, day, seconds, bucket, owner_id) "
        f"SELECT to_status, id, d, s, {bucket('s')}, CAST(NULL AS INTEGER) FROM (SELECT h.to_status, h.id, "
        f"{_day('h.changed_at', dialect)} AS d, {stays} AS s FROM crm_enquiry_status_history h "
        f"WHERE h.to_status IN {TIMED} AND h.left_at IS NOT NULL) AS f",
        f"INSERT INTO {histogram} (measure, day, bucket, durations, seconds) "
        f"SELECT measure, day, bucket, COUNT(*), SUM(seconds) FROM {durations} GROUP BY 1, 2, 3",
        f"INSERT INTO {by_month} (measure, month, bucket, durations, seconds) "
        f"SELECT measure, {_month('day', dialect)}, bucket, COUNT(*), SUM(seconds) FROM {durations} GROUP BY 1, 2, 3",
    ]
    return statements


def rebuild(connection: Connection | None = None) -> int:
    """Correct the rollup to what the rows say, in the caller's transaction; return how many rows it changed.

    The rollup is recomputed into temporary tables and only the rows that differ are replaced, so a
    second run straight after the first changes nothing (and says 0).
    """
    connection = connection or db.session.connection()
    # A later migration that copies crm_enquiries in SQLite batch mode drops its triggers: put them back.
    uninstall(connection)
    install(connection)
    if connection.dialect.name == "postgresql":
        # No enquiry may change between reading the rows and writing their sums.
        connection.exec_driver_sql("LOCK TABLE crm_enquiries, crm_enquiry_status_history, crm_properties IN SHARE MODE")
    expected = {name: f"expected_{name}" for name in TABLES}
    for name, copy in expected.items():
        connection.exec_driver_sql(f"CREATE TEMPORARY TABLE {copy} AS SELECT * FROM {name} WHERE 1 = 0")
    for statement in expected_statements(connection.dialect, expected):
        connection.exec_driver_sql(statement)
    changed = 0
    for name, keys in TABLES.items():
        copy, key = expected[name], ", ".join(keys)
        changed += connection.exec_driver_sql(
            f"DELETE FROM {name} WHERE ({key}) IN "
            f"(SELECT {key} FROM (SELECT * FROM {name} EXCEPT SELECT * FROM {copy}) AS stale)"
        ).rowcount
        changed += connection.exec_driver_sql(
            f"INSERT INTO {name} SELECT * FROM {copy} EXCEPT SELECT * FROM {name}"
        ).rowcount
        connection.exec_driver_sql(f"DROP TABLE {copy}")
    return changed
