"""Admin forms: the contact profile."""
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField, TelField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from ..contacts import NormalisedEmail, NormalisedPhone
from ..fields import OneLine
from ..models import CONTACT_STATUSES, EVENT_TYPES


class ContactForm(FlaskForm):
    first_name = StringField("First name", validators=[Optional(), Length(max=80), OneLine()])
    last_name = StringField("Last name", validators=[Optional(), Length(max=80), OneLine()])
    email = EmailField("E-mail address", validators=[DataRequired("Enter an e-mail address."), Length(max=254), NormalisedEmail()])
    phone = TelField("Phone", validators=[Optional(), Length(max=32), NormalisedPhone()])
    status = SelectField("Status", choices=[SelectChoice(s, s.capitalize()) for s in CONTACT_STATUSES])
    address = StringField("Address", validators=[Optional(), Length(max=255)])
    city = StringField("Town or city", validators=[Optional(), Length(max=120)])
    postcode = StringField("Postcode", validators=[Optional(), Length(max=16)])
    country = StringField("Country code", validators=[Optional(), Length(min=2, max=2, message="Use a two-letter code such as GB.")])
    business_name = StringField("Business name", validators=[Optional(), Length(max=160), OneLine()])
    tax_id = StringField("VAT or tax number", validators=[Optional(), Length(max=40)])
    bank_details = StringField("Bank details", validators=[Optional(), Length(max=255)])
    company_name = StringField("Company", validators=[Optional(), Length(max=160), OneLine()])
    event_type = SelectField("Usual occasion", choices=[SelectChoice("", "—")] + [SelectChoice(t, t.replace("_", "/").capitalize()) for t in EVENT_TYPES],
                             validators=[Optional()])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)])


class NoteForm(FlaskForm):
    content = TextAreaField("Note", validators=[DataRequired("Write something first."), Length(max=5000)])
