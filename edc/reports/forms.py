from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length


class IdentifiedCopyForm(FlaskForm):
    """The investigator's explicit request for an identified casebook."""

    purpose = TextAreaField(_l("Why is an identified copy needed?"),
                            validators=[DataRequired(), Length(max=500)],
                            render_kw={"rows": 3, "maxlength": 500})
    lang = SelectField(_l("Language"), validators=[DataRequired()])
    confirm = BooleanField(_l("I understand that this copy shows who the patient is, that my "
                              "request is recorded in the audit trail, and that the printed "
                              "copy must be kept as a confidential source document."),
                           validators=[DataRequired()])
