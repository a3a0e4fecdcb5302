"""One submission of one form (edc.crf.engine.process) on the example definitions:
types, missing-data codes, skip logic, derivations, ranges, required items and checks."""
from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edc.crf import engine
from edc.crf.definitions import load_catalog
from edc.crf.engine import Finding, Result

EXAMPLE_DIR = Path(__file__).parent / "example_forms"
MADRID = ZoneInfo("Europe/Madrid")
TODAY = date(2026, 1, 15)


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(EXAMPLE_DIR)


@pytest.fixture(scope="module")
def form(catalog):
    return catalog.forms["EXAMPLE"]


@pytest.fixture(scope="module")
def log(catalog):
    return catalog.forms["LOG"]


def valid(**changes) -> dict:
    """A complete, valid submission of EXAMPLE (a girl with a cough, no fever)."""
    raw = {
        "INITIALS": "ABC",
        "VISDAT": "2026-01-10",
        "VISDTC": "2026-01-10 10:30",
        "SEX": "F",
        "WEIGHT": "20.5",
        "HEIGHT": "115",
        "TEMP": "37.2",
        "SYMPYN": "yes",
        "SYMPT": ["cough"],
        "SCORE1": "1",
        "SCORE2": "1",
        "SCORE3": "1",
        "PREGYN": "no",
    }
    raw.update(changes)
    return {k: v for k, v in raw.items() if v is not None}


def run(form, raw, missing=None, refs=None, *, complete=False, today=TODAY) -> Result:
    return engine.process(form, raw, missing or {}, refs or {}, tz=MADRID, today=today,
                          complete=complete)


def msgids(res: Result, item: str) -> list[str]:
    return [m.msgid for m in res.errors.get(item, [])]


# --------------------------------------------------------------------------- all valid
@pytest.mark.parametrize("complete", [False, True])
def test_valid_submission(form, complete):
    res = run(form, valid(), complete=complete)
    assert res.ok, (res.errors, res.form_errors, res.refusals)
    assert res.errors == {} and res.form_errors == [] and res.refusals == []
    assert res.queries == []
    assert res.missing == {}
    assert res.values == {
        "INITIALS": "ABC",
        "VISDAT": "2026-01-10",
        "VISDTC": "2026-01-10T09:30:00Z",
        "SEX": "F",
        "WEIGHT": "20.5",
        "HEIGHT": 115,
        "TEMP": "37.2",
        "FEVERDUR": None,
        "SYMPYN": True,
        "SYMPT": ["cough"],
        "SYMPTOTH": None,
        "SCORE1": 1,
        "SCORE2": 1,
        "SCORE3": 1,
        "PREGYN": False,
        "PREGDAT": None,
        "BSA": "0.81",
        "SCORETOT": 3,
    }
    assert res.visible["FEVERDUR"] is False and res.visible["SYMPTOTH"] is False
    assert res.visible["PREGDAT"] is False
    assert res.visible["PREGYN"] is True and res.visible["SCORE1"] is True
    assert res.visible["BSA"] is True


def test_values_are_typed(form):
    v = run(form, valid()).values
    assert type(v["HEIGHT"]) is int and type(v["SCORETOT"]) is int
    assert type(v["WEIGHT"]) is str and type(v["BSA"]) is str
    assert v["SYMPYN"] is True and v["PREGYN"] is False
    assert isinstance(v["SYMPT"], list)


def test_type_errors_are_per_item(form):
    res = run(form, valid(HEIGHT="115.5", WEIGHT="heavy", VISDAT="2026-02-30",
                          SEX="X", SYMPYN="perhaps", INITIALS="ABCDEF"))
    assert not res.ok
    assert msgids(res, "HEIGHT") == ["Enter a whole number."]
    assert msgids(res, "WEIGHT") == ["Enter a number, e.g. 38.5."]
    assert msgids(res, "VISDAT") == ["This date does not exist."]
    assert msgids(res, "SEX") == ["Choose from the list."]
    assert msgids(res, "SYMPYN") == ["Answer yes or no."]
    assert msgids(res, "INITIALS") == ["At most %(n)d characters."]
    assert res.values["HEIGHT"] is None


