"""ASTCT consensus grading of cytokine release syndrome (CRS) and ICANS.

Reference: Lee DW, Santomasso BD, Locke FL, et al. "ASTCT Consensus Grading for Cytokine
Release Syndrome and Neurologic Toxicity Associated with Immune Effector Cells."
Biol Blood Marrow Transplant 2019;25(4):625-638. The rules as the EDC computes them are
restated in ``shared/reference/astct-grading.md``.

Both functions are pure functions of keyword arguments (standard library only), return an
int from 0 to 5 and raise :class:`ValueError` with a clear English message on impossible
input. An optional argument passed as ``None`` (an unanswered item) takes its default.
Organ toxicities and tremor/myoclonus are graded with CTCAE v5.0 and never change these
grades.
"""

from __future__ import annotations

from decimal import Decimal

from .measures import to_bool, to_code, to_codes, to_decimal, to_int, use_capd

__all__ = [
    "CONSCIOUSNESS_CODES",
    "EDEMA_CODES",
    "OXYGEN_CODES",
    "SEIZURE_CODES",
    "VASOPRESSOR_CODES",
    "crs_grade",
    "icans_grade",
]

# --------------------------------------------------------------------------- CRS

VASOPRESSOR_CODES: tuple[str, ...] = (
    "norepinephrine",
    "epinephrine",
    "dopamine",
    "phenylephrine",
    "vasopressin",
    "other",
)
"""Codes accepted in ``vasopressors`` (a multichoice item gives a list of them)."""

#: Oxygen support → the hypoxia grade it implies (ASTCT grades hypoxia by the support
#: required, not by SpO2). ``nasal_cannula`` is 2 at ≤ 6 L/min and 3 above (see below).
_OXYGEN_GRADE: dict[str, int] = {
    "none": 0,
    "blow_by": 2,
    "nasal_cannula": 2,
    "high_flow_nasal_cannula": 3,
    "simple_mask": 3,
    "venturi_mask": 3,
    "non_rebreather": 3,
    "cpap": 4,
    "bipap": 4,
    "mechanical_ventilation": 4,
}
OXYGEN_CODES: tuple[str, ...] = tuple(_OXYGEN_GRADE)
"""Codes accepted in ``oxygen``."""

_FEVER_C = Decimal("38.0")
_MIN_TEMPERATURE_C = Decimal(25)
_MAX_TEMPERATURE_C = Decimal(45)
_LOW_FLOW_MAX_LPM = Decimal(6)


def crs_grade(
    *,
    temperature_c: object,
    fever_other_cause: object = False,
    masked: object = False,
    hypotension: object = False,
    vasopressors: object = (),
    oxygen: object = "none",
    oxygen_flow_lpm: object = None,
    death_due_to_crs: object = False,
) -> int:
    """ASTCT 2019 CRS grade (0–5) of one assessment (Lee DW et al., BBMT 2019;25:625).

    Args:
        temperature_c: highest temperature in °C (25–45); required.
        fever_other_cause: the fever is attributable to another cause (e.g. bacteraemia).
        masked: CRS already diagnosed and antipyretics or anti-cytokine therapy
            (tocilizumab, corticosteroids) given, so fever is no longer required.
        hypotension: hypotension present (implied by any vasopressor).
        vasopressors: codes from :data:`VASOPRESSOR_CODES`.
        oxygen: the oxygen support required, a code from :data:`OXYGEN_CODES`.
        oxygen_flow_lpm: flow in L/min; only used for ``nasal_cannula`` (> 6 L/min counts
            as high flow). Ignored for other devices, but must not be negative.
        death_due_to_crs: death attributed to CRS.

    Rules:
        * Fever = temperature ≥ 38.0 °C not attributable to another cause.
        * No fever and not masked → 0: this is not CRS, whatever else is present.
        * Otherwise the grade is the most severe of fever/masked fever (1), hypotension
          (no vasopressor 2; one vasopressor, with or without vasopressin, 3 — vasopressin
          alone counts as one; several vasopressors excluding vasopressin 4) and hypoxia
          (blow-by or nasal cannula ≤ 6 L/min 2; high-flow nasal cannula, nasal cannula
          > 6 L/min, simple/Venturi mask or non-rebreather 3; CPAP, BiPAP or mechanical
          ventilation 4).
        * Masked CRS without hypotension or hypoxia stays grade 1 (ongoing CRS).
        * Death due to CRS → 5. An investigator's attribution of death to CRS is taken to
          assert CRS, so it gives 5 even when the day's temperature shows no fever.

    Example from the paper: fever + one vasopressor + low-flow nasal cannula → 3.

    Raises:
        ValueError: temperature missing or outside 25–45 °C, unknown vasopressor or oxygen
            code, negative oxygen flow, or a non-boolean flag.
    """
    if temperature_c is None:
        raise ValueError("temperature_c is required to grade CRS")
    temperature = to_decimal(temperature_c, "temperature_c")
    if not _MIN_TEMPERATURE_C <= temperature <= _MAX_TEMPERATURE_C:
        raise ValueError(
            f"temperature_c must be between 25 and 45 °C, not {temperature_c!r}"
        )
    other_cause = _flag(fever_other_cause, "fever_other_cause")
    is_masked = _flag(masked, "masked")
    has_hypotension = _flag(hypotension, "hypotension")
    pressors = to_codes(vasopressors, "vasopressor", VASOPRESSOR_CODES)
    device = to_code("none" if oxygen is None else oxygen, "oxygen", OXYGEN_CODES)
    flow: Decimal | None = None
    if oxygen_flow_lpm is not None:
        flow = to_decimal(oxygen_flow_lpm, "oxygen_flow_lpm")
        if flow < 0:
            raise ValueError(f"oxygen_flow_lpm must not be negative, not {oxygen_flow_lpm!r}")
    died = _flag(death_due_to_crs, "death_due_to_crs")

    if died:
        return 5
    fever = temperature >= _FEVER_C and not other_cause
    if not fever and not is_masked:
        return 0
    return max(1, _hypotension_grade(has_hypotension, pressors), _hypoxia_grade(device, flow))


