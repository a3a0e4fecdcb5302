"""Pure clinical functions the eCRF definitions call by name (``function:`` + ``args:``).

Standard library only: this package imports nothing of the application (no Flask), so the
grades and measures can be tested, and reproduced from exported data, on their own.

:data:`FUNCTIONS` maps each name a form may use to a :class:`Derivation`; :func:`call`
applies the registry's rule for missing data. See ``forms/README.md`` for how a definition
binds items to keyword arguments, and ``shared/reference/astct-grading.md`` for the ASTCT
2019 grading rules (Lee DW et al., Biol Blood Marrow Transplant 2019;25:625-638).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .grading import crs_grade, icans_grade
from .measures import (
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

__all__ = ["FUNCTIONS", "Derivation", "ReturnType", "call"]

ReturnType = Literal["integer", "decimal", "boolean"]


@dataclass(frozen=True)
class Derivation:
    """A clinical function as the derivation engine sees it.

    Attributes:
        func: the function; called with keyword arguments only.
        required: keyword arguments that must be non-``None`` for the function to be
            called; if one is ``None`` the derived item is ``None`` (left empty).
        returns: the type of the value: ``"integer"``, ``"decimal"`` or ``"boolean"``.
    """

    func: Callable[..., Any]
    required: tuple[str, ...]
    returns: ReturnType


FUNCTIONS: dict[str, Derivation] = {
    "crs_grade": Derivation(crs_grade, ("temperature_c",), "integer"),
    "icans_grade": Derivation(icans_grade, ("age_years",), "integer"),
    "bsa_mosteller": Derivation(bsa_mosteller, ("weight_kg", "height_cm"), "decimal"),
    "age_years": Derivation(age_years, ("birth_year", "on_date"), "integer"),
    # Sums score items (ICE, CAPD): an int; a Decimal only if a decimal item is summed.
    "total": Derivation(total, ("values",), "integer"),
    "cumulative": Derivation(cumulative, ("current",), "decimal"),
    "hours_between": Derivation(hours_between, ("start", "end"), "decimal"),
    "mrd_negative": Derivation(mrd_negative, ("mrd_percent",), "boolean"),
    "b_cell_aplasia": Derivation(b_cell_aplasia, ("cd19_per_ul",), "boolean"),
    "eligible": Derivation(eligible, ("inclusion", "exclusion"), "boolean"),
    "use_capd": Derivation(use_capd, ("age_years",), "boolean"),
}
"""Every function a form definition may name, by that name."""


def call(name: str, kwargs: Mapping[str, object]) -> Any:
    """Call the registered function *name* with *kwargs*, applying the missing-data rule.

    Returns ``None`` without calling if any of the function's ``required`` arguments is
    missing or ``None``; drops the other ``None``-valued arguments so the function's
    defaults apply. A :class:`ValueError` from the function (impossible input) propagates.

    Raises:
        KeyError: *name* is not in :data:`FUNCTIONS`.
    """
    try:
        derivation = FUNCTIONS[name]
    except KeyError:
        raise KeyError(f"unknown clinical function {name!r}") from None
    if any(kwargs.get(arg) is None for arg in derivation.required):
        return None
    return derivation.func(**{key: value for key, value in kwargs.items() if value is not None})