# --------------------------------------------------------------------------- ranges
def test_hard_range_refused(form):
    res = run(form, valid(HEIGHT="20"))
    assert not res.ok
    [err] = res.errors["HEIGHT"]
    assert err.msgid == "Out of the possible range (%(min)s to %(max)s)."
    assert err.params == {"min": 30, "max": 250}
    assert res.queries == []          # no checks or soft ranges when there are errors


def test_hard_range_bounds_are_inclusive(form):
    assert run(form, valid(HEIGHT="30", TEMP="44")).errors == {}
    assert "TEMP" in run(form, valid(TEMP="44.1")).errors
    assert "WEIGHT" in run(form, valid(WEIGHT="0.4")).errors


def test_hard_range_on_a_date(form):
    res = run(form, valid(VISDAT="2019-12-31"))
    assert msgids(res, "VISDAT") == ["Out of the possible range (%(min)s to %(max)s)."]
    assert res.errors["VISDAT"][0].params == {"min": "2020-01-01", "max": "2045-12-31"}


def test_hard_range_of_a_hidden_item_is_not_checked(form):
    res = run(form, valid(SYMPYN="no", SYMPT=None, SCORE1="9"))
    assert res.ok and res.values["SCORE1"] is None


def test_expected_range_raises_a_query(form):
    res = run(form, valid(WEIGHT="160"))
    assert res.ok
    assert res.values["WEIGHT"] == "160"
    assert len(res.queries) == 1
    q = res.queries[0]
    assert isinstance(q, Finding)
    assert (q.check, q.item) == ("EXPECTED", "WEIGHT")
    assert q.msg.msgid.startswith("Value outside the expected range")
    assert q.msg.params == {"min": 3, "max": 150}
    assert res.refusals == []


def test_expected_range_low_side_and_decimal_bound(form):
    res = run(form, valid(TEMP="41.6", FEVERDUR="12", SYMPT=["fever"]))
    assert [(q.check, q.item) for q in res.queries] == [("EXPECTED", "TEMP")]
    assert run(form, valid(TEMP="41.5", FEVERDUR="12", SYMPT=["fever"])).queries == []
    res = run(form, valid(TEMP="34.9"))
    assert [(q.check, q.item) for q in res.queries] == [("EXPECTED", "TEMP")]


def test_not_future(form):
    assert msgids(run(form, valid(VISDAT="2026-01-16")), "VISDAT") == \
        ["This date is in the future."]
    assert run(form, valid(VISDAT="2026-01-15")).ok
    res = run(form, valid(VISDTC="2026-01-17 10:00"))
    assert msgids(res, "VISDTC") == ["This date is in the future."]
    assert run(form, valid(VISDTC="2026-01-15 10:00")).ok


def test_not_future_datetime_uses_the_local_date(form):
    # 2026-01-16 00:30 in Madrid is 2026-01-15T23:30:00Z; locally it is tomorrow.
    res = run(form, valid(VISDTC="2026-01-16 00:30"))
    assert msgids(res, "VISDTC") == ["This date is in the future."]


# --------------------------------------------------------------------------- checks
def test_check_with_action_query(form):
    res = run(form, valid(TEMP="38.5", FEVERDUR="6", SYMPT=["cough"]))
    assert res.ok
    assert [(q.check, q.item) for q in res.queries] == [("CHK_FEVER_NOT_TICKED", "TEMP")]
    assert res.queries[0].msg.msgid == \
        "The temperature is 38 °C or above but fever is not ticked."
    assert res.refusals == []
    assert run(form, valid(TEMP="38.5", FEVERDUR="6", SYMPT=["fever", "cough"])).queries == []


def test_check_on_a_derived_item(form):
    res = run(form, valid(SCORE1="3", SCORE2="3", SCORE3="3"))
    assert res.ok and res.values["SCORETOT"] == 9
    assert [(q.check, q.item) for q in res.queries] == [("CHK_SCORE_HIGH", "SCORE1")]


