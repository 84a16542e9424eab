"""The admin CRM's lists as data: each tab's filters, search and sorts come from an allow-list here.

A list is read in keyset order over (sort expression, id), so the first, a middle and the last page
of 300,000 rows cost the same; counts are capped so a broad filter never counts every row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Select, and_, func, literal, or_, select, tuple_
from sqlalchemy.orm import joinedload, selectinload

from ..database import contains_text, likely
from ..enquiries import queues
from ..extensions import db
from ..fields import id_number, query_date, whole_number
from ..models import (
    ACTIONS,
    CONTACT_STATUSES,
    CONTACT_TYPES,
    ENQUIRY_STATUSES,
    ENTITY_TYPES,
    EVENT_SORT,
    FIT_FLAGS,
    LISTING_STATUSES,
    MEMBERSHIP_STATUSES,
    PRIORITIES,
    SEGMENTS,
    TIERS,
    ActivityLog,
    Contact,
    CrmEnquiry,
    CrmProperty,
    Membership,
    Segment,
    utcnow,
)

COUNT_CAP = 1_000
PAGE_SIZES = (25, 50, 100)
DEFAULT_PAGE_SIZE = 25


def _choices(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    from ..formatting import label

    return tuple((value, label(value)) for value in values)


@dataclass(frozen=True)
class Filter:
    """One filter: its query-string name, label, allowed values (None: an id or a date) and its condition."""

    name: str
    label: str
    where: Callable[[Any], Any]
    choices: tuple[tuple[str, str], ...] | None = None
    kind: str = "choice"  # choice | id | date
    more: bool = False  # shown under "More filters", so the list's first rows fit on the screen

    def parse(self, raw: str) -> Any:
        """Return the filter's value, or None when `raw` is not one it allows."""
        raw = (raw or "").strip()
        if not raw:
            return None
        if self.kind == "choice":
            return raw if raw in dict(self.choices or ()) else None
        if self.kind == "id":
            if raw == "none":
                return "none"
            return id_number(raw)
        if self.kind == "date":
            return query_date(raw)
        return None


@dataclass(frozen=True)
class Sort:
    name: str
    label: str
    expression: Any
    default_descending: bool = True


@dataclass(frozen=True)
class ListSpec:
    tab: str
    label: str
    model: type
    base: Callable[[], Select]
    filters: tuple[Filter, ...]
    sorts: tuple[Sort, ...]
    search: Callable[[str], Any] | None = None
    search_placeholder: str = ""
    options: tuple = ()
    csv_columns: tuple[tuple[str, Callable[[Any], Any]], ...] = ()

    def sort(self, name: str | None) -> Sort:
        return next((s for s in self.sorts if s.name == name), self.sorts[0])

    def filter(self, name: str) -> Filter | None:
        return next((f for f in self.filters if f.name == name), None)


def starts_with(expression, word: str):
    """A prefix match written as a range, so an index on `expression` serves it on any database."""
    return and_(expression >= word, expression < word + "\U0010ffff")


def contact_matches(term: str):
    """The condition that a contact's first name, last name or e-mail starts with each word of `term`."""
    conditions = []
    for word in term.lower().split()[:4]:
        conditions.append(
            or_(
                starts_with(func.lower(Contact.first_name), word),
                starts_with(func.lower(Contact.last_name), word),
                starts_with(Contact.email, word),
            )
        )
    return and_(*conditions)


def matching_contacts(term: str) -> Select:
    """The ids of the contacts that contact_matches(term)."""
    return select(Contact.id).where(contact_matches(term))


def _day_start(value: date) -> datetime:
    return datetime.combine(value, time.min)


def _id_or_none(column):
    return lambda value: column.is_(None) if value == "none" else column == value


def enquiry_search(term: str):
    return CrmEnquiry.contact_id.in_(matching_contacts(term))


def contact_search(term: str):
    # The condition itself, not "id IN (the matching ids)": PostgreSQL joined the table to itself for that.
    return contact_matches(term)


