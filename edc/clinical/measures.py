"""Derived measures for the MILenARI eCRFs: BSA, ages, totals, intervals, MRD, eligibility.

Pure functions of keyword arguments, standard library only (no Flask, nothing of the app).
Each returns ``None`` when an input it needs is ``None`` (an unanswered item), so a derived
item stays empty until its sources are filled in, and raises :class:`ValueError` with a
clear English message on impossible input.

Numbers may arrive as int, float, :class:`~decimal.Decimal` or numeric strings (a decimal
item is stored as ``"38.5"``); all arithmetic is done in :class:`~decimal.Decimal`.

The first section holds the input coercion helpers that :mod:`edc.clinical.grading` uses
as well.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

__all__ = [
    "age_years",
    "b_cell_aplasia",
    "bsa_mosteller",
    "cumulative",
    "eligible",
    "hours_between",
    "mrd_negative",
    "total",
    "use_capd",
]

# --------------------------------------------------------------------------- coercion

_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})
_INTEGER_TEXT = re.compile(r"[+-]?\d+")


def to_decimal(value: object, name: str) -> Decimal:
    """Return *value* as a finite :class:`Decimal`.

    Accepts int, float, Decimal and numeric strings (surrounding blanks allowed).
    Booleans are refused: ``True`` is an int in Python but never a measurement. Floats go
    through ``str()`` so ``38.1`` becomes ``Decimal("38.1")``, not its binary approximation.
    """
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{name} must be a number, not {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(str(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{name} must be a number, not {value!r}") from None
    else:
        raise ValueError(f"{name} must be a number, not {value!r}")
    if not result.is_finite():
        raise ValueError(f"{name} must be a finite number, not {value!r}")
    return result


def to_int(value: object, name: str) -> int:
    """Return *value* as an int; a non-integral number (e.g. ``7.5``) is refused."""
    number = to_decimal(value, name)
    if number != number.to_integral_value():
        raise ValueError(f"{name} must be a whole number, not {value!r}")
    return int(number)


def to_bool(value: object, name: str) -> bool:
    """Return *value* as a bool.

    Accepts a bool, the ints 0 and 1, and the strings true/false, yes/no, y/n, 1/0 (any
    case), so a Yes/No choice item (codes ``Y``/``N``) works as well as a boolean item.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValueError(f"{name} must be true or false, not {value!r}")


def to_code(value: object, name: str, allowed: Sequence[str]) -> str:
    """Return *value* if it is exactly one of the *allowed* codes."""
    if isinstance(value, str) and value in allowed:
        return value
    raise ValueError(f"unknown {name} code {value!r}; expected one of: {', '.join(allowed)}")


def to_codes(value: object, name: str, allowed: Sequence[str]) -> frozenset[str]:
    """Return the set of codes in *value*: a list, tuple or set (a lone string is one code)."""
    if value is None:
        return frozenset()
    items: Iterable[object]
    if isinstance(value, str):
        items = (value,)
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = value
    else:
        raise ValueError(f"{name} must be a list of codes, not {value!r}")
    return frozenset(to_code(item, name, allowed) for item in items)


def normalise(number: Decimal) -> Decimal:
    """Strip trailing zeros without exponent notation (``Decimal("10.0")`` → ``10``)."""
    result = number.normalize()
    exponent = result.as_tuple().exponent
    if isinstance(exponent, int) and exponent > 0:
        result = result.quantize(Decimal(1))
    return result


def _to_date(value: object, name: str) -> date:
    """Parse an ISO date (``YYYY-MM-DD``) or datetime (``YYYY-MM-DDTHH:MM:SSZ``) to a date.

    An aware datetime is converted to UTC before its date is taken.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return value
    elif isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                return date.fromisoformat(text)
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{name} must be an ISO 8601 date, not {value!r}") from None
    else:
        raise ValueError(f"{name} must be an ISO 8601 date, not {value!r}")
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.date()


def _to_utc_datetime(value: object, name: str) -> datetime:
    """Parse an ISO datetime (``YYYY-MM-DDTHH:MM:SSZ``); a naive one is taken as UTC."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{name} must be an ISO 8601 datetime, not {value!r}") from None
    else:
        raise ValueError(f"{name} must be an ISO 8601 datetime, not {value!r}")
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


# --------------------------------------------------------------------------- measures

