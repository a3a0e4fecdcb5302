from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional


class LockForm(FlaskForm):
    kind = RadioField(_l("What to lock"), default="full", choices=[
        SelectChoice("full", _l("The whole trial (database lock)")),
        SelectChoice("interim", _l("An interim cut, with a name and a cut-off date"))],
        validators=[DataRequired()])
    name = StringField(_l("Name of the interim cut"), validators=[Optional(),
                                                                  Length(max=100)])
    cutoff = DateField(_l("Cut-off date"), validators=[Optional()])
    override_reason = TextAreaField(
        _l("Reason to lock an interim cut although something blocks it"),
        validators=[Optional(), Length(max=2000)], render_kw={"rows": 3})
    odm_audit = BooleanField(_l("Include audit records in the ODM file"))


class UnlockForm(FlaskForm):
    reason = TextAreaField(_l("Reason for unlocking (the correction to make)"),
                           validators=[DataRequired(), Length(max=2000)],
                           render_kw={"rows": 3})


class ActionForm(FlaskForm):
    """A button (working export, snapshot again): CSRF only."""