def property_search(term: str):
    # A scan of the smaller table, where it is cheap.
    return or_(contains_text(CrmProperty.title, term), contains_text(CrmProperty.location, term))


ENQUIRY_FILTERS = (
    Filter("status", "Status", lambda v: CrmEnquiry.status == v, _choices(ENQUIRY_STATUSES)),
    Filter("priority", "Priority", lambda v: CrmEnquiry.priority == v, _choices(PRIORITIES)),
    # "= true", never "IS 1": only the very expression of the partial indexes lets the planner use them.
    Filter(
        "fit",
        "Fit flag",
        # "= true", not "IS 1": the partial index WHERE fit_x = 1 only serves an equality.
        lambda v: getattr(CrmEnquiry, f"fit_{v}") == True,  # noqa: E712
        _choices(FIT_FLAGS),
        more=True,
    ),
    Filter("assigned", "Assigned to", _id_or_none(CrmEnquiry.assigned_to_admin_id), kind="id"),
    Filter("property", "Property", lambda v: CrmEnquiry.property_id == v, kind="id"),
    Filter("owner", "Owner", lambda v: CrmEnquiry.owner_id == v, kind="id"),
    Filter("contact", "Guest", lambda v: CrmEnquiry.contact_id == v, kind="id"),
    Filter("from", "Received from", lambda v: CrmEnquiry.created_at >= _day_start(v), kind="date", more=True),
    Filter(
        "to", "Received to", lambda v: CrmEnquiry.created_at < _day_start(v + timedelta(days=1)), kind="date", more=True
    ),
    # Reading a month of event dates and then sorting them costs far more than walking the list's own
    # order until a page is full, so the planner is told not to use the event-date index here.
    Filter("event_from", "Event from", lambda v: likely(CrmEnquiry.event_date >= v), kind="date", more=True),
    Filter("event_to", "Event to", lambda v: likely(CrmEnquiry.event_date <= v), kind="date", more=True),
)
ENQUIRY_SORTS = (
    Sort("received", "Received", CrmEnquiry.created_at),
    Sort("updated", "Last change", CrmEnquiry.last_updated_at),
    # Enquiries without an event date sort last; the same expression is indexed (ix_crm_enquiries_event_sort).
    Sort("event", "Event date", EVENT_SORT, default_descending=False),
    Sort("guest", "Guest", CrmEnquiry.guest_name, default_descending=False),
)
ENQUIRY_CSV = (
    ("id", lambda e: e.id),
    ("received", lambda e: e.created_at.isoformat(sep=" ", timespec="minutes")),
    ("status", lambda e: e.status),
    ("priority", lambda e: e.priority),
    ("guest_name", lambda e: e.guest_name),
    ("guest_email", lambda e: e.guest_email),
    ("guest_phone", lambda e: e.guest_phone or ""),
    ("property", lambda e: e.property.title if e.property else ""),
    ("event_type", lambda e: e.event_type or ""),
    ("event_date", lambda e: e.event_date.isoformat() if e.event_date else ""),
    ("estimated_guests", lambda e: e.estimated_guests or ""),
    ("estimated_budget", lambda e: e.estimated_budget or ""),
    ("booking_value", lambda e: e.booking_value or ""),
    ("fit_flags", lambda e: " ".join(e.fit_flags)),
    ("spam_reasons", lambda e: "; ".join(e.spam_reasons or [])),
)


def _enquiries_base() -> Select:
    return select(CrmEnquiry).where(CrmEnquiry.status != "spam")


def _spam_base() -> Select:
    return select(CrmEnquiry).where(CrmEnquiry.status == "spam")


def _needs_reply_base() -> Select:
    return select(CrmEnquiry).where(queues.needs_reply(queues.reply_cutoff()))


def _follow_ups_base() -> Select:
    return select(CrmEnquiry).where(queues.follow_up_due())


def _enquiry_options():
    # A list shows its property's title and its owner's name, and no more: building whole records for
    # every row cost more than rendering the row. The assignee's name comes from views.assignees.
    return (
        joinedload(CrmEnquiry.property).load_only(CrmProperty.title),
        joinedload(CrmEnquiry.owner).load_only(Contact.first_name, Contact.last_name, Contact.email),
    )


