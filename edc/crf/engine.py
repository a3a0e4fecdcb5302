"""Validate → derive → skip logic → checks, for one submission of one form. Pure.

``process`` never touches the database: the service gives it the raw inputs and the
values of the patient's other records that the form references, and stores the result.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from .. import clinical
from . import expressions
from .definitions import MISSING_CODES, FormDef, ItemDef
from .values import N_, Msg, as_python, coerce, in_range


@dataclass
class Finding:
    """A check or soft range that fired on an item."""
    check: str            # check name, or "EXPECTED" for a soft range
    item: str
    msg: Msg


@dataclass
class Result:
    values: dict[str, Any] = field(default_factory=dict)      # entered + derived
    missing: dict[str, dict] = field(default_factory=dict)    # item -> {code, reason}
    errors: dict[str, list[Msg]] = field(default_factory=dict)
    form_errors: list[Msg] = field(default_factory=list)
    visible: dict[str, bool] = field(default_factory=dict)
    queries: list[Finding] = field(default_factory=list)
    refusals: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.form_errors and not self.refusals

    def error(self, item: str, msg: Msg) -> None:
        self.errors.setdefault(item, []).append(msg)


def _env(form: FormDef, values: dict, refs: dict) -> dict:
    env = dict(refs)
    for name, item in form.items.items():
        env[name] = values.get(name)
    return env


def _arg_value(form: FormDef, src, values: dict, refs: dict):
    if isinstance(src, list):
        return [_arg_value(form, s, values, refs) for s in src]
    if src.startswith("@"):
        v = refs.get(src)
        return [_py(x) for x in v] if isinstance(v, list) else _py(v)
    return as_python(form.items[src], values.get(src))


def _py(v):
    if isinstance(v, str) and expressions._NUMERIC.fullmatch(v) and "." in v:
        return Decimal(v)
    return v


def _store(item: ItemDef, v):
    if v is None:
        return None
    if isinstance(v, Decimal):
        if item.decimals is not None:
            v = round(v, item.decimals)
        s = format(v.normalize(), "f") if v == v.to_integral_value() else format(v, "f")
        return s if item.type in ("decimal", "text") else int(v)
    if isinstance(v, bool):
        return v
    if isinstance(v, int) and item.type == "decimal":
        return str(v)
    return v


def derive(form: FormDef, values: dict, refs: dict, result: Result | None) -> None:
    """Compute derived items in definition order (later ones may use earlier ones)."""
    for item in form.derived:
        kwargs = {a: _arg_value(form, s, values, refs) for a, s in item.args}
        try:
            values[item.name] = _store(item, clinical.call(item.function, kwargs))
        except (ValueError, TypeError, ArithmeticError) as e:
            values[item.name] = None
            if result is not None:
                result.form_errors.append(Msg(
                    N_("%(item)s could not be computed: %(reason)s"),
                    {"item": item.label, "reason": str(e), "translate_item": True}))


def visibility(form: FormDef, values: dict, refs: dict) -> dict[str, bool]:
    env = _env(form, values, refs)
    return {name: (item.show_tree is None or bool(expressions.evaluate(item.show_tree, env)))
            for name, item in form.items.items()}


def _local_date(item: ItemDef, v, tz: ZoneInfo) -> date:
    """The calendar date of a value at the site (datetimes are stored in UTC)."""
    if item.type == "datetime":
        return datetime.strptime(v, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=timezone.utc).astimezone(tz).date()
    return date.fromisoformat(str(v)[:10])


def process(form: FormDef, raw: dict[str, Any], raw_missing: dict[str, tuple[str, str]],
            refs: dict[str, Any], *, tz: ZoneInfo, today: date, complete: bool) -> Result:
    res = Result()
    values: dict[str, Any] = {}
    # 1. types
    for item in form.entered:
        v, err = coerce(item, raw.get(item.name), tz)
        values[item.name] = v
        if err:
            res.error(item.name, err)
    # 2. missing-data codes
    missing: dict[str, dict] = {}
    for name, (code, reason) in raw_missing.items():
        item = form.items.get(name)
        if item is None or item.derived or not code:
            continue
        if code not in MISSING_CODES or not item.missing:
            res.error(name, Msg(N_("This missing-data code is not allowed here.")))
            continue
        if values.get(name) is not None:
            res.error(name, Msg(N_("Give a value or a missing-data code, not both.")))
            continue
        reason = (reason or "").strip()
        if not reason:
            res.error(name, Msg(N_("Give the reason why the value is missing.")))
            continue
        if len(reason) > 500:
            res.error(name, Msg(N_("At most %(n)d characters."), {"n": 500}))
            continue
        missing[name] = {"code": code, "reason": reason}
    # 3. derive, decide visibility, clear hidden items, derive again
    # Repeat until stable: clearing one item can hide another that depends on it.
    for _ in range(len(form.items) + 1):
        derive(form, values, refs, None)
        res.visible = visibility(form, values, refs)
        cleared = False
        for name, shown in res.visible.items():
            if not shown and not form.items[name].derived and (
                    values.get(name) is not None or name in missing or name in res.errors):
                values[name] = None
                missing.pop(name, None)
                res.errors.pop(name, None)
                cleared = True
        if not cleared:
            break
    derive(form, values, refs, res)
    res.visible = visibility(form, values, refs)
    # 4. hard ranges, dates in the future, required
    for item in form.entered:
        v = values.get(item.name)
        if not res.visible[item.name] or item.name in res.errors:
            continue
        if v is not None and not in_range(item, v, item.range):
            lo, hi = item.range
            res.error(item.name, Msg(N_("Out of the possible range (%(min)s to %(max)s)."),
                                     {"min": "" if lo is None else lo,
                                      "max": "" if hi is None else hi}))
        elif v is not None and item.not_future and _local_date(item, v, tz) > today:
            res.error(item.name, Msg(N_("This date is in the future.")))
        elif complete and item.required and v is None and item.name not in missing:
            res.error(item.name, Msg(N_("Required: enter a value or a missing-data code.")))
    res.values, res.missing = values, missing
    if res.errors or res.form_errors:
        return res
    # 5. soft ranges and edit checks
    for item in form.entered:
        v = values.get(item.name)
        if v is not None and res.visible[item.name] and not in_range(item, v, item.expected):
            lo, hi = item.expected
            res.queries.append(Finding("EXPECTED", item.name, Msg(
                N_("Value outside the expected range (%(min)s to %(max)s). Please confirm "
                   "or correct it."),
                {"min": "" if lo is None else lo, "max": "" if hi is None else hi})))
    env = _env(form, values, refs)
    for check in form.checks:
        if expressions.evaluate(check.tree, env):
            f = Finding(check.name, check.item, Msg(check.query))
            (res.refusals if check.action == "refuse" else res.queries).append(f)
    return res
