"""What arrives, cleaned once: the request class drops NUL characters, and ids in URLs fit the database.

No person types NUL, and PostgreSQL refuses it in text, so it is removed once here rather than
in every form, filter and search.
"""

from flask import Request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter
from werkzeug.utils import cached_property

# Integer id columns are 32-bit on PostgreSQL, so a bigger number names no record on either engine.
MAX_ID = 2**31 - 1


def _without_nul(values: ImmutableMultiDict) -> ImmutableMultiDict:
    if not any("\x00" in key or "\x00" in value for key, value in values.items(multi=True) if isinstance(value, str)):
        return values
    return ImmutableMultiDict(
        (key.replace("\x00", ""), value.replace("\x00", "") if isinstance(value, str) else value)
        for key, value in values.items(multi=True)
    )


class CleanRequest(Request):
    @cached_property
    def args(self) -> ImmutableMultiDict:
        return _without_nul(super().args)

    def _load_form_data(self) -> None:
        super()._load_form_data()
        self.__dict__["form"] = _without_nul(self.__dict__["form"])


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: ASCII digits no bigger than MAX_ID, so a huge id is a 404, never a 500."""

    regex = r"[0-9]+"  # \d would also take other scripts' digits, giving one record many URLs

    def to_python(self, value: str) -> int:
        # Measured before it is read: int() refuses a string of over 4,300 digits.
        if len(value) > len(str(MAX_ID)) or int(value) > MAX_ID:
            # Not a routing miss (werkzeug would then answer 405 when another method's rule has this
            # shape): the URL is right, the record cannot exist.
            raise NotFound()
        return int(value)