def _hypotension_grade(hypotension: bool, pressors: frozenset[str]) -> int:
    """2 without vasopressor; 3 with one (vasopressin alone counts as one); 4 with several.

    Vasopressin is never counted towards "multiple vasopressors" (ASTCT 2019).
    """
    if pressors:
        counted = pressors - {"vasopressin"}
        return 4 if len(counted) >= 2 else 3
    return 2 if hypotension else 0


def _hypoxia_grade(device: str, flow: Decimal | None) -> int:
    """Hypoxia grade from the oxygen support required; a nasal cannula > 6 L/min is high flow."""
    if device == "nasal_cannula" and flow is not None and flow > _LOW_FLOW_MAX_LPM:
        return 3
    return _OXYGEN_GRADE[device]


# --------------------------------------------------------------------------- ICANS

CONSCIOUSNESS_CODES: tuple[str, ...] = ("spontaneous", "voice", "touch", "unarousable")
"""Level of consciousness: awakens spontaneously / to voice / only to tactile stimulus /
unarousable (or needs vigorous or repetitive tactile stimuli, stupor, coma)."""
SEIZURE_CODES: tuple[str, ...] = ("none", "rapidly_resolving", "prolonged")
"""Seizure: none / any seizure that resolves rapidly (or non-convulsive on EEG resolving
with intervention) / life-threatening prolonged (> 5 min) or repetitive without return to
baseline."""
EDEMA_CODES: tuple[str, ...] = ("none", "focal", "diffuse")
"""Cerebral oedema on neuroimaging: none / focal or local / diffuse."""

_CONSCIOUSNESS_GRADE = {"spontaneous": 0, "voice": 2, "touch": 3, "unarousable": 4}
_SEIZURE_GRADE = {"none": 0, "rapidly_resolving": 3, "prolonged": 4}
_EDEMA_GRADE = {"none": 0, "focal": 3, "diffuse": 4}
_ICE_MAX = 10
_CAPD_MAX = 32


