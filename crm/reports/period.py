"""The period a report covers: a preset or a from/to pair of dates (inclusive), read from the URL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from ..fields import FIRST_DATE, LAST_DATE, query_date

PRESETS = {"30d": "Last 30 days", "90d": "Last 90 days", "12m": "Last 12 months", "ytd": "This year"}
DEFAULT_PRESET = "90d"
LONGEST = timedelta(days=3660)  # ten years: longer periods are refused rather than scanned
# A period lies within FIRST_DATE..LAST_DATE, so the dates derived from it (the day after its end, its
# months, the previous period, at most LONGEST further back) stay far inside what `date` can hold.


class PeriodError(ValueError):
    """A from/to pair that is not a period: answered 400 by the API and as a message on the page."""


@dataclass(frozen=True)
class Period:
    start: date  # first day, inclusive
    end: date  # last day, inclusive
    preset: str | None = None

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.start, time.min)

    @property
    def ends_before(self) -> datetime:
        """The first moment after the period."""
        return datetime.combine(self.end + timedelta(days=1), time.min)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same length just before this one; it may begin before FIRST_DATE, where nothing is recorded."""
        end = self.start - timedelta(days=1)
        return Period(end - timedelta(days=self.days - 1), end)

    @property
    def label(self) -> str:
        return PRESETS.get(self.preset or "") or f"{self.start:%-d %b %Y} – {self.end:%-d %b %Y}"

    def args(self) -> dict[str, str]:
        """The period as query arguments, for links and fragment URLs."""
        if self.preset:
            return {"period": self.preset}
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}

    def contains(self, column):
        """The SQL condition: `column` (a timestamp) falls in the period."""
        return (column >= self.starts_at) & (column < self.ends_before)


def preset(name: str, today: date) -> Period:
    if name == "30d":
        return Period(today - timedelta(days=29), today, name)
    if name == "12m":
        return Period(today - timedelta(days=364), today, name)
    if name == "ytd":
        return Period(date(today.year, 1, 1), today, name)
    return Period(today - timedelta(days=89), today, "90d")


def parse_date(raw: str, name: str) -> date:
    """Read one bound of the period: a YYYY-MM-DD date from FIRST_DATE to LAST_DATE, else PeriodError."""
    day = query_date(raw)
    if day is None:
        raise PeriodError(f"'{name}' must be a date written YYYY-MM-DD, from {FIRST_DATE} to {LAST_DATE}.")
    return day


def from_args(args, today: date, default_days: int | None = None) -> Period:
    """Read the period from query arguments: from/to when given, else a preset; raise PeriodError if invalid.

    With `default_days` (the API), a missing bound defaults to that many days back from `to`, or to today.
    A missing `from` never reaches back before FIRST_DATE.
    """
    raw_from, raw_to = (args.get("from") or "").strip(), (args.get("to") or "").strip()
    if not raw_from and not raw_to:
        if default_days is not None:
            return Period(today - timedelta(days=default_days - 1), today)
        return preset(args.get("period", DEFAULT_PRESET), today)
    end = parse_date(raw_to, "to") if raw_to else today
    if raw_from:
        start = parse_date(raw_from, "from")
    else:
        start = max(FIRST_DATE, end - timedelta(days=(default_days or 90) - 1))
    if start > end:
        raise PeriodError("'from' must not be after 'to'.")
    if end - start > LONGEST:
        raise PeriodError("Choose a period of at most ten years.")
    return Period(start, end)
