"""Label tables translated when read (edc.labels.Translated)."""
from flask_babel import force_locale

from edc.labels import Translated
from edc.queries.services import STATE_LABELS


def test_translated_on_read_in_the_request_language(app):
    with app.test_request_context():
        with force_locale("es"):
            labels = Translated(STATE_LABELS)
            assert labels["closed"] == "Cerrada"
            assert labels.get("closed") == "Cerrada"
            assert labels.get("no such state", "x") == "x"
            assert dict(labels.items())["open"] == "Abierta"
        with force_locale("en"):
            assert Translated(STATE_LABELS)["closed"] == "Closed"
    assert set(Translated(STATE_LABELS)) == set(STATE_LABELS)
    assert len(Translated(STATE_LABELS)) == len(STATE_LABELS)
