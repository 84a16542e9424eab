"""Admin forms: the contact profile, new contacts, logged enquiries, working an enquiry and segment rules."""

from datetime import date

from wtforms import BooleanField, DateField, EmailField, SelectField, StringField, TelField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, Optional, ValidationError

from ..contacts import NormalisedEmail, NormalisedPhone
from ..engagement import UNANSWERED_WINDOW
from ..fields import Form, OneLine, WholeNumberField
from ..models import CONTACT_STATUSES, EVENT_TYPES, PRIORITIES, TIERS


class ContactForm(Form):
    first_name = StringField("First name", validators=[Optional(), Length(max=80), OneLine()])
    last_name = StringField("Last name", validators=[Optional(), Length(max=80), OneLine()])
    email = EmailField(
        "E-mail address", validators=[DataRequired("Enter an e-mail address."), Length(max=254), NormalisedEmail()]
    )
    phone = TelField("Phone", validators=[Optional(), Length(max=32), NormalisedPhone()])
    status = SelectField("Status", choices=[SelectChoice(s, s.capitalize()) for s in CONTACT_STATUSES])
    address = StringField("Address", validators=[Optional(), Length(max=255)])
    city = StringField("Town or city", validators=[Optional(), Length(max=120)])
    postcode = StringField("Postcode", validators=[Optional(), Length(max=16)])
    country = StringField(
        "Country code", validators=[Optional(), Length(min=2, max=2, message="Use a two-letter code such as GB.")]
    )
    business_name = StringField("Business name", validators=[Optional(), Length(max=160), OneLine()])
    tax_id = StringField("VAT or tax number", validators=[Optional(), Length(max=40)])
    bank_details = StringField("Bank details", validators=[Optional(), Length(max=255)])
    company_name = StringField("Company", validators=[Optional(), Length(max=160), OneLine()])
    event_type = SelectField(
        "Usual occasion",
        choices=[SelectChoice("", "—")] + [SelectChoice(t, t.replace("_", "/").capitalize()) for t in EVENT_TYPES],
        # Left out, it is optional; sent, it must be one of the choices: a plain Optional() took "  " for blank,
        # skipped the choice check and stored the spaces.
        validators=[Optional(strip_whitespace=False)],
    )
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)])


class NoteForm(Form):
    content = TextAreaField("Note", validators=[DataRequired("Write something first."), Length(max=5000)])


class ReplyForm(Form):
    subject = StringField("Subject", validators=[Optional(), Length(max=200)])
    message = TextAreaField("Your reply", validators=[DataRequired("Write your reply to the guest."), Length(max=5000)])


class EnquiryNoteForm(Form):
    note = TextAreaField("Private note", validators=[DataRequired("Write a note first."), Length(max=5000)])


class WorkForm(Form):
    """Who works an enquiry, how urgent it is and when to look at it again."""

    assigned_to_admin_id = SelectField("Assigned to", coerce=str, validate_choice=False)
    priority = SelectField(
        "Priority",
        choices=[SelectChoice(p, p.capitalize()) for p in PRIORITIES],
        validators=[InputRequired("Choose a priority.")],
    )
    follow_up_date = DateField("Follow up on", validators=[Optional()])

    def validate_follow_up_date(self, field):
        if field.data and not date(2000, 1, 1) <= field.data <= date(2100, 12, 31):
            raise ValidationError("Choose a follow-up date within this century.")


class NewContactForm(ContactForm):
    type = SelectField("Kind of contact", choices=[SelectChoice("guest", "Guest"), SelectChoice("owner", "Owner")])


class LogEnquiryForm(Form):
    """An enquiry that came by phone or e-mail, written down by an admin."""

    source = SelectField("It came by", choices=[SelectChoice("phone", "Phone"), SelectChoice("email", "E-mail")])
    property_id = SelectField("Property", coerce=str, validate_choice=False)
    guest_name = StringField("Guest's name")
    guest_email = EmailField("Guest's e-mail address")
    guest_phone = TelField("Guest's phone")
    event_type = SelectField(
        "Occasion",
        choices=[SelectChoice("", "—")] + [SelectChoice(t, t.replace("_", "/").capitalize()) for t in EVENT_TYPES],
    )
    event_date = StringField("Event date")
    estimated_guests = StringField("Guests")
    estimated_budget = StringField("Budget (£)")
    message = TextAreaField("What they asked")
    acknowledge = BooleanField("E-mail the guest an acknowledgement")


class SegmentRulesForm(Form):
    """The rules the daily job puts contacts in segments by; field names are engagement.RULE_DEFAULTS keys."""

    high_value_owner_min_value = WholeNumberField("Owner: booked on their listings, at least (£)", 1, 10_000_000)
    high_value_guest_min_value = WholeNumberField("Guest: their bookings, at least (£)", 1, 10_000_000)
    premium_tier = SelectField(
        "Paid membership of this plan",
        choices=[SelectChoice(t, t.capitalize()) for t in TIERS],
        validators=[InputRequired("Choose a plan."), AnyOf(TIERS, "Choose bronze, silver or gold.")],
        validate_choice=False,  # AnyOf says it in words an admin understands
    )
    inactive_after_days = WholeNumberField("No enquiry, reply or listing change for this many days", 7, 3650)
    at_risk_failed_payments = WholeNumberField("Failed payments on a paid membership, at least", 1, 12)
    at_risk_unanswered_count = WholeNumberField("Recent enquiries left unanswered, at least", 1, 1000)
    # Only enquiries of the last UNANSWERED_WINDOW count, so a longer wait could never be met.
    at_risk_unanswered_days = WholeNumberField(
        "… each unanswered for more than this many days", 1, UNANSWERED_WINDOW.days - 1
    )
