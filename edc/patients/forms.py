from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional


class RegisterForm(FlaskForm):
    birth_year = IntegerField(_l("Year of birth"),
                              validators=[DataRequired(), NumberRange(1990, date.today().year)])
    sex = SelectField(_l("Sex"), choices=[SelectChoice("F", _l("Female")),
                                                SelectChoice("M", _l("Male"))],
                      validators=[DataRequired()])
    registered_on = DateField(_l("Date of registration"), validators=[DataRequired()],
                              default=date.today)
    full_name = StringField(_l("Full name"), validators=[Optional(), Length(max=200)])
    mrn = StringField(_l("Hospital record number"), validators=[Optional(), Length(max=64)])
    birth_date = DateField(_l("Date of birth"), validators=[Optional()])


class LookupForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Patient ID"), validators=[DataRequired(), Length(max=32)])
