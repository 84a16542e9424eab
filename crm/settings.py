"""Admin settings: values stored as JSON in the settings table, with defaults for unset keys."""

from typing import Any

from sqlalchemy import select

from .extensions import db
from .models import Setting

GUEST_CONTACT_BEFORE_REPLY = "owners_see_guest_contact_before_reply"
NEEDS_REPLY_HOURS = "needs_reply_hours"

DEFAULTS: dict[str, Any] = {
    # Owners see a guest's e-mail address and phone number from the start unless an admin says otherwise.
    GUEST_CONTACT_BEFORE_REPLY: True,
    # An enquiry nobody has answered within this many hours joins the needs-reply queue.
    NEEDS_REPLY_HOURS: 24,
}

_UNSET = object()


def get(key: str, default: Any = _UNSET) -> Any:
    """Return the setting's stored value, else `default`, else the built-in default (None if none)."""
    setting = db.session.get(Setting, key)
    if setting is not None:
        return setting.value
    if default is not _UNSET:
        return default
    return DEFAULTS.get(key)


def stored(key: str):
    """Return the setting's stored value as a scalar subquery (NULL when unset), to read along with another query."""
    return select(Setting.value).where(Setting.key == key).scalar_subquery()


def set(key: str, value: Any) -> Setting:  # noqa: A001  the module is read as settings.get / settings.set
    """Store a setting in the current transaction; the caller commits."""
    setting = db.session.get(Setting, key)
    if setting is None:
        setting = Setting(key=key, value=value)
        db.session.add(setting)
    else:
        setting.value = value
    db.session.flush()
    return setting


def owners_see_guest_contact_before_reply(stored_value: Any = _UNSET) -> bool:
    """Tell whether owners see a guest's contact details before replying; `stored_value`, read with stored(), saves a query."""
    if stored_value is _UNSET:
        return bool(get(GUEST_CONTACT_BEFORE_REPLY))
    return bool(DEFAULTS[GUEST_CONTACT_BEFORE_REPLY] if stored_value is None else stored_value)


def needs_reply_hours() -> int:
    value = get(NEEDS_REPLY_HOURS)
    return (
        value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else DEFAULTS[NEEDS_REPLY_HOURS]
    )
