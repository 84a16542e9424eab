"""Forms of the owner dashboard: a listing, an enquiry's status, a reply to the guest, a private note."""

from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from .. import listings
from ..fields import Form as AppForm
from ..fields import OneLine

OWNER_STATUSES = ("new", "contacted", "negotiating", "booked", "lost")


def no_nul(value):
    """Drop NUL characters, which PostgreSQL text columns refuse."""
    return value.replace("\x00", "") if isinstance(value, str) else value


class Form(AppForm):
    class Meta:
        def bind_field(self, form, unbound_field, options):
            options["filters"] = [no_nul, *unbound_field.kwargs.get("filters", ())]
            return unbound_field.bind(form=form, **options)


class PropertyForm(Form):
    title = StringField(
        "Title",
        validators=[DataRequired("Enter the listing's title."), Length(max=listings.LIMITS["title"]), OneLine()],
    )
    location = StringField(
        "Location",
        validators=[DataRequired("Enter the listing's location."), Length(max=listings.LIMITS["location"]), OneLine()],
    )
    description = TextAreaField("Description", validators=[Optional(), Length(max=listings.LIMITS["description"])])
    bedrooms = StringField("Bedrooms", validators=[DataRequired("Enter the number of bedrooms.")])
    bathrooms = StringField("Bathrooms", validators=[DataRequired("Enter the number of bathrooms.")])
    max_guests = StringField("Maximum guests", validators=[DataRequired("Enter how many guests it sleeps or hosts.")])
    price_per_night = StringField("Price per night (£)", validators=[DataRequired("Enter the price per night.")])

    def listing_data(self) -> dict:
        return {name: getattr(self, name).data for name in listings.FIELDS}

    def validate(self, extra_validators=None) -> bool:
        """Check the fields, then apply the listing service's own rules so both speak alike."""
        valid = super().validate(extra_validators)
        try:
            listings.clean(self.listing_data())
        except listings.ListingError as error:
            self.add_errors(error.errors)
            return False
        return valid

    def add_errors(self, errors: dict[str, str]) -> None:
        """Show the service's errors on fields that have none of their own yet."""
        for name, message in errors.items():
            field = getattr(self, name, None)
            if field is not None and not field.errors:
                field.errors = [message]


class StatusForm(Form):
    status = SelectField(
        "Status",
        choices=[SelectChoice(s, s.capitalize()) for s in OWNER_STATUSES],
        validators=[InputRequired("Choose a status.")],
        validate_choice=False,
    )
    booking_value = StringField("Booking value (£)", validators=[Optional(), Length(max=20)])
    reason = StringField("Why was it lost?", validators=[Optional(), Length(max=500)])

    def validate_status(self, field):
        if field.data not in OWNER_STATUSES:
            raise ValidationError("Choose one of: " + ", ".join(OWNER_STATUSES) + ".")


class ReplyForm(Form):
    subject = StringField("Subject", validators=[Optional(), Length(max=200)])
    message = TextAreaField("Your reply", validators=[DataRequired("Write your reply to the guest."), Length(max=5000)])


class NoteForm(Form):
    note = TextAreaField("Add a private note", validators=[DataRequired("Write a note first."), Length(max=5000)])