_MAX_WEIGHT_KG = Decimal(250)
_MAX_HEIGHT_CM = Decimal(250)
_CENTI = Decimal("0.01")
_DECI = Decimal("0.1")


def bsa_mosteller(*, weight_kg: object, height_cm: object) -> Decimal | None:
    """Body surface area in m² by Mosteller's formula: √(height_cm × weight_kg / 3600).

    Mosteller RD, N Engl J Med 1987;317:1098. Rounded half-up to 2 decimals.
    ``None`` if either input is missing; ``ValueError`` for a non-positive weight or height,
    a weight above 250 kg or a height above 250 cm.
    """
    if weight_kg is None or height_cm is None:
        return None
    weight = to_decimal(weight_kg, "weight_kg")
    height = to_decimal(height_cm, "height_cm")
    if not 0 < weight <= _MAX_WEIGHT_KG:
        raise ValueError(f"weight_kg must be above 0 and at most 250 kg, not {weight_kg!r}")
    if not 0 < height <= _MAX_HEIGHT_CM:
        raise ValueError(f"height_cm must be above 0 and at most 250 cm, not {height_cm!r}")
    return (height * weight / 3600).sqrt().quantize(_CENTI, rounding=ROUND_HALF_UP)


def age_years(*, birth_year: object, on_date: object, birth_month: object = None) -> int | None:
    """Age in completed years on *on_date*, from a partial date of birth.

    Only the year (and optionally the month) of birth is collected, so the day is assumed:
    with the year only, the birthday is taken as **1 July** (the middle of the year); with
    the month, as the **15th** of that month. *on_date* is an ISO date ``YYYY-MM-DD``, an
    ISO UTC datetime ``YYYY-MM-DDTHH:MM:SSZ`` or a :class:`~datetime.date`.

    ``ValueError`` if *on_date* is before the earliest possible date of birth (1 January of
    the year, or the 1st of the month); a date between that and the assumed birthday gives
    age 0. ``None`` if *birth_year* or *on_date* is missing.
    """
    if birth_year is None or on_date is None:
        return None
    year = to_int(birth_year, "birth_year")
    if not 1 <= year <= 9999:
        raise ValueError(f"birth_year must be a calendar year, not {birth_year!r}")
    if birth_month is None:
        earliest, birthday = date(year, 1, 1), date(year, 7, 1)
    else:
        month = to_int(birth_month, "birth_month")
        if not 1 <= month <= 12:
            raise ValueError(f"birth_month must be between 1 and 12, not {birth_month!r}")
        earliest, birthday = date(year, month, 1), date(year, month, 15)
    on = _to_date(on_date, "on_date")
    if on < earliest:
        raise ValueError(f"on_date {on.isoformat()} is before the date of birth")
    completed = on.year - birthday.year - ((on.month, on.day) < (birthday.month, birthday.day))
    return max(completed, 0)


def total(*, values: object) -> int | Decimal | None:
    """Sum of a list of numbers (e.g. the items of the ICE or CAPD score).

    An int when every element is an int (or a string of digits), otherwise a normalised
    :class:`Decimal`. ``None`` if any element is ``None`` (an unanswered item); an empty
    list sums to 0.
    """
    if values is None:
        return None
    if not isinstance(values, (list, tuple)):
        raise ValueError(f"values must be a list of numbers, not {values!r}")
    if any(value is None for value in values):
        return None
    all_int = all(
        (isinstance(value, int) and not isinstance(value, bool))
        or (isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()) is not None)
        for value in values
    )
    result = sum((to_decimal(value, "values") for value in values), Decimal(0))
    return int(result) if all_int else normalise(result)


def cumulative(*, current: object, previous: object = ()) -> Decimal | None:
    """Running total: *current* plus every non-missing value in *previous*.

    Used for cumulative doses across the records of a repeating form (``previous`` is the
    list of the same item in the other records). A normalised :class:`Decimal`;
    ``None`` if *current* is missing.
    """
    if current is None:
        return None
    earlier: Iterable[object]
    if previous is None:
        earlier = ()
    elif isinstance(previous, (list, tuple)):
        earlier = previous
    else:
        earlier = (previous,)
    result = to_decimal(current, "current")
    for value in earlier:
        if value is not None:
            result += to_decimal(value, "previous")
    return normalise(result)


