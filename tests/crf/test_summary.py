from datetime import date
from types import SimpleNamespace as R

from edc import REPO_ROOT
from edc.crf.definitions import load_catalog
from edc.crf.summary import compute


def rec(oid, visit, seq, **values):
    return R(form_oid=oid, visit_code=visit, seq=seq, values=values)


def test_summary_aggregates_and_episodes():
    cat = load_catalog(REPO_ROOT / "forms")
    d0 = date(2026, 3, 1)
    records = [
        rec("EX", "D0", 1, EXSTDAT="2026-03-01", EXDOSE="0.1"),
        rec("EX", "D0", 2, EXSTDAT="2026-03-02", EXDOSE="0.3"),
        rec("EX", "D0", 3, EXSTDAT="2026-03-03", EXDOSE="0.6"),
        rec("CRS", "ACUTE", 1, CRSDAT="2026-03-01", CRSGRADE=0),
        rec("CRS", "ACUTE", 2, CRSDAT="2026-03-03", CRSGRADE=1, CRSTOCN=1),
        rec("CRS", "ACUTE", 3, CRSDAT="2026-03-04", CRSGRADE=3, CRSTOCN=2),
        rec("CRS", "ACUTE", 4, CRSDAT="2026-03-06", CRSGRADE=0),
        rec("ICANS", "ACUTE", 1, ICANDAT="2026-03-05", ICANSGRADE=2),
        rec("RS", "D28", 1, RSDAT="2026-03-29", RSRESP="CR", RSMRD="0.001",
            RSMRDNEG=True),
        rec("FU", "M3", 1, FUDAT="2026-05-30", FUBCA=True),
    ]
    v = compute(cat.summary, records, d0)
    assert v["INFDATES"] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert v["CUMDOSE"] == "1.0"
    assert v["CRSMAX"] == 3 and v["CRSMAX_onset"] == 2 and v["CRSMAX_resolution"] == 5
    assert v["TOCI"] == "3"
    assert v["ICANSMAX"] == 2 and v["ICANSMAX_onset"] == 4
    assert v["ICANSMAX_resolution"] is None  # no later grade-0 assessment: not resolved
    assert v["D28RESP"] == "CR" and v["D28MRDNEG"] is True
    assert v["BCA"] is True and v["LASTCONTACT"] == "2026-05-30"


def test_empty_summary():
    cat = load_catalog(REPO_ROOT / "forms")
    v = compute(cat.summary, [], None)
    assert v["CRSMAX"] is None and "CRSMAX_onset" not in v