LISTS: dict[str, ListSpec] = {}
ENDS_WITHIN_DAYS = (7, 14, 30, 60, 90)


def _ends_within(days: str):
    """Memberships still running that end within `days` days from today."""
    today = utcnow().date()
    return and_(Membership.end_date >= today, Membership.end_date <= today + timedelta(days=int(days)))


def register(spec: ListSpec) -> ListSpec:
    LISTS[spec.tab] = spec
    return spec


def enquiry_list(tab: str, title: str, base, filters=ENQUIRY_FILTERS, sorts=ENQUIRY_SORTS) -> ListSpec:
    """A list of enquiries over its own rows, with the enquiries tab's search, row options and CSV columns."""
    return register(
        ListSpec(
            tab,
            title,
            CrmEnquiry,
            base,
            filters,
            sorts,
            enquiry_search,
            "Guest name or e-mail",
            options=_enquiry_options(),
            csv_columns=ENQUIRY_CSV,
        )
    )


ENQUIRIES = enquiry_list("enquiries", "Enquiries", _enquiries_base)
NEEDS_REPLY = enquiry_list(
    "needs_reply",
    "Needs reply",
    _needs_reply_base,
    sorts=(Sort("received", "Waiting longest", CrmEnquiry.created_at, default_descending=False),),
)
FOLLOW_UPS = enquiry_list(
    "follow_ups",
    "Follow-ups",
    _follow_ups_base,
    sorts=(Sort("follow_up", "Follow-up date", CrmEnquiry.follow_up_date, default_descending=False),),
)
SPAM = enquiry_list(
    "spam",
    "Spam quarantine",
    _spam_base,
    filters=tuple(f for f in ENQUIRY_FILTERS if f.name not in {"status"}),
    sorts=ENQUIRY_SORTS[:1],
)
CONTACTS = register(
    ListSpec(
        "contacts",
        "Contacts",
        Contact,
        lambda: select(Contact),
        (
            Filter("type", "Type", lambda v: Contact.type == v, _choices(CONTACT_TYPES)),
            Filter("status", "Status", lambda v: Contact.status == v, _choices(CONTACT_STATUSES)),
            Filter(
                "segment",
                "Segment",
                lambda v: Contact.id.in_(
                    select(Segment.contact_id).where(Segment.segment == v, Segment.removed_at.is_(None))
                ),
                _choices(SEGMENTS),
            ),
        ),
        (
            Sort("created", "Added", Contact.created_at),
            Sort("score", "Engagement score", Contact.engagement_score),
            Sort("last_name", "Name", Contact.last_name, False),
            Sort("first_name", "First name", Contact.first_name, False),
            Sort("email", "E-mail", Contact.email, False),
        ),
        contact_search,
        "Name, e-mail or business",
        csv_columns=(
            ("id", lambda c: c.id),
            ("type", lambda c: c.type),
            ("first_name", lambda c: c.first_name),
            ("last_name", lambda c: c.last_name),
            ("email", lambda c: c.email),
            ("phone", lambda c: c.phone or ""),
            ("business_name", lambda c: c.business_name or ""),
            ("city", lambda c: c.city or ""),
            ("status", lambda c: c.status),
            ("engagement_score", lambda c: c.engagement_score),
            ("created_at", lambda c: c.created_at.isoformat(sep=" ", timespec="minutes")),
        ),
    )
)
PROPERTIES = register(
    ListSpec(
        "properties",
        "Properties",
        CrmProperty,
        lambda: select(CrmProperty),
        (
            Filter("status", "Listing status", lambda v: CrmProperty.listing_status == v, _choices(LISTING_STATUSES)),
            Filter("tier", "Membership tier", lambda v: CrmProperty.membership_tier == v, _choices(TIERS)),
            Filter("owner", "Owner", lambda v: CrmProperty.owner_id == v, kind="id"),
        ),
        (
            Sort("created", "Added", CrmProperty.created_at),
            Sort("title", "Title", CrmProperty.title, False),
            Sort("enquiries", "Enquiries", CrmProperty.enquiry_count),
            Sort("revenue", "Revenue", CrmProperty.total_revenue),
        ),
        property_search,
        "Title or location",
        options=(selectinload(CrmProperty.owner),),
        csv_columns=(
            ("id", lambda p: p.id),
            ("title", lambda p: p.title),
            ("location", lambda p: p.location),
            ("owner", lambda p: p.owner.full_name),
            ("listing_status", lambda p: p.listing_status),
            ("membership_tier", lambda p: p.membership_tier or ""),
            ("max_guests", lambda p: p.max_guests),
            ("price_per_night", lambda p: p.price_per_night),
            ("view_count", lambda p: p.view_count),
            ("enquiry_count", lambda p: p.enquiry_count),
            ("booking_count", lambda p: p.booking_count),
            ("total_revenue", lambda p: p.total_revenue),
        ),
    )
)
MODERATION = register(
    ListSpec(
        "moderation",
        "Awaiting approval",
        CrmProperty,
        lambda: select(CrmProperty).where(CrmProperty.listing_status == "pending_approval"),
        (),
        (Sort("waiting", "Waiting longest", CrmProperty.updated_at, default_descending=False),),
        property_search,
        "Title or location",
        options=(selectinload(CrmProperty.owner),),
        csv_columns=PROPERTIES.csv_columns,
    )
)
MEMBERSHIPS = register(
    ListSpec(
        "memberships",
        "Memberships",
        Membership,
        lambda: select(Membership),
        (
            Filter("status", "Status", lambda v: Membership.status == v, _choices(MEMBERSHIP_STATUSES)),
            Filter("tier", "Tier", lambda v: Membership.plan_tier == v, _choices(TIERS)),
            Filter(
                "auto_renew",
                "Auto-renew",
                lambda v: Membership.auto_renew == (v == "on"),
                (("on", "On"), ("off", "Off")),
            ),
            Filter(
                "failures",
                "Failed payments",
                lambda v: Membership.payment_failure_count >= int(v),
                (("1", "1 or more"), ("3", "3 or more")),
            ),
            Filter("ends_within", "Ends within", _ends_within, tuple((str(d), f"{d} days") for d in ENDS_WITHIN_DAYS)),
            Filter("contact", "Owner", lambda v: Membership.contact_id == v, kind="id"),
        ),
        (Sort("end", "Ends", Membership.end_date, False), Sort("created", "Started", Membership.created_at)),
        None,
        options=(selectinload(Membership.contact),),
        csv_columns=(
            ("id", lambda m: m.id),
            ("owner", lambda m: m.contact.full_name),
            ("email", lambda m: m.contact.email),
            ("plan_tier", lambda m: m.plan_tier),
            ("plan_price", lambda m: m.plan_price),
            ("status", lambda m: m.status),
            ("start_date", lambda m: m.start_date.isoformat()),
            ("end_date", lambda m: m.end_date.isoformat()),
            ("auto_renew", lambda m: m.auto_renew),
        ),
    )
)
ACTIVITY = register(
    ListSpec(
        "activity",
        "Activity log",
        ActivityLog,
        lambda: select(ActivityLog),
        (
            Filter("entity", "Record", lambda v: ActivityLog.entity_type == v, _choices(ENTITY_TYPES)),
            Filter("action", "Action", lambda v: ActivityLog.action == v, _choices(ACTIONS)),
        ),
        (Sort("time", "Time", ActivityLog.timestamp),),
        None,
        options=(selectinload(ActivityLog.performer),),
        csv_columns=(
            ("id", lambda a: a.id),
            ("timestamp", lambda a: a.timestamp.isoformat(sep=" ", timespec="seconds")),
            ("entity_type", lambda a: a.entity_type),
            ("entity_id", lambda a: a.entity_id),
            ("action", lambda a: a.action),
            ("performed_by", lambda a: a.performed_by),
            ("reason", lambda a: a.reason or ""),
            ("changed_fields", lambda a: a.changed_fields),
        ),
    )
)

