"""Sign-up, sign-in and password forms."""

from wtforms import EmailField, PasswordField, StringField, TelField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from ..contacts import NormalisedEmail, NormalisedPhone
from ..fields import Form, OneLine

# The one set of password rules, for sign-up, reset, invitation and change alike.
PASSWORD_RULES = [DataRequired("Choose a password."), Length(min=10, max=200, message="Use at least 10 characters.")]
CONFIRM_RULES = [DataRequired("Repeat your password."), EqualTo("password", message="The two passwords do not match.")]


class SignupForm(Form):
    first_name = StringField(
        "First name", validators=[DataRequired("Enter your first name."), Length(max=80), OneLine()]
    )
    last_name = StringField("Last name", validators=[DataRequired("Enter your last name."), Length(max=80), OneLine()])
    email = EmailField(
        "E-mail address", validators=[DataRequired("Enter your e-mail address."), Length(max=254), NormalisedEmail()]
    )
    phone = TelField("Phone number", validators=[Optional(), Length(max=32), NormalisedPhone()])
    business_name = StringField("Business name", validators=[Optional(), Length(max=160), OneLine()])
    password = PasswordField("Password", validators=PASSWORD_RULES)
    confirm = PasswordField("Repeat password", validators=CONFIRM_RULES)


class NewPasswordForm(Form):
    password = PasswordField("New password", validators=PASSWORD_RULES)
    confirm = PasswordField("Repeat new password", validators=CONFIRM_RULES)


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField(
        "Current password", validators=[DataRequired("Enter your current password."), Length(max=200)]
    )


class LoginForm(Form):
    email = EmailField("E-mail address", validators=[DataRequired("Enter your e-mail address."), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password."), Length(max=200)])


class ForgotPasswordForm(Form):
    email = EmailField(
        "E-mail address", validators=[DataRequired("Enter your e-mail address."), Length(max=254), NormalisedEmail()]
    )


class InviteAdminForm(Form):
    first_name = StringField(
        "First name", validators=[DataRequired("Enter their first name."), Length(max=80), OneLine()]
    )
    last_name = StringField("Last name", validators=[DataRequired("Enter their last name."), Length(max=80), OneLine()])
    email = EmailField(
        "E-mail address", validators=[DataRequired("Enter their e-mail address."), Length(max=254), NormalisedEmail()]
    )
