"""ASTCT 2019 CRS and ICANS grading (edc.clinical.grading), rule by rule and at every boundary.

Reference: Lee DW et al., Biol Blood Marrow Transplant 2019;25:625-638;
shared/reference/astct-grading.md.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edc.clinical.grading import (
    CONSCIOUSNESS_CODES,
    EDEMA_CODES,
    OXYGEN_CODES,
    SEIZURE_CODES,
    VASOPRESSOR_CODES,
    crs_grade,
    icans_grade,
)

FEVER = 38.5

# --------------------------------------------------------------------------- CRS: fever


@pytest.mark.parametrize(
    ("temperature", "expected"),
    [(37.9, 0), (38.0, 1), (38.1, 1), (40.5, 1), (25, 0), (45, 1)],
)
def test_crs_fever_threshold(temperature: float, expected: int) -> None:
    assert crs_grade(temperature_c=temperature) == expected


@pytest.mark.parametrize(
    "temperature", [38.0, 38, Decimal("38.0"), "38.0", " 38.0 ", "38", 38.00001]
)
def test_crs_accepts_every_numeric_form(temperature: Any) -> None:
    assert crs_grade(temperature_c=temperature) == 1


@pytest.mark.parametrize("temperature", [37.9, Decimal("37.99"), "37.9"])
def test_crs_below_fever_in_every_numeric_form(temperature: Any) -> None:
    assert crs_grade(temperature_c=temperature) == 0


def test_crs_fever_with_other_cause_is_not_crs() -> None:
    assert crs_grade(temperature_c=39.2, fever_other_cause=True) == 0


def test_crs_fever_with_other_cause_is_not_crs_whatever_else() -> None:
    grade = crs_grade(
        temperature_c=39.2,
        fever_other_cause=True,
        hypotension=True,
        vasopressors=["norepinephrine", "epinephrine"],
        oxygen="bipap",
    )
    assert grade == 0


def test_crs_no_fever_not_masked_is_zero_whatever_else() -> None:
    grade = crs_grade(
        temperature_c=37.0,
        hypotension=True,
        vasopressors=["norepinephrine", "epinephrine"],
        oxygen="mechanical_ventilation",
    )
    assert grade == 0


# --------------------------------------------------------------------------- CRS: masked


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, 1),  # masked CRS, no hypotension or hypoxia: still grade 1
        ({"hypotension": True}, 2),
        ({"vasopressors": ["norepinephrine"]}, 3),
        ({"oxygen": "nasal_cannula", "oxygen_flow_lpm": 2}, 2),
        ({"oxygen": "non_rebreather"}, 3),
        ({"oxygen": "cpap"}, 4),
        ({"vasopressors": ["dopamine", "phenylephrine"]}, 4),
    ],
)
def test_crs_masked_without_fever_graded_by_hypotension_and_hypoxia(
    kwargs: dict[str, Any], expected: int
) -> None:
    assert crs_grade(temperature_c=36.8, masked=True, **kwargs) == expected


def test_crs_masked_overrides_other_cause() -> None:
    grade = crs_grade(temperature_c=38.5, fever_other_cause=True, masked=True, hypotension=True)
    assert grade == 2


# --------------------------------------------------------------------------- CRS: hypotension


@pytest.mark.parametrize(
    ("hypotension", "vasopressors", "expected"),
    [
        (False, [], 1),
        (True, [], 2),
        (True, ["norepinephrine"], 3),
        (False, ["norepinephrine"], 3),  # a vasopressor implies hypotension
        (True, ["vasopressin"], 3),  # vasopressin alone counts as one
        (True, ["norepinephrine", "vasopressin"], 3),  # vasopressin never counted
        (True, ["norepinephrine", "epinephrine"], 4),
        (True, ["norepinephrine", "epinephrine", "vasopressin"], 4),
        (True, ["dopamine", "other"], 4),
        (True, ["other"], 3),
        (True, ["norepinephrine", "norepinephrine"], 3),  # a duplicate is one drug
        (True, ("phenylephrine",), 3),
        (True, {"epinephrine", "dopamine"}, 4),
        (True, "epinephrine", 3),  # a lone code
    ],
)
def test_crs_hypotension(hypotension: bool, vasopressors: Any, expected: int) -> None:
    grade = crs_grade(temperature_c=FEVER, hypotension=hypotension, vasopressors=vasopressors)
    assert grade == expected


@pytest.mark.parametrize("code", VASOPRESSOR_CODES)
def test_crs_each_vasopressor_alone_is_grade_3(code: str) -> None:
    assert crs_grade(temperature_c=FEVER, vasopressors=[code]) == 3


# --------------------------------------------------------------------------- CRS: hypoxia


@pytest.mark.parametrize(
    ("oxygen", "flow", "expected"),
    [
        ("none", None, 1),
        ("blow_by", None, 2),
        ("nasal_cannula", None, 2),
        ("nasal_cannula", 0.5, 2),
        ("nasal_cannula", 6, 2),
        ("nasal_cannula", "6.0", 2),
        ("nasal_cannula", 6.5, 3),
        ("nasal_cannula", Decimal("6.1"), 3),
        ("nasal_cannula", 15, 3),
        ("high_flow_nasal_cannula", None, 3),
        ("high_flow_nasal_cannula", 4, 3),
        ("high_flow_nasal_cannula", 40, 3),
        ("simple_mask", None, 3),
        ("venturi_mask", 8, 3),
        ("non_rebreather", 15, 3),
        ("cpap", None, 4),
        ("bipap", None, 4),
        ("mechanical_ventilation", None, 4),
        ("none", 3, 1),  # a flow for a device that needs none is ignored
        ("blow_by", 10, 2),  # the > 6 L/min rule is for nasal cannulas only
    ],
)
def test_crs_hypoxia_by_oxygen_support(oxygen: str, flow: Any, expected: int) -> None:
    assert crs_grade(temperature_c=FEVER, oxygen=oxygen, oxygen_flow_lpm=flow) == expected


def test_every_oxygen_code_is_graded() -> None:
    assert set(OXYGEN_CODES) == {
        "none", "blow_by", "nasal_cannula", "high_flow_nasal_cannula", "simple_mask",
        "venturi_mask", "non_rebreather", "cpap", "bipap", "mechanical_ventilation",
    }


# --------------------------------------------------------------------------- CRS: overall


def test_crs_paper_example_fever_one_vasopressor_low_flow_cannula() -> None:
    grade = crs_grade(
        temperature_c=38.6,
        hypotension=True,
        vasopressors=["norepinephrine"],
        oxygen="nasal_cannula",
        oxygen_flow_lpm=2,
    )
    assert grade == 3


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"hypotension": True, "oxygen": "cpap"}, 4),  # hypoxia the worse
        ({"vasopressors": ["norepinephrine", "epinephrine"], "oxygen": "blow_by"}, 4),
        ({"hypotension": True, "oxygen": "simple_mask"}, 3),
        ({"hypotension": True, "oxygen": "blow_by"}, 2),
    ],
)
def test_crs_overall_is_the_most_severe(kwargs: dict[str, Any], expected: int) -> None:
    assert crs_grade(temperature_c=FEVER, **kwargs) == expected


@pytest.mark.parametrize("temperature", [FEVER, 36.5])
def test_crs_death(temperature: float) -> None:
    assert crs_grade(temperature_c=temperature, death_due_to_crs=True) == 5


def test_crs_none_optional_arguments_take_defaults() -> None:
    grade = crs_grade(
        temperature_c=FEVER,
        fever_other_cause=None,
        masked=None,
        hypotension=None,
        vasopressors=None,
        oxygen=None,
        oxygen_flow_lpm=None,
        death_due_to_crs=None,
    )
    assert grade == 1


@pytest.mark.parametrize(("flag", "expected"), [("Y", 2), ("N", 1), ("true", 2), (0, 1)])
def test_crs_yes_no_codes_accepted_for_flags(flag: Any, expected: int) -> None:
    assert crs_grade(temperature_c=FEVER, hypotension=flag) == expected


# --------------------------------------------------------------------------- CRS: errors


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"temperature_c": None}, "temperature_c is required"),
        ({"temperature_c": 24.9}, "between 25 and 45"),
        ({"temperature_c": 45.1}, "between 25 and 45"),
        ({"temperature_c": -38}, "between 25 and 45"),
        ({"temperature_c": "hot"}, "temperature_c must be a number"),
        ({"temperature_c": ""}, "temperature_c must be a number"),
        ({"temperature_c": True}, "temperature_c must be a number"),
        ({"temperature_c": float("nan")}, "finite"),
        ({"temperature_c": "inf"}, "finite"),
        ({"temperature_c": [38]}, "temperature_c must be a number"),
        ({"temperature_c": FEVER, "vasopressors": ["adrenaline"]}, "unknown vasopressor"),
        ({"temperature_c": FEVER, "vasopressors": [None]}, "unknown vasopressor"),
        ({"temperature_c": FEVER, "vasopressors": 3}, "list of codes"),
        ({"temperature_c": FEVER, "oxygen": "helmet"}, "unknown oxygen"),
        ({"temperature_c": FEVER, "oxygen": "CPAP"}, "unknown oxygen"),
        ({"temperature_c": FEVER, "oxygen": "nasal_cannula", "oxygen_flow_lpm": -1},
         "must not be negative"),
        ({"temperature_c": FEVER, "oxygen": "none", "oxygen_flow_lpm": -0.5},
         "must not be negative"),
        ({"temperature_c": FEVER, "oxygen_flow_lpm": "lots"}, "oxygen_flow_lpm must be a number"),
        ({"temperature_c": FEVER, "hypotension": "maybe"}, "hypotension must be true or false"),
        ({"temperature_c": FEVER, "masked": 2}, "masked must be true or false"),
        ({"temperature_c": FEVER, "death_due_to_crs": "?"}, "death_due_to_crs"),
        ({"temperature_c": FEVER, "fever_other_cause": 1.5}, "fever_other_cause"),
    ],
)
def test_crs_impossible_input_raises(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        crs_grade(**kwargs)


def test_crs_unknown_code_message_lists_the_codes() -> None:
    with pytest.raises(ValueError, match="expected one of: none, blow_by, nasal_cannula"):
        crs_grade(temperature_c=FEVER, oxygen="tent")


def test_crs_arguments_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        crs_grade(38.5)  # type: ignore[misc]


# --------------------------------------------------------------------------- ICANS: ICE


@pytest.mark.parametrize(
    ("ice", "expected"),
    [(10, 0), (9, 1), (8, 1), (7, 1), (6, 2), (5, 2), (3, 2), (2, 3), (1, 3), (0, 3)],
)
def test_icans_ice_bands(ice: int, expected: int) -> None:
    assert icans_grade(age_years=15, ice_score=ice) == expected


@pytest.mark.parametrize("ice", [7, 7.0, Decimal("7"), "7", " 7 ", "7.0"])
def test_icans_ice_accepts_every_numeric_form(ice: Any) -> None:
    assert icans_grade(age_years=15, ice_score=ice) == 1


@pytest.mark.parametrize("age", [12, "12", Decimal("12.0"), 12.5, 17, 45])
def test_icans_ice_from_age_12(age: Any) -> None:
    assert icans_grade(age_years=age, ice_score=6) == 2


# --------------------------------------------------------------------------- ICANS: CAPD


@pytest.mark.parametrize(
    ("capd", "consciousness", "expected"),
    [
        (0, "spontaneous", 0),
        (1, "spontaneous", 1),
        (8, "spontaneous", 1),
        (1, "voice", 2),
        (8, "voice", 2),
        (5, "touch", 3),
        (9, "spontaneous", 3),
        (9, "voice", 3),
        (20, "spontaneous", 3),
        (32, "spontaneous", 3),
        (32, "unarousable", 4),
        (0, "voice", 2),
    ],
)
def test_icans_capd_bands_with_consciousness(
    capd: int, consciousness: str, expected: int
) -> None:
    grade = icans_grade(age_years=6, capd_score=capd, consciousness=consciousness)
    assert grade == expected


@pytest.mark.parametrize("age", [0, 1, 11, "11", Decimal("11.9"), 11.99])
def test_icans_capd_under_12(age: Any) -> None:
    assert icans_grade(age_years=age, capd_score=4) == 1


@pytest.mark.parametrize("age", [12, 16, 30])
def test_icans_capd_at_12_or_over_with_developmental_delay(age: int) -> None:
    assert icans_grade(age_years=age, capd_score=10, developmental_delay=True) == 3


def test_icans_capd_under_12_with_developmental_delay() -> None:
    assert icans_grade(age_years=8, capd_score=3, developmental_delay=True) == 1


# --------------------------------------------------------------------------- ICANS: tool


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"age_years": 11, "ice_score": 10}, "under 12 years is assessed with the CAPD"),
        ({"age_years": Decimal("11.9"), "ice_score": 10}, "under 12 years"),
        ({"age_years": 0, "ice_score": 5}, "under 12 years"),
        ({"age_years": 12, "capd_score": 0}, "12 or over without developmental delay"),
        ({"age_years": 17, "capd_score": 9}, "assessed with the ICE score"),
        ({"age_years": 14, "ice_score": 8, "developmental_delay": True},
         "with developmental delay is assessed with the CAPD"),
        ({"age_years": 7, "ice_score": 8, "developmental_delay": True},
         "with developmental delay"),
        ({"age_years": 15, "ice_score": 8, "capd_score": 3}, "not both"),
        ({"age_years": 6, "ice_score": 8, "capd_score": 3}, "not both"),
    ],
)
def test_icans_wrong_tool_raises(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        icans_grade(**kwargs)


def test_icans_no_tool_score_grades_the_other_domains() -> None:
    assert icans_grade(age_years=15) == 0
    assert icans_grade(age_years=4) == 0
    assert icans_grade(age_years=4, consciousness="voice") == 2


# --------------------------------------------------------------------------- ICANS: domains


@pytest.mark.parametrize(
    ("consciousness", "expected"),
    [("spontaneous", 0), ("voice", 2), ("touch", 3), ("unarousable", 4)],
)
def test_icans_consciousness(consciousness: str, expected: int) -> None:
    assert icans_grade(age_years=15, ice_score=10, consciousness=consciousness) == expected


@pytest.mark.parametrize("age", [4, 15])
def test_icans_unarousable_unable_to_perform_tool_is_4(age: int) -> None:
    assert icans_grade(age_years=age, ice_score=None, consciousness="unarousable") == 4


@pytest.mark.parametrize(
    ("seizure", "expected"), [("none", 0), ("rapidly_resolving", 3), ("prolonged", 4)]
)
def test_icans_seizure(seizure: str, expected: int) -> None:
    assert icans_grade(age_years=15, ice_score=10, seizure=seizure) == expected


@pytest.mark.parametrize(("weakness", "expected"), [(False, 0), (True, 4)])
def test_icans_motor_weakness(weakness: bool, expected: int) -> None:
    assert icans_grade(age_years=5, capd_score=0, motor_weakness=weakness) == expected


@pytest.mark.parametrize(("edema", "expected"), [("none", 0), ("focal", 3), ("diffuse", 4)])
def test_icans_cerebral_edema(edema: str, expected: int) -> None:
    assert icans_grade(age_years=15, ice_score=10, cerebral_edema=edema) == expected


@pytest.mark.parametrize(("icp", "expected"), [(False, 0), (True, 4)])
def test_icans_raised_icp_signs(icp: bool, expected: int) -> None:
    assert icans_grade(age_years=15, ice_score=10, raised_icp_signs=icp) == expected


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"ice_score": 8, "consciousness": "voice"}, 2),
        ({"ice_score": 2, "consciousness": "voice"}, 3),
        ({"ice_score": 9, "seizure": "rapidly_resolving"}, 3),
        ({"ice_score": 5, "cerebral_edema": "focal", "seizure": "prolonged"}, 4),
        ({"ice_score": 0, "motor_weakness": True}, 4),
    ],
)
def test_icans_overall_is_the_most_severe(kwargs: dict[str, Any], expected: int) -> None:
    assert icans_grade(age_years=15, **kwargs) == expected


@pytest.mark.parametrize("age", [3, 15])
def test_icans_death(age: int) -> None:
    assert icans_grade(age_years=age, death_due_to_icans=True) == 5


def test_icans_none_optional_arguments_take_defaults() -> None:
    grade = icans_grade(
        age_years=15,
        ice_score=None,
        capd_score=None,
        developmental_delay=None,
        consciousness=None,
        seizure=None,
        motor_weakness=None,
        cerebral_edema=None,
        raised_icp_signs=None,
        death_due_to_icans=None,
    )
    assert grade == 0


# --------------------------------------------------------------------------- ICANS: errors


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"age_years": None}, "age_years is required"),
        ({"age_years": -1}, "age_years must not be negative"),
        ({"age_years": "ten"}, "age_years must be a number"),
        ({"age_years": 15, "ice_score": 11}, "ice_score must be between 0 and 10"),
        ({"age_years": 15, "ice_score": -1}, "ice_score must be between 0 and 10"),
        ({"age_years": 15, "ice_score": 7.5}, "ice_score must be a whole number"),
        ({"age_years": 15, "ice_score": "x"}, "ice_score must be a number"),
        ({"age_years": 5, "capd_score": 33}, "capd_score must be between 0 and 32"),
        ({"age_years": 5, "capd_score": -1}, "capd_score must be between 0 and 32"),
        ({"age_years": 5, "capd_score": "4.5"}, "capd_score must be a whole number"),
        ({"age_years": 15, "consciousness": "drowsy"}, "unknown consciousness"),
        ({"age_years": 15, "seizure": "focal"}, "unknown seizure"),
        ({"age_years": 15, "cerebral_edema": "yes"}, "unknown cerebral_edema"),
        ({"age_years": 15, "motor_weakness": "perhaps"}, "motor_weakness must be true"),
        ({"age_years": 15, "raised_icp_signs": 3}, "raised_icp_signs must be true"),
        ({"age_years": 15, "death_due_to_icans": "?"}, "death_due_to_icans"),
        ({"age_years": 15, "developmental_delay": "?"}, "developmental_delay"),
    ],
)
def test_icans_impossible_input_raises(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        icans_grade(**kwargs)


# --------------------------------------------------------------------------- properties

@settings(database=None)  # no example database kept between runs
@given(
    temperature=st.decimals(min_value=25, max_value=45, places=1),
    other_cause=st.booleans(),
    masked=st.booleans(),
    hypotension=st.booleans(),
    vasopressors=st.lists(st.sampled_from(VASOPRESSOR_CODES), max_size=4),
    oxygen=st.sampled_from(OXYGEN_CODES),
    flow=st.none() | st.decimals(min_value=0, max_value=60, places=1),
)
def test_crs_grade_property(
    temperature: Decimal, other_cause: bool, masked: bool, hypotension: bool,
    vasopressors: list[str], oxygen: str, flow: Decimal | None,
) -> None:
    kwargs: dict[str, Any] = {
        "temperature_c": temperature, "fever_other_cause": other_cause, "masked": masked,
        "hypotension": hypotension, "vasopressors": vasopressors, "oxygen": oxygen,
        "oxygen_flow_lpm": flow,
    }
    grade = crs_grade(**kwargs)
    assert 0 <= grade <= 4
    assert (grade == 0) == (not masked and (temperature < 38 or other_cause))
    assert crs_grade(**kwargs, death_due_to_crs=True) == 5
    if grade:  # adding a vasopressor never lowers the grade
        more = [*vasopressors, "dopamine"]
        assert crs_grade(**{**kwargs, "vasopressors": more}) >= max(3, grade)


@settings(database=None)  # no example database kept between runs
@given(
    age=st.integers(min_value=0, max_value=30),
    delay=st.booleans(),
    score=st.none() | st.integers(min_value=0, max_value=10),
    consciousness=st.sampled_from(CONSCIOUSNESS_CODES),
    seizure=st.sampled_from(SEIZURE_CODES),
    edema=st.sampled_from(EDEMA_CODES),
    weakness=st.booleans(),
    icp=st.booleans(),
)
def test_icans_grade_property(
    age: int, delay: bool, score: int | None, consciousness: str, seizure: str, edema: str,
    weakness: bool, icp: bool,
) -> None:
    tool = "capd_score" if age < 12 or delay else "ice_score"
    kwargs: dict[str, Any] = {
        "age_years": age, "developmental_delay": delay, tool: score,
        "consciousness": consciousness, "seizure": seizure, "cerebral_edema": edema,
        "motor_weakness": weakness, "raised_icp_signs": icp,
    }
    grade = icans_grade(**kwargs)
    assert 0 <= grade <= 4
    assert grade >= {"spontaneous": 0, "voice": 2, "touch": 3, "unarousable": 4}[consciousness]
    assert icans_grade(**kwargs, death_due_to_icans=True) == 5
