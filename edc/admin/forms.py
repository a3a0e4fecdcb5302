from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, SelectField
from wtforms.validators import DataRequired, Length


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class RoleForm(FlaskForm):
    site = SelectField(_l("Site"), validators=[DataRequired()])
    role = SelectField(_l("Role"), validators=[DataRequired()])


class GrantByEmailForm(RoleForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])


class RevokeForm(FlaskForm):
    site = HiddenField(validators=[DataRequired()])
    role = HiddenField(validators=[DataRequired()])
