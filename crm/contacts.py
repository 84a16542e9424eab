"""Normalising contact details: e-mail addresses and phone numbers."""

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask import current_app, has_app_context

# Fields that only one kind of contact has.
OWNER_ONLY = ("business_name", "tax_id", "bank_details")
GUEST_ONLY = ("company_name", "event_type")
# A contact's profile as an admin edits it, in the form's order.
PROFILE_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "status",
    "address",
    "city",
    "postcode",
    "country",
    *OWNER_ONLY,
    *GUEST_ONLY,
    "notes",
)


def profile_values(form, names: tuple[str, ...] = PROFILE_FIELDS) -> dict:
    """Return a contact form's fields as column values: blanks stored as NULL, names as text, country upper case."""
    values = {name: (getattr(form, name).data or None) for name in names}
    values["first_name"] = values["first_name"] or ""
    values["last_name"] = values["last_name"] or ""
    values["country"] = (values["country"] or "").upper() or None
    return values


def normalise_email(value: str | None, check_deliverability: bool = False) -> str:
    """Return the address trimmed and lower-cased, or raise ValueError with a readable message."""
    value = (value or "").strip()
    if not value:
        raise ValueError("Enter an e-mail address.")
    try:
        # test_environment lets the reserved .test domain through, which integrators use.
        result = validate_email(value, check_deliverability=check_deliverability, test_environment=True)
    except EmailNotValidError as error:
        raise ValueError(f"Enter a real e-mail address ({error}).") from None
    return result.normalized.lower()


def normalise_phone(value: str | None, region: str | None = None) -> str | None:
    """Return the number in E.164, or None if empty; raise ValueError if it is not a number."""
    value = (value or "").strip()
    if not value:
        return None
    if region is None:
        region = current_app.config["PHONE_DEFAULT_REGION"] if has_app_context() else "GB"
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise ValueError("Enter a real phone number, such as 07700 900123.") from None
    # "Possible" rather than "valid": Ofcom's drama ranges (07700 900xxx) are real-looking test numbers.
    if not phonenumbers.is_possible_number(number):
        raise ValueError("Enter a real phone number, such as 07700 900123.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class NormalisedEmail:
    """A form validator that checks an e-mail address and stores it normalised."""

    def __call__(self, form, field):
        from wtforms.validators import ValidationError

        try:
            field.data = normalise_email(field.data)
        except ValueError as error:
            raise ValidationError(str(error)) from None


class NormalisedPhone:
    """A form validator that checks an optional phone number and stores it in E.164."""

    def __call__(self, form, field):
        from wtforms.validators import ValidationError

        if field.data:
            try:
                field.data = normalise_phone(field.data)
            except ValueError as error:
                raise ValidationError(str(error)) from None
