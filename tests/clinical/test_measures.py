"""Derived measures (edc.clinical.measures) and the registry (edc.clinical.FUNCTIONS, call)."""

from __future__ import annotations

import ast
import inspect
import sys
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import edc.clinical
from edc.clinical import FUNCTIONS, Derivation, call
from edc.clinical.measures import (
    age_years,
    b_cell_aplasia,
    bsa_mosteller,
    cumulative,
    eligible,
    hours_between,
    mrd_negative,
    total,
    use_capd,
)

# --------------------------------------------------------------------------- BSA


@pytest.mark.parametrize(
    ("weight", "height", "expected"),
    [
        (70, 170, Decimal("1.82")),  # √(170·70/3600) = 1.8181…
        (20, 110, Decimal("0.78")),  # 0.7817…
        (3.5, 50, Decimal("0.22")),  # newborn
        ("25.4", "121.5", Decimal("0.93")),  # 0.9264…
        (Decimal("36"), Decimal("100"), Decimal("1.00")),  # exactly 1
        (250, 250, Decimal("4.17")),  # the upper limits are allowed
    ],
)
def test_bsa_mosteller(weight: Any, height: Any, expected: Decimal) -> None:
    result = bsa_mosteller(weight_kg=weight, height_cm=height)
    assert result == expected
    assert isinstance(result, Decimal)
    assert result.as_tuple().exponent == -2


@pytest.mark.parametrize(("weight", "height"), [(None, 170), (70, None), (None, None)])
def test_bsa_missing_input(weight: Any, height: Any) -> None:
    assert bsa_mosteller(weight_kg=weight, height_cm=height) is None