def test_check_with_action_refuse(form):
    res = run(form, valid(PREGYN="yes", PREGDAT="2026-01-12"))
    assert not res.ok
    assert res.errors == {} and res.form_errors == []
    assert [(f.check, f.item) for f in res.refusals] == [("CHK_PREG_AFTER_VISIT", "PREGDAT")]
    assert res.refusals[0].msg.msgid == "The pregnancy test is dated after the visit."
    assert res.queries == []
    assert run(form, valid(PREGYN="yes", PREGDAT="2026-01-09")).ok


def test_queries_and_refusals_together(form):
    res = run(form, valid(WEIGHT="160", PREGYN="yes", PREGDAT="2026-01-12"))
    assert [q.check for q in res.queries] == ["EXPECTED"]
    assert [f.check for f in res.refusals] == ["CHK_PREG_AFTER_VISIT"]
    assert not res.ok


def test_checks_do_not_run_when_there_are_errors(form):
    res = run(form, valid(HEIGHT="20", PREGYN="yes", PREGDAT="2026-01-12", WEIGHT="160"))
    assert res.refusals == [] and res.queries == []
    assert not res.ok


# --------------------------------------------------------------------------- required
def test_required_only_enforced_when_complete(form):
    assert run(form, {}).ok
    assert run(form, {}).values["INITIALS"] is None
    res = run(form, {}, complete=True)
    assert not res.ok
    required = "Required: enter a value or a missing-data code."
    for name in ("INITIALS", "VISDAT", "SEX", "WEIGHT", "HEIGHT", "TEMP", "SYMPYN"):
        assert msgids(res, name) == [required], name
    for name in ("VISDTC", "FEVERDUR", "SYMPT", "SYMPTOTH", "SCORE1", "SCORE2", "PREGYN",
                 "PREGDAT", "BSA", "SCORETOT"):
        assert name not in res.errors, name


def test_required_visible_items_are_enforced(form):
    res = run(form, valid(TEMP="38.5", SYMPT=["fever", "other"], PREGYN=None, SCORE1=None),
              complete=True)
    for name in ("FEVERDUR", "SYMPTOTH", "PREGYN", "SCORE1"):
        assert msgids(res, name) == ["Required: enter a value or a missing-data code."], name
    assert "SCORE2" not in run(form, valid(SCORE2=None), complete=True).errors


def test_hidden_items_are_not_required(form):
    res = run(form, valid(SEX="M", PREGYN=None, SYMPYN="no", SYMPT=None, SCORE1=None),
              complete=True)
    assert res.ok, res.errors
    assert not res.visible["PREGYN"] and not res.visible["SCORE1"]


# --------------------------------------------------------------------------- missing codes
def test_missing_code_satisfies_required(form):
    res = run(form, valid(TEMP=None), {"TEMP": ("ND", "Thermometer broken")}, complete=True)
    assert res.ok, res.errors
    assert res.missing == {"TEMP": {"code": "ND", "reason": "Thermometer broken"}}
    assert res.values["TEMP"] is None


@pytest.mark.parametrize("code", ["ND", "NA", "UNK", "ASKU"])
def test_every_missing_code(form, code):
    res = run(form, valid(HEIGHT=None), {"HEIGHT": (code, "  not measured  ")},
              complete=True)
    assert res.ok
    assert res.missing == {"HEIGHT": {"code": code, "reason": "not measured"}}
    assert res.values["BSA"] is None          # a required argument is missing


def test_missing_code_and_a_value(form):
    res = run(form, valid(), {"TEMP": ("ND", "reason")})
    assert msgids(res, "TEMP") == ["Give a value or a missing-data code, not both."]
    assert not res.ok and "TEMP" not in res.missing


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_missing_code_without_reason(form, reason):
    res = run(form, valid(TEMP=None), {"TEMP": ("UNK", reason)})
    assert msgids(res, "TEMP") == ["Give the reason why the value is missing."]
    assert not res.ok


def test_missing_code_reason_too_long(form):
    res = run(form, valid(TEMP=None), {"TEMP": ("UNK", "x" * 501)})
    assert msgids(res, "TEMP") == ["At most %(n)d characters."]
    assert run(form, valid(TEMP=None), {"TEMP": ("UNK", "x" * 500)}).ok


