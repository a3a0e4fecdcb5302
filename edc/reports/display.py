"""How values, times, codes and expressions read in a printed record (current language).

Everything returned is *logical* text: data that must stay left to right inside Arabic
(IDs, numbers with units, dates, codes) is wrapped with :func:`ltr`, text typed by users
with :func:`auto`; the PDF layer wraps, shapes and reorders.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from ..crf.definitions import FormDef, ItemDef
from ..crf.forms import missing_label
from ..crf.values import N_
from .textlayout import auto, ltr

TYPE_LABELS = {
    "text": N_("Text"), "integer": N_("Integer"), "decimal": N_("Decimal number"),
    "date": N_("Date"), "datetime": N_("Date and time"), "boolean": N_("Yes/No"),
    "choice": N_("One choice"), "multichoice": N_("Several choices"),
}


def tr(text: str | None) -> str:
    """A text of a form definition (an English msgid), translated without %-formatting."""
    return _(text) if text else ""


def type_label(typ: str) -> str:
    return _(TYPE_LABELS[typ]) if typ in TYPE_LABELS else typ


def yes_no(v) -> str:
    return _("Yes") if v else _("No")


def utc_text(dt: datetime | None) -> str:
    if dt is None:
        return ""
    dt = dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
    return ltr(dt.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))


def local_text(dt: datetime | None, tz: ZoneInfo) -> str:
    if dt is None:
        return ""
    dt = dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
    local = dt.astimezone(tz)
    return ltr(f"{local:%Y-%m-%d %H:%M} {local.tzname()}")


def both_times(dt: datetime | None, tz: ZoneInfo) -> str:
    """UTC and the site's local time, e.g. 2026-03-10 13:05 UTC (2026-03-10 14:05 CET)."""
    if dt is None:
        return ""
    return f"{utc_text(dt)} ({local_text(dt, tz)})"


def choice_text(item: ItemDef, code) -> str:
    label = item.label_of(code)
    return f"{tr(label)} ({ltr(code)})" if label else ltr(code)


def number_text(value, unit: str | None) -> str:
    return ltr(f"{value} {unit}" if unit else value)


def value_text(item: ItemDef, value: Any, tz: ZoneInfo) -> str:
    """A stored value as printed: labels with codes, numbers with units, local times."""
    if value is None or value == "" or value == []:
        return ""
    t = item.type
    if t == "boolean":
        return yes_no(value)
    if t == "multichoice":
        return "; ".join(choice_text(item, c) for c in (value if isinstance(value, list)
                                                        else [value]))
    if item.codelist:
        return choice_text(item, value)
    if t == "decimal":
        from ..i18n import show_number
        return number_text(show_number(value), item.unit)
    if t == "integer":
        return number_text(value, item.unit)
    if t == "date":
        return ltr(value)
    if t == "datetime":
        try:
            utc = datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=timezone.utc)
        except ValueError:
            return ltr(value)
        return f"{local_text(utc, tz)} ({ltr(str(value))})"
    return auto(value)


def missing_text(missing: dict | None) -> str:
    if not missing:
        return ""
    code = missing.get("code", "")
    reason = missing.get("reason") or ""
    head = f"{missing_label(code)} ({ltr(code)})"
    return f"{head}: {auto(reason)}" if reason else head


def audit_value_text(item: ItemDef | None, value: Any, tz: ZoneInfo) -> str:
    """An old or new value of an audit event (stored as JSON)."""
    if value is None:
        return "—"
    if isinstance(value, dict) and "missing" in value:
        return missing_text({"code": value["missing"], "reason": value.get("reason")})
    if item is not None:
        return value_text(item, value, tz) or "—"
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, list):
        return ltr(", ".join(str(v) for v in value))
    if isinstance(value, dict):
        return ltr(", ".join(f"{k}={v}" for k, v in sorted(value.items())))
    if isinstance(value, (int, float)):
        return ltr(value)
    return auto(value)


def range_text(bounds, unit: str | None) -> str:
    if not bounds:
        return ""
    lo, hi = bounds
    u = f" {unit}" if unit else ""
    if lo is not None and hi is not None:
        return ltr(f"{lo} – {hi}{u}")
    if lo is not None:
        return ltr(f"≥ {lo}{u}")
    return ltr(f"≤ {hi}{u}")


# ------------------------------------------------------------------ expressions
_OPS = {"==": "=", "!=": "≠", "<": "<", "<=": "≤", ">": ">", ">=": "≥"}


def item_ref(form: FormDef | None, name: str) -> str:
    item = form.items.get(name) if form is not None else None
    return f"{tr(item.label)} [{ltr(name)}]" if item is not None else ltr(name)


def expression_text(tree: list, form: FormDef | None) -> str:
    """A show_if / check condition in words, e.g. "Hypotension [CRSHYPO] is Yes"."""
    return _expr(tree, form, top=True)


def _const(v, item: ItemDef | None = None) -> str:
    if v is None:
        return _("empty")
    if isinstance(v, bool):
        return yes_no(v)
    if isinstance(v, str):
        if item is not None and item.codelist:
            return choice_text(item, v)
        return f"“{auto(v)}”"
    return ltr(v)


def _item_of(node, form):
    if form is not None and node[0] == "name":
        return form.items.get(node[1])
    return None


def _expr(t: list, form: FormDef | None, top: bool = False) -> str:
    kind = t[0]
    if kind == "const":
        return _const(t[1])
    if kind == "num":
        return ltr(t[1])
    if kind == "name":
        return item_ref(form, t[1])
    if kind == "ref":
        return ltr(t[1])
    if kind in ("and", "or"):
        word = f" {_('and')} " if kind == "and" else f" {_('or')} "
        text = word.join(_expr(c, form) for c in t[1:])
        return text if top else f"({text})"
    if kind == "not":
        return f"{_('not')} {_expr(t[1], form)}"
    if kind == "cmp":
        op, a, b = t[1], t[2], t[3]
        if b[0] == "const" and b[1] is None and op in ("==", "!="):
            what = _expr(a, form)
            return _("%(what)s is empty", what=what) if op == "==" else \
                _("%(what)s is not empty", what=what)
        item = _item_of(a, form)
        right = _const(b[1], item) if b[0] == "const" else _expr(b, form)
        left = _const(a[1], _item_of(b, form)) if a[0] == "const" else _expr(a, form)
        return f"{left} {_OPS.get(op, op)} {right}"
    if kind in ("in", "notin"):
        a, b = t[1], t[2]
        if b[0] == "list":
            item = _item_of(a, form)
            values = ", ".join(_const(x[1], item) if x[0] == "const" else _expr(x, form)
                               for x in b[1:])
            what = _expr(a, form)
            return _("%(what)s is one of: %(values)s", what=what, values=values) \
                if kind == "in" else \
                _("%(what)s is none of: %(values)s", what=what, values=values)
        item = _item_of(b, form)
        value = _const(a[1], item) if a[0] == "const" else _expr(a, form)
        what = _expr(b, form)
        return _("%(what)s includes %(value)s", what=what, value=value) if kind == "in" \
            else _("%(what)s does not include %(value)s", what=what, value=value)
    if kind == "arith":
        return f"({_expr(t[2], form)} {t[1]} {_expr(t[3], form)})"
    if kind == "neg":
        return f"-{_expr(t[1], form)}"
    if kind == "list":
        return ", ".join(_expr(x, form) for x in t[1:])
    return str(t)