@pytest.mark.parametrize(
    ("weight", "height", "message"),
    [
        (0, 170, "weight_kg must be above 0"),
        (-5, 170, "weight_kg must be above 0"),
        (250.1, 170, "at most 250 kg"),
        (70, 0, "height_cm must be above 0"),
        (70, -1, "height_cm must be above 0"),
        (70, 251, "at most 250 cm"),
        ("heavy", 170, "weight_kg must be a number"),
        (70, True, "height_cm must be a number"),
    ],
)
def test_bsa_impossible_input(weight: Any, height: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        bsa_mosteller(weight_kg=weight, height_cm=height)


# --------------------------------------------------------------------------- age


@pytest.mark.parametrize(
    ("birth_year", "birth_month", "on_date", "expected"),
    [
        # year only: birthday assumed 1 July
        (2014, None, "2026-06-30", 11),
        (2014, None, "2026-07-01", 12),
        (2014, None, "2026-12-31", 12),
        (2014, None, "2026-07-01T00:00:00Z", 12),
        (2014, None, "2026-06-30T23:59:59Z", 11),
        (2014, None, date(2026, 7, 1), 12),
        (2014, None, datetime(2026, 6, 30, 12, tzinfo=timezone.utc), 11),
        ("2014", None, "2026-07-01", 12),
        # with the month: birthday assumed the 15th
        (2014, 3, "2026-03-14", 11),
        (2014, 3, "2026-03-15", 12),
        (2014, "12", "2026-12-15", 12),
        (2014, 12, "2026-12-14", 11),
        # born this year: between the earliest possible birth and the assumed birthday
        (2026, None, "2026-01-01", 0),
        (2026, None, "2026-03-01", 0),
        (2026, 5, "2026-05-01", 0),
        (2026, 5, "2027-05-14", 0),
        (2026, 5, "2027-05-15", 1),
    ],
)
def test_age_years(birth_year: Any, birth_month: Any, on_date: Any, expected: int) -> None:
    assert age_years(birth_year=birth_year, birth_month=birth_month, on_date=on_date) == expected


def test_age_years_converts_an_aware_datetime_to_utc() -> None:
    # 1 July 00:30 in UTC+02:00 is still 30 June in UTC
    assert age_years(birth_year=2014, on_date="2026-07-01T00:30:00+02:00") == 11


@pytest.mark.parametrize(("birth_year", "on_date"), [(None, "2026-01-01"), (2014, None)])
def test_age_years_missing_input(birth_year: Any, on_date: Any) -> None:
    assert age_years(birth_year=birth_year, on_date=on_date) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"birth_year": 2026, "on_date": "2025-12-31"}, "before the date of birth"),
        ({"birth_year": 2026, "birth_month": 5, "on_date": "2026-04-30"},
         "before the date of birth"),
        ({"birth_year": 2014, "birth_month": 13, "on_date": "2026-01-01"},
         "birth_month must be between 1 and 12"),
        ({"birth_year": 2014, "birth_month": 0, "on_date": "2026-01-01"},
         "birth_month must be between 1 and 12"),
        ({"birth_year": 0, "on_date": "2026-01-01"}, "birth_year must be a calendar year"),
        ({"birth_year": 2014.5, "on_date": "2026-01-01"}, "birth_year must be a whole number"),
        ({"birth_year": 2014, "on_date": "01/07/2026"}, "on_date must be an ISO 8601 date"),
        ({"birth_year": 2014, "on_date": "2026-02-30"}, "on_date must be an ISO 8601 date"),
        ({"birth_year": 2014, "on_date": 20260101}, "on_date must be an ISO 8601 date"),
    ],
)
def test_age_years_impossible_input(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        age_years(**kwargs)


# --------------------------------------------------------------------------- total


@pytest.mark.parametrize(
    ("values", "expected", "kind"),
    [
        ([1, 2, 3, 4], 10, int),
        ([], 0, int),
        (["3", "4"], 7, int),
        ([4, 4, 2], 10, int),
        (["1.5", 2], Decimal("3.5"), Decimal),
        ([Decimal("0.25"), Decimal("0.75")], Decimal("1"), Decimal),
        ([0.1, 0.2], Decimal("0.3"), Decimal),
        (("5.0", "5.0"), Decimal("10"), Decimal),
    ],
)
def test_total(values: Any, expected: Any, kind: type) -> None:
    result = total(values=values)
    assert result == expected
    assert type(result) is kind


def test_total_of_decimals_has_no_exponent() -> None:
    assert str(total(values=["5.0", "5.0"])) == "10"


@pytest.mark.parametrize("values", [[1, None, 3], [None], None])
def test_total_missing_element(values: Any) -> None:
    assert total(values=values) is None


@pytest.mark.parametrize(
    ("values", "message"),
    [(5, "values must be a list"), ([1, "x"], "values must be a number"), ([True], "number")],
)
def test_total_impossible_input(values: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        total(values=values)


# --------------------------------------------------------------------------- cumulative


@pytest.mark.parametrize(
    ("current", "previous", "expected"),
    [
        ("1.5", (), "1.5"),
        ("1.5", ["1.0", "2.5"], "5"),
        ("1.5", ["1.0", None, "2.5"], "5"),
        (2, [None, None], "2"),
        ("0.10", ["0.20"], "0.3"),
        (Decimal("50"), ["50", "50"], "150"),
        ("1.5", None, "1.5"),
        ("1.5", "2", "3.5"),  # a lone previous value
    ],
)
def test_cumulative(current: Any, previous: Any, expected: str) -> None:
    result = cumulative(current=current, previous=previous)
    assert isinstance(result, Decimal)
    assert str(result) == expected


def test_cumulative_default_previous() -> None:
    assert cumulative(current="3.25") == Decimal("3.25")


def test_cumulative_missing_current() -> None:
    assert cumulative(current=None, previous=["1"]) is None


def test_cumulative_impossible_input() -> None:
    with pytest.raises(ValueError, match="previous must be a number"):
        cumulative(current="1", previous=["x"])


# --------------------------------------------------------------------------- hours_between


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2026-03-01T08:00:00Z", "2026-03-01T08:00:00Z", "0.0"),
        ("2026-03-01T08:00:00Z", "2026-03-01T20:30:00Z", "12.5"),
        ("2026-03-01T08:00:00Z", "2026-03-03T08:00:00Z", "48.0"),
        ("2026-03-01T08:00:00Z", "2026-03-01T08:02:59Z", "0.0"),  # 0.0497 h
        ("2026-03-01T08:00:00Z", "2026-03-01T08:03:00Z", "0.1"),  # 0.05 h, half up
        ("2026-03-28T23:00:00Z", "2026-03-29T03:00:00Z", "4.0"),  # UTC: no DST jump
        ("2026-03-01T08:00:00+01:00", "2026-03-01T08:00:00Z", "1.0"),
        (datetime(2026, 3, 1, 8, tzinfo=timezone.utc), "2026-03-01T10:00:00Z", "2.0"),
        ("2026-03-01T08:00:00", "2026-03-01T09:00:00Z", "1.0"),  # naive taken as UTC
    ],
)
def test_hours_between(start: Any, end: Any, expected: str) -> None:
    result = hours_between(start=start, end=end)
    assert isinstance(result, Decimal)
    assert str(result) == expected