ENQUIRY_TABS = ("enquiries", "needs_reply", "follow_ups", "spam")
TAB_ORDER = (
    "enquiries",
    "needs_reply",
    "follow_ups",
    "contacts",
    "properties",
    "moderation",
    "memberships",
    "spam",
    "activity",
)


# --- The state of a list, read from the URL ----------------------------------------------------


@dataclass
class ListState:
    spec: ListSpec
    filters: dict[str, Any] = field(default_factory=dict)
    raw_filters: dict[str, str] = field(default_factory=dict)
    search: str = ""
    sort: Sort | None = None
    descending: bool = True
    size: int = DEFAULT_PAGE_SIZE
    after: str | None = None
    before: str | None = None

    @classmethod
    def from_args(cls, spec: ListSpec, args) -> ListState:
        state = cls(spec)
        for f in spec.filters:
            value = f.parse(args.get(f.name, ""))
            if value is not None:
                state.filters[f.name] = value
                state.raw_filters[f.name] = args.get(f.name).strip()
        state.search = (args.get("q") or "").strip()[:100] if spec.search else ""
        state.sort = spec.sort(args.get("sort"))
        direction = args.get("dir")
        state.descending = state.sort.default_descending if direction not in ("asc", "desc") else direction == "desc"
        size = whole_number(args.get("size", ""), 1, max(PAGE_SIZES))
        state.size = size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE
        state.after = args.get("after") or None
        state.before = args.get("before") or None
        return state

    def args(self) -> dict[str, str]:
        """The list's tab, filters, search and sort as query arguments: for export links and saved views."""
        args = {"tab": self.spec.tab, **self.raw_filters}
        if self.search:
            args["q"] = self.search
        if self.sort is not self.spec.sorts[0] or self.descending != self.sort.default_descending:
            args["sort"], args["dir"] = self.sort.name, "desc" if self.descending else "asc"
        if self.size != DEFAULT_PAGE_SIZE:
            args["size"] = str(self.size)
        return args

    def statement(self) -> Select:
        """The filtered list as a select(), without order or limit."""
        statement = self.spec.base()
        for name, value in self.filters.items():
            statement = statement.where(self.spec.filter(name).where(value))
        if self.search:
            statement = statement.where(self.spec.search(self.search))
        return statement


