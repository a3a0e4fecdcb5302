from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, Length, NumberRange


class TokenForm(FlaskForm):
    name = StringField(_l("Name (what the token is for)"),
                       validators=[DataRequired(), Length(max=100)])
    days = IntegerField(_l("Valid for (days)"), default=90,
                        validators=[DataRequired(), NumberRange(1, 365)])