def test_missing_code_on_an_item_that_refuses_them(form):
    assert form.items["INITIALS"].missing is False
    res = run(form, valid(INITIALS=None), {"INITIALS": ("ASKU", "declined")}, complete=True)
    assert msgids(res, "INITIALS") == ["This missing-data code is not allowed here."]
    assert "INITIALS" not in res.missing


def test_unknown_missing_code(form):
    res = run(form, valid(TEMP=None), {"TEMP": ("LOST", "reason")})
    assert msgids(res, "TEMP") == ["This missing-data code is not allowed here."]


def test_missing_codes_ignored_for_unknown_and_derived_items_and_empty_codes(form):
    res = run(form, valid(), {"NOPE": ("ND", "x"), "BSA": ("ND", "x"), "TEMP": ("", "")})
    assert res.ok and res.missing == {}


def test_missing_code_on_a_hidden_item_is_dropped(form):
    res = run(form, valid(), {"FEVERDUR": ("ND", "not asked")})
    assert res.ok and res.missing == {}


# --------------------------------------------------------------------------- skip logic
def test_hidden_items_are_cleared(form):
    res = run(form, valid(SEX="M", PREGYN="yes", PREGDAT="2026-01-12", TEMP="37",
                          FEVERDUR="5"))
    assert res.ok                         # the refusing check sees the cleared PREGDAT
    assert res.values["PREGYN"] is None and res.values["PREGDAT"] is None
    assert res.values["FEVERDUR"] is None
    assert not res.visible["PREGYN"] and not res.visible["PREGDAT"]


def test_errors_of_hidden_items_are_dropped(form):
    res = run(form, valid(SEX="M", PREGYN="perhaps", PREGDAT="not a date"))
    assert res.ok and res.errors == {}


def test_show_if_with_in_on_a_multichoice(form):
    res = run(form, valid(SYMPT=["cough", "other"], SYMPTOTH="itch"))
    assert res.visible["SYMPTOTH"] and res.values["SYMPTOTH"] == "itch"
    res = run(form, valid(SYMPT=["cough"], SYMPTOTH="itch"))
    assert not res.visible["SYMPTOTH"] and res.values["SYMPTOTH"] is None


def test_section_show_if(form):
    res = run(form, valid(SEX=None, PREGYN="yes"))
    assert not res.visible["PREGYN"] and res.values["PREGYN"] is None
    res = run(form, valid(PREGYN="yes", PREGDAT="2026-01-05"))
    assert res.visible["PREGDAT"] and res.values["PREGDAT"] == "2026-01-05"


def test_chained_skip_logic_clears_every_hidden_item(form):
    # SYMPT is hidden (no symptoms) and cleared; SYMPTOTH depends on 'other' in SYMPT.
    res = run(form, valid(SYMPYN="no", SYMPT=["other"], SYMPTOTH="itch"))
    assert res.values["SYMPT"] is None
    assert res.visible["SYMPTOTH"] is False
    assert res.values["SYMPTOTH"] is None


# --------------------------------------------------------------------------- derivations
def test_derived_values(form):
    res = run(form, valid(WEIGHT="70", HEIGHT="175", SCORE1="0", SCORE2="2", SCORE3="3"))
    assert res.values["BSA"] == "1.84"
    assert res.values["SCORETOT"] == 5


def test_derived_is_empty_until_its_inputs_are_there(form):
    res = run(form, valid(WEIGHT=None, SCORE3=None))
    assert res.ok
    assert res.values["BSA"] is None and res.values["SCORETOT"] is None


def test_derived_values_cannot_be_typed_in(form):
    res = run(form, valid(BSA="9.99", SCORETOT="99"))
    assert res.values["BSA"] == "0.81" and res.values["SCORETOT"] == 3


def test_derived_recomputed_after_hiding(form):
    # The scores are sent but their section is hidden: they are cleared and the total
    # is computed again from the cleared values.
    res = run(form, valid(SYMPYN="no", SYMPT=None, SCORE1="3", SCORE2="3", SCORE3="3"))
    assert res.ok
    assert res.values["SCORE1"] is None
    assert res.values["SCORETOT"] is None
    assert res.queries == []              # CHK_SCORE_HIGH does not see the stale total