@pytest.mark.parametrize(("start", "end"), [(None, "2026-03-01T08:00:00Z"),
                                            ("2026-03-01T08:00:00Z", None)])
def test_hours_between_missing_input(start: Any, end: Any) -> None:
    assert hours_between(start=start, end=end) is None


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-03-01T08:00:00Z", "2026-03-01T07:59:59Z", "is before start"),
        ("yesterday", "2026-03-01T08:00:00Z", "start must be an ISO 8601 datetime"),
        ("2026-03-01T08:00:00Z", 5, "end must be an ISO 8601 datetime"),
    ],
)
def test_hours_between_impossible_input(start: Any, end: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        hours_between(start=start, end=end)


# --------------------------------------------------------------------------- MRD


@pytest.mark.parametrize(
    ("mrd", "lod", "expected"),
    [
        (0, None, True),
        ("0.009", None, True),
        ("0.0099", "0.001", True),
        ("0.005", "0.01", True),  # LoD exactly at the threshold is sensitive enough
        ("0.01", None, False),
        ("0.01", "0.001", False),
        (0.5, None, False),
        (85, "0.1", False),  # positive whatever the assay
        ("0.005", "0.02", None),  # not evaluable: assay not sensitive enough
        (0, "0.1", None),
    ],
)
def test_mrd_negative(mrd: Any, lod: Any, expected: bool | None) -> None:
    assert mrd_negative(mrd_percent=mrd, lod_percent=lod) is expected


def test_mrd_negative_missing_input() -> None:
    assert mrd_negative(mrd_percent=None) is None
    assert mrd_negative(mrd_percent=None, lod_percent="0.001") is None


@pytest.mark.parametrize(
    ("mrd", "lod", "message"),
    [
        (-0.001, None, "mrd_percent must be between 0 and 100"),
        (100.1, None, "mrd_percent must be between 0 and 100"),
        (0, 0, "lod_percent must be above 0"),
        (0, -1, "lod_percent must be above 0"),
        ("n/a", None, "mrd_percent must be a number"),
    ],
)
def test_mrd_negative_impossible_input(mrd: Any, lod: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mrd_negative(mrd_percent=mrd, lod_percent=lod)


# --------------------------------------------------------------------------- B-cell aplasia


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, True), (49, True), ("49.9", True), (50, False), ("50.0", False), (1200, False)],
)
def test_b_cell_aplasia(count: Any, expected: bool) -> None:
    assert b_cell_aplasia(cd19_per_ul=count) is expected


def test_b_cell_aplasia_missing_and_impossible() -> None:
    assert b_cell_aplasia(cd19_per_ul=None) is None
    with pytest.raises(ValueError, match="must not be negative"):
        b_cell_aplasia(cd19_per_ul=-1)


# --------------------------------------------------------------------------- eligibility


@pytest.mark.parametrize(
    ("inclusion", "exclusion", "expected"),
    [
        ([True, True], [False, False], True),
        ([True, False], [False, False], False),
        ([True, True], [False, True], False),
        ([True, None], [False, False], None),
        ([True, True], [None, False], None),
        ([False, None], [None, None], False),  # False as soon as one criterion fails
        ([None, None], [True, None], False),
        ([None], [None], None),
        (["Y", "Y"], ["N"], True),  # Yes/No choice codes
        ([], [], True),
    ],
)
def test_eligible(inclusion: Any, exclusion: Any, expected: bool | None) -> None:
    assert eligible(inclusion=inclusion, exclusion=exclusion) is expected