# --- Keyset pages -----------------------------------------------------------------------------


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="admin-list")


def _encode(state: ListState, value: Any, row_id: int) -> str:
    if isinstance(value, (date, datetime)):
        value = ["d", value.isoformat()]
    elif value is not None and not isinstance(value, (int, str, float)):
        value = ["n", str(value)]
    return _serializer().dumps([state.spec.tab, state.sort.name, value, row_id])


def _decode(state: ListState, token: str) -> tuple[Any, int] | None:
    try:
        tab, sort, value, row_id = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if tab != state.spec.tab or sort != state.sort.name or not isinstance(row_id, int):
        return None
    if isinstance(value, list) and len(value) == 2:
        kind, text = value
        if kind == "d":
            value = datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)
        else:
            from decimal import Decimal

            value = Decimal(text)
    return value, row_id


@dataclass
class Page:
    rows: list
    next_cursor: str | None
    prev_cursor: str | None
    is_first: bool
    is_last: bool


def page(state: ListState, matches: int | None = None) -> Page:
    """Fetch one page of the list in keyset order: after a cursor, before one, or the last page.

    `matches`, the number of matching rows when there are at most COUNT_CAP of them (capped_count's
    count, when not capped), has the page gather those few rows and sort them (see ordered_keys); none at
    all reads no page.
    """
    # Going backwards reads the reverse order and flips the rows back.
    backwards = state.before is not None
    position = None
    if state.before and state.before != "end":
        position = _decode(state, state.before)
    elif state.after and not backwards:
        position = _decode(state, state.after)
    few = matches is not None
    keys = [] if matches == 0 else db.session.execute(ordered_keys(state, few, position, backwards)).all()
    more = len(keys) > state.size
    keys = keys[: state.size]
    if backwards:
        keys.reverse()
    rows = rows_by_id(state.spec.model, [k.id for k in keys], state.spec.options)
    first_key = (keys[0].sort_value, keys[0].id) if keys else None
    last_key = (keys[-1].sort_value, keys[-1].id) if keys else None
    if backwards:
        is_first, is_last = not more, state.before == "end"
    else:
        is_first, is_last = position is None, not more
    return Page(
        rows=rows,
        next_cursor=_encode(state, *last_key) if rows and not is_last else None,
        prev_cursor=_encode(state, *first_key) if rows and not is_first else None,
        is_first=is_first,
        is_last=is_last,
    )