def test_derivation_error_is_a_form_error(form):
    # 300 kg is inside the item's hard range (max 400) but impossible for Mosteller's BSA.
    res = run(form, valid(WEIGHT="300"))
    assert not res.ok
    assert res.errors == {}
    [err] = res.form_errors
    assert err.msgid == "%(item)s could not be computed: %(reason)s"
    assert err.params["item"] == "Body surface area (computed)"
    assert "weight_kg" in err.params["reason"]
    assert res.values["BSA"] is None
    assert res.queries == []


# --------------------------------------------------------------------------- references
def test_repeating_form_with_references(log):
    refs = {
        "@LOG[*].LOGDOSE": ["10.5", "20", None],
        "@LOG[prev].LOGSTDTC": "2026-01-10T08:00:00Z",
        "@EXAMPLE.VISDAT": "2026-01-10",
        "@EXAMPLE.WEIGHT": "20.5",
    }
    res = run(log, {"LOGDAT": "2026-01-11", "LOGSTDTC": "2026-01-11 10:30",
                    "LOGDOSE": "5.25", "LOGTOX": "2"}, refs=refs, complete=True)
    assert res.ok, (res.errors, res.form_errors, res.refusals)
    assert res.values["LOGSTDTC"] == "2026-01-11T09:30:00Z"
    assert res.values["LOGCUM"] == "35.75"
    assert res.values["LOGHRS"] == "25.5"
    assert res.queries == []


def test_first_record_of_a_repeating_form(log):
    res = run(log, {"LOGDAT": "2026-01-11", "LOGSTDTC": "2026-01-11 10:30",
                    "LOGDOSE": "5"}, refs={"@LOG[*].LOGDOSE": []})
    assert res.ok
    assert res.values["LOGCUM"] == "5" and res.values["LOGHRS"] is None


def test_check_with_a_reference_raises_a_query(log):
    res = run(log, {"LOGDAT": "2026-01-09", "LOGDOSE": "5"},
              refs={"@EXAMPLE.VISDAT": "2026-01-10"})
    assert [(q.check, q.item) for q in res.queries] == [("CHK_BEFORE_VISIT", "LOGDAT")]
    # without the reference (no EXAMPLE record yet) the check does not fire
    assert run(log, {"LOGDAT": "2026-01-09", "LOGDOSE": "5"}).queries == []


def test_check_with_a_reference_refuses(log):
    refs = {"@EXAMPLE.WEIGHT": "20.5"}
    res = run(log, {"LOGDAT": "2026-01-11", "LOGDOSE": "205.5"}, refs=refs)
    assert [(f.check, f.item) for f in res.refusals] == [("CHK_DOSE_VS_WEIGHT", "LOGDOSE")]
    assert not res.ok
    assert run(log, {"LOGDAT": "2026-01-11", "LOGDOSE": "205"}, refs=refs).ok


def test_derivation_error_from_a_reference(log):
    # the previous dose ended after this one started: hours_between raises ValueError
    res = run(log, {"LOGDAT": "2026-01-11", "LOGSTDTC": "2026-01-11 10:30", "LOGDOSE": "5"},
              refs={"@LOG[prev].LOGSTDTC": "2026-01-12T08:00:00Z"})
    assert not res.ok
    [err] = res.form_errors
    assert err.params["item"] == "Hours since the previous dose (computed)"
    assert res.values["LOGHRS"] is None


def test_references_do_not_override_items(log):
    res = run(log, {"LOGDAT": "2026-01-11", "LOGDOSE": "5"}, refs={"LOGDOSE": "999"})
    assert res.values["LOGDOSE"] == "5"


# --------------------------------------------------------------------------- helpers
def test_visibility_and_derive_directly(form):
    values = {name: None for name in form.items}
    values.update({"SEX": "F", "TEMP": "38", "WEIGHT": "20.5", "HEIGHT": 115})
    shown = engine.visibility(form, values, {})
    assert shown["PREGYN"] and shown["FEVERDUR"] and not shown["SYMPT"]
    engine.derive(form, values, {}, None)
    assert values["BSA"] == "0.81"