def icans_grade(
    *,
    age_years: object,
    ice_score: object = None,
    capd_score: object = None,
    developmental_delay: object = False,
    consciousness: object = "spontaneous",
    seizure: object = "none",
    motor_weakness: object = False,
    cerebral_edema: object = "none",
    raised_icp_signs: object = False,
    death_due_to_icans: object = False,
) -> int:
    """ASTCT 2019 ICANS grade (0–5) of one assessment (Lee DW et al., BBMT 2019;25:625).

    Args:
        age_years: age in years; chooses the tool (required).
        ice_score: ICE score 0–10, for age ≥ 12 without developmental delay.
        capd_score: CAPD score 0–32, for age < 12 or developmental delay.
        developmental_delay: the patient has developmental delay (CAPD at any age).
        consciousness: a code from :data:`CONSCIOUSNESS_CODES`.
        seizure: a code from :data:`SEIZURE_CODES`.
        motor_weakness: deep focal motor weakness (hemiparesis, paraparesis).
        cerebral_edema: a code from :data:`EDEMA_CODES`.
        raised_icp_signs: decerebrate/decorticate posturing, cranial nerve VI palsy,
            papilloedema or Cushing's triad.
        death_due_to_icans: death attributed to ICANS.

    Rules (overall grade = the most severe domain; death → 5):
        * ICE: 10 → 0; 7–9 → 1; 3–6 → 2; 0–2 → 3.
        * CAPD: 0 → 0; 1–8 → 1; ≥ 9 → 3. "Grade 1 or 2, decided by the level of
          consciousness" follows from taking the maximum with the consciousness domain.
        * Unarousable and unable to perform ICE/CAPD → 4 (from the consciousness domain;
          leave the score empty).
        * Consciousness: spontaneous 0, voice 2, touch 3, unarousable 4.
        * Seizure: rapidly resolving 3, prolonged/repetitive 4.
        * Motor weakness 4. Cerebral oedema: focal 3, diffuse 4; raised ICP signs 4.

    Raises:
        ValueError: age missing or negative; ICE outside 0–10 or CAPD outside 0–32 (or not
            whole numbers); both scores given; the wrong tool for the patient (an ICE score
            where the CAPD applies — age < 12 or developmental delay — or a CAPD score for
            age ≥ 12 without developmental delay); an unknown code; a non-boolean flag.
    """
    if age_years is None:
        raise ValueError("age_years is required to grade ICANS")
    delay = _flag(developmental_delay, "developmental_delay")
    capd_tool = use_capd(age_years=age_years, developmental_delay=delay)
    if ice_score is not None and capd_score is not None:
        raise ValueError("give either ice_score or capd_score, not both")

    tool_grade = 0
    if ice_score is not None:
        if capd_tool:
            reason = "with developmental delay" if delay else "under 12 years"
            raise ValueError(f"a patient {reason} is assessed with the CAPD, not the ICE score")
        ice = to_int(ice_score, "ice_score")
        if not 0 <= ice <= _ICE_MAX:
            raise ValueError(f"ice_score must be between 0 and 10, not {ice_score!r}")
        tool_grade = _ice_grade(ice)
    elif capd_score is not None:
        if not capd_tool:
            raise ValueError(
                "a patient aged 12 or over without developmental delay is assessed with "
                "the ICE score, not the CAPD"
            )
        capd = to_int(capd_score, "capd_score")
        if not 0 <= capd <= _CAPD_MAX:
            raise ValueError(f"capd_score must be between 0 and 32, not {capd_score!r}")
        tool_grade = _capd_grade(capd)

    level = to_code(
        "spontaneous" if consciousness is None else consciousness,
        "consciousness",
        CONSCIOUSNESS_CODES,
    )
    fit = to_code("none" if seizure is None else seizure, "seizure", SEIZURE_CODES)
    edema = to_code(
        "none" if cerebral_edema is None else cerebral_edema, "cerebral_edema", EDEMA_CODES
    )
    weakness = _flag(motor_weakness, "motor_weakness")
    icp = _flag(raised_icp_signs, "raised_icp_signs")
    died = _flag(death_due_to_icans, "death_due_to_icans")

    if died:
        return 5
    return max(
        tool_grade,
        _CONSCIOUSNESS_GRADE[level],
        _SEIZURE_GRADE[fit],
        4 if weakness else 0,
        _EDEMA_GRADE[edema],
        4 if icp else 0,
    )


def _ice_grade(ice: int) -> int:
    """ICE 10 → 0; 7–9 → 1; 3–6 → 2; 0–2 → 3."""
    if ice == _ICE_MAX:
        return 0
    if ice >= 7:
        return 1
    if ice >= 3:
        return 2
    return 3


def _capd_grade(capd: int) -> int:
    """CAPD 0 → 0; 1–8 → 1 (raised to 2 by the consciousness domain); ≥ 9 → 3."""
    if capd == 0:
        return 0
    if capd <= 8:
        return 1
    return 3


def _flag(value: object, name: str) -> bool:
    """A yes/no argument; ``None`` (unanswered) counts as no."""
    return False if value is None else to_bool(value, name)
