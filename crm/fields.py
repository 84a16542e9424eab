"""Rules that form fields share: a name, title or other one-line value holds no line breaks."""

import re

from wtforms.validators import ValidationError

# Line breaks and other control characters: in a name they could reshape an e-mail header or a CSV row.
NOT_ONE_LINE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def is_one_line(value: str | None) -> bool:
    return not NOT_ONE_LINE.search(value or "")


class OneLine:
    """WTForms validator: refuse line breaks and control characters in a one-line field."""

    def __init__(self, message: str = "Keep this on one line."):
        self.message = message

    def __call__(self, form, field) -> None:
        if isinstance(field.data, str) and not is_one_line(field.data):
            raise ValidationError(self.message)