def hours_between(*, start: object, end: object) -> Decimal | None:
    """Hours from *start* to *end* (ISO UTC datetimes ``YYYY-MM-DDTHH:MM:SSZ``).

    A :class:`Decimal` rounded half-up to 1 decimal. ``None`` if either is missing;
    ``ValueError`` if *end* is before *start*.
    """
    if start is None or end is None:
        return None
    begin = _to_utc_datetime(start, "start")
    finish = _to_utc_datetime(end, "end")
    if finish < begin:
        raise ValueError(f"end {end!r} is before start {start!r}")
    delta = finish - begin
    seconds = Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / 10**6
    return (seconds / 3600).quantize(_DECI, rounding=ROUND_HALF_UP)


_MRD_THRESHOLD = Decimal("0.01")


def mrd_negative(*, mrd_percent: object, lod_percent: object = None) -> bool | None:
    """Minimal residual disease negativity at the 10⁻⁴ level (< 0.01 % of cells).

    ``True`` if *mrd_percent* < 0.01 and the assay's limit of detection (*lod_percent*,
    when given) is ≤ 0.01; ``False`` if *mrd_percent* ≥ 0.01; ``None`` if *mrd_percent* is
    missing, or below 0.01 with an assay not sensitive enough to say (LoD > 0.01 %).
    ``ValueError`` for a percentage outside 0–100.
    """
    if mrd_percent is None:
        return None
    mrd = to_decimal(mrd_percent, "mrd_percent")
    if not 0 <= mrd <= 100:
        raise ValueError(f"mrd_percent must be between 0 and 100, not {mrd_percent!r}")
    lod: Decimal | None = None
    if lod_percent is not None:
        lod = to_decimal(lod_percent, "lod_percent")
        if not 0 < lod <= 100:
            raise ValueError(
                f"lod_percent must be above 0 and at most 100, not {lod_percent!r}"
            )
    if mrd >= _MRD_THRESHOLD:
        return False
    if lod is not None and lod > _MRD_THRESHOLD:
        return None
    return True


_B_CELL_APLASIA_PER_UL = Decimal(50)


def b_cell_aplasia(*, cd19_per_ul: object) -> bool | None:
    """B-cell aplasia (evidence of CAR-T persistence): CD19⁺ B cells < 50 cells/µL.

    ``None`` if the count is missing; ``ValueError`` for a negative count.
    """
    if cd19_per_ul is None:
        return None
    count = to_decimal(cd19_per_ul, "cd19_per_ul")
    if count < 0:
        raise ValueError(f"cd19_per_ul must not be negative, not {cd19_per_ul!r}")
    return count < _B_CELL_APLASIA_PER_UL


def _answers(value: object, name: str) -> list[bool | None]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{name} must be a list of yes/no answers, not {value!r}")
    return [None if answer is None else to_bool(answer, name) for answer in value]


def eligible(*, inclusion: object, exclusion: object) -> bool | None:
    """Eligibility from the inclusion and exclusion criteria (lists of yes/no answers).

    ``False`` as soon as any inclusion criterion is not met (``False``) or any exclusion
    criterion applies (``True``), even if others are unanswered; ``True`` when every
    inclusion is ``True`` and every exclusion ``False``; otherwise (something unanswered,
    ``None``) ``None``.
    """
    included = _answers(inclusion, "inclusion")
    excluded = _answers(exclusion, "exclusion")
    if any(answer is False for answer in included) or any(
        answer is True for answer in excluded
    ):
        return False
    if any(answer is None for answer in (*included, *excluded)):
        return None
    return True


_CAPD_AGE_LIMIT = 12


def use_capd(*, age_years: object, developmental_delay: object = False) -> bool | None:
    """Whether ICANS is assessed with the CAPD instead of the ICE score.

    ASTCT 2019 (Lee DW et al., Biol Blood Marrow Transplant 2019;25:625-638): CAPD for
    children under 12 years and for older patients with developmental delay; ICE otherwise.
    ``None`` if the age is missing; ``ValueError`` for a negative age.
    """
    if age_years is None:
        return None
    age = to_decimal(age_years, "age_years")
    if age < 0:
        raise ValueError(f"age_years must not be negative, not {age_years!r}")
    delay = False if developmental_delay is None else to_bool(
        developmental_delay, "developmental_delay"
    )
    return age < _CAPD_AGE_LIMIT or delay