def ordered_keys(state: ListState, few: bool = False, position: tuple | None = None, backwards: bool = False) -> Select:
    """Return a select() of the (id, sort_value) of one page's rows and one more, in list order.

    Only the narrow keys are ordered and limited; rows_by_id loads the page's records after: sorting
    whole rows joined to their property and owner cost far more whenever the order needs a sort.

    A broad list walks its order's index until the page is full. When `few` rows match (at most
    COUNT_CAP, as counted), walking the order could read the whole table looking for them, so they are
    gathered first in a subquery the planner cannot merge with the order (its OFFSET 0 keeps it apart):
    it reads them through the filter's own index, as the count did, and they are sorted after.
    """
    spec, sort = state.spec, state.sort
    descending = state.descending != backwards
    keys = state.statement().with_only_columns(spec.model.id, sort.expression.label("sort_value"))
    if few:
        gathered = keys.offset(0).subquery()
        keys = select(gathered.c.id, gathered.c.sort_value)
        sort_value, row_id = gathered.c.sort_value, gathered.c.id
    else:
        sort_value, row_id = sort.expression, spec.model.id
    if position is not None:
        value = literal(position[0], type_=sort.expression.type)
        bound = tuple_(value, literal(position[1]))
        key = tuple_(sort_value, row_id)
        # The plain range on the sort expression lets any index on it seek; the row value breaks ties.
        if descending:
            keys = keys.where(sort_value <= value, key < bound)
        else:
            keys = keys.where(sort_value >= value, key > bound)
    order = (sort_value.desc(), row_id.desc()) if descending else (sort_value.asc(), row_id.asc())
    return keys.order_by(*order).limit(state.size + 1)


def rows_by_id(model: type, ids: list[int], options: tuple) -> list:
    """Load the records with these ids, with these loader options, in the order of `ids`."""
    if not ids:
        return []
    statement = select(model).where(model.id.in_(ids)).options(*options)
    found = {record.id: record for record in db.session.scalars(statement)}
    return [found[i] for i in ids if i in found]


def capped_count(statement: Select, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """Count at most `cap` + 1 rows of `statement`; return (count, whether there are more than cap)."""
    # maintain_column_froms keeps the FROM of the columns it replaces: without it, an unfiltered
    # statement became a bare "SELECT 1" and every unfiltered list counted one row.
    limited = (
        statement.with_only_columns(literal(1), maintain_column_froms=True).order_by(None).limit(cap + 1).subquery()
    )
    total = db.session.scalar(select(func.count()).select_from(limited))
    return min(total, cap), total > cap


def total_count(spec: ListSpec) -> int:
    """Count every row of the tab, reusing the count until the data changes."""
    from ..cache import cached

    return cached(
        f"total:{spec.tab}",
        lambda: db.session.scalar(
            select(func.count()).select_from(
                spec.base().with_only_columns(literal(1), maintain_column_froms=True).subquery()
            )
        ),
    )


def batches(state: ListState, size: int = 1000):
    """Yield every row of the list in its order, a keyset batch at a time: for CSV export."""
    state = ListState(state.spec, state.filters, state.raw_filters, state.search, state.sort, state.descending, size)
    while True:
        current = page(state)
        yield from current.rows
        if current.next_cursor is None:
            return
        db.session.expire_all()
        state.after = current.next_cursor