@pytest.mark.parametrize(
    ("inclusion", "exclusion", "message"),
    [
        (True, [False], "inclusion must be a list"),
        ([True], ["maybe"], "exclusion must be true or false"),
    ],
)
def test_eligible_impossible_input(inclusion: Any, exclusion: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        eligible(inclusion=inclusion, exclusion=exclusion)


# --------------------------------------------------------------------------- CAPD or ICE


@pytest.mark.parametrize(
    ("age", "delay", "expected"),
    [
        (0, False, True),
        (11, False, True),
        (Decimal("11.9"), False, True),
        (12, False, False),
        ("12", False, False),
        (16, False, False),
        (12, True, True),
        (30, True, True),
        (16, None, False),
        (None, True, None),
    ],
)
def test_use_capd(age: Any, delay: Any, expected: bool | None) -> None:
    assert use_capd(age_years=age, developmental_delay=delay) is expected


def test_use_capd_default_and_impossible() -> None:
    assert use_capd(age_years=11) is True
    with pytest.raises(ValueError, match="must not be negative"):
        use_capd(age_years=-1)


# --------------------------------------------------------------------------- registry


def test_registry_names_every_function() -> None:
    assert set(FUNCTIONS) == {
        "crs_grade", "icans_grade", "bsa_mosteller", "age_years", "total", "cumulative",
        "hours_between", "mrd_negative", "b_cell_aplasia", "eligible", "use_capd",
    }


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_registry_entry_is_consistent(name: str) -> None:
    derivation = FUNCTIONS[name]
    assert isinstance(derivation, Derivation)
    assert derivation.func.__name__ == name
    assert derivation.returns in ("integer", "decimal", "boolean")
    parameters = inspect.signature(derivation.func).parameters
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters.values())
    assert set(derivation.required) <= set(parameters)
    assert derivation.func.__doc__


@pytest.mark.parametrize(
    ("name", "required"),
    [("crs_grade", ("temperature_c",)), ("icans_grade", ("age_years",))],
)
def test_registry_grading_requirements(name: str, required: tuple[str, ...]) -> None:
    assert FUNCTIONS[name].required == required
    assert FUNCTIONS[name].returns == "integer"


def test_derivation_is_frozen() -> None:
    with pytest.raises(AttributeError):
        FUNCTIONS["total"].returns = "decimal"  # type: ignore[misc]


def test_call_returns_none_when_a_required_argument_is_none() -> None:
    assert call("crs_grade", {"temperature_c": None, "hypotension": True}) is None
    assert call("crs_grade", {"hypotension": True}) is None
    assert call("bsa_mosteller", {"weight_kg": 20, "height_cm": None}) is None


def test_call_drops_none_optional_arguments() -> None:
    kwargs = {"temperature_c": "38.4", "oxygen": None, "vasopressors": None, "masked": None}
    assert call("crs_grade", kwargs) == 1
    assert call("icans_grade", {"age_years": 8, "capd_score": None, "seizure": None}) == 0


def test_call_passes_arguments_through() -> None:
    kwargs = {"temperature_c": "38.6", "hypotension": True, "vasopressors": ["norepinephrine"],
              "oxygen": "nasal_cannula", "oxygen_flow_lpm": "2"}
    assert call("crs_grade", kwargs) == 3
    assert call("bsa_mosteller", {"weight_kg": "36", "height_cm": "100"}) == Decimal("1.00")
    assert call("eligible", {"inclusion": [True], "exclusion": [False]}) is True


def test_call_does_not_mutate_kwargs() -> None:
    kwargs = {"temperature_c": "38.4", "oxygen": None}
    call("crs_grade", kwargs)
    assert kwargs == {"temperature_c": "38.4", "oxygen": None}


def test_call_lets_value_error_propagate() -> None:
    with pytest.raises(ValueError, match="ice_score must be between 0 and 10"):
        call("icans_grade", {"age_years": 15, "ice_score": 11})


def test_call_unknown_function() -> None:
    with pytest.raises(KeyError, match="unknown clinical function"):
        call("qtc_bazett", {})


def test_clinical_package_imports_only_the_standard_library() -> None:
    package = Path(edc.clinical.__file__).parent
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top == "__future__", (module, name)
