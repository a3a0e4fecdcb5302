"""Stored decimals are ASCII ("1.000"); Italian and Spanish read them with a decimal comma
("1,000"), so a dose of one is never read as a thousand. Inputs accept either sign."""
import pytest
from helpers import post, register_patient
from sqlalchemy import select

from edc.crf.models import FormRecord
from edc.i18n_digits import local_decimal, normalise_number

DM = {"BRTHYR": "2016", "SEX": "F", "WEIGHT": "22,5", "HEIGHT": "118"}


def test_local_decimal_keeps_digits_and_precision():
    assert local_decimal("1.000", ",") == "1,000"
    assert local_decimal("0.86", ".") == "0.86"
    assert local_decimal("120", ",") == "120"
    assert normalise_number(local_decimal("1.000", ",")) == "1.000"  # round trip


@pytest.mark.parametrize("lang, weight, bsa", [("en", "22.5", "0.86"), ("ar", "22.5", "0.86"),
                                               ("it", "22,5", "0,86"), ("es", "22,5", "0,86")])
def test_decimals_shown_in_the_language(app, logged_in, lang, weight, bsa):
    pid = register_patient(app)
    c = logged_in("investigator")
    assert post(c, f"/patients/{pid}/forms/SCR/DM", dict(DM, action="save")).status_code == 302
    assert post(c, "/language", {"lang": lang, "next": "/"}).status_code == 302
    with app.app_context():
        from edc.extensions import db
        rid = db.session.scalars(select(FormRecord.id)).one()
    form = c.get(f"/patients/{pid}/records/{rid}").get_data(as_text=True)
    assert f'value="{weight}"' in form                # the input, as the user reads it
    history = c.get(f"/patients/{pid}/records/{rid}/history/WEIGHT").get_data(as_text=True)
    assert f"<bdi>{weight}</bdi>" in history
    live = post(c, f"/patients/{pid}/forms/SCR/DM/derive", DM).get_json()
    assert live["derived"]["BSA"] == "0.86"          # the value itself stays ASCII
    assert live["display"]["BSA"] == bsa             # what the page shows
