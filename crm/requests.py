"""The request class: NUL characters are dropped from query strings and forms as they arrive.

No person types NUL, and PostgreSQL refuses it in text, so it is removed once here rather than
in every form, filter and search.
"""
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.utils import cached_property
from flask import Request


def _without_nul(values: ImmutableMultiDict) -> ImmutableMultiDict:
    if not any("\x00" in key or "\x00" in value for key, value in values.items(multi=True) if isinstance(value, str)):
        return values
    return ImmutableMultiDict(
        (key.replace("\x00", ""), value.replace("\x00", "") if isinstance(value, str) else value)
        for key, value in values.items(multi=True))


class CleanRequest(Request):
    @cached_property
    def args(self) -> ImmutableMultiDict:
        return _without_nul(super().args)

    def _load_form_data(self) -> None:
        super()._load_form_data()
        self.__dict__["form"] = _without_nul(self.__dict__["form"])
