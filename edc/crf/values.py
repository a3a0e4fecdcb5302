"""Turning what a user typed into stored values, per item type. Pure: no Flask.

Stored forms (JSON): text str; integer int; decimal str ("38.5"); date "YYYY-MM-DD";
datetime "YYYY-MM-DDTHH:MM:SSZ" (UTC); boolean bool; choice str; multichoice [str].
Error messages are English msgids marked with ``N_`` and translated by the caller.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from ..i18n_digits import normalise_number, to_ascii_digits
from .definitions import ItemDef


def N_(msgid: str) -> str:
    """Mark a message for extraction; translated where it is shown."""
    return msgid


@dataclass(frozen=True)
class Msg:
    msgid: str
    params: dict = field(default_factory=dict, hash=False, compare=False)


INT_RE = re.compile(r"^-?[0-9]{1,12}$")
DEC_RE = re.compile(r"^-?[0-9]{1,12}(\.[0-9]{1,12})?$")
DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
LOCAL_DT_RE = re.compile(r"^([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([0-9]{2}):([0-9]{2})(:[0-9]{2})?$")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
TRUE = {"true", "1", "yes", "y", "on"}
FALSE = {"false", "0", "no", "n", "off"}


def is_empty(raw: Any) -> bool:
    if raw is None:
        return True
    if isinstance(raw, (list, tuple)):
        return not [r for r in raw if str(r).strip()]
    return not str(raw).strip()


def coerce(item: ItemDef, raw: Any, tz: ZoneInfo) -> tuple[Any, Msg | None]:
    """(stored value or None, error or None) for one raw input."""
    if is_empty(raw):
        return None, None
    t = item.type
    if t == "multichoice":
        codes = [str(r).strip() for r in (raw if isinstance(raw, (list, tuple)) else [raw])
                 if str(r).strip()]
        allowed = [c.code for c in item.codelist]
        bad = [c for c in codes if c not in allowed]
        if bad:
            return None, Msg(N_("Choose from the list."))
        return [c for c in allowed if c in codes], None
    if isinstance(raw, (list, tuple)):
        if len(raw) != 1:
            return None, Msg(N_("Give one value only."))
        raw = raw[0]
    text = str(raw)
    if t == "text":
        text = text.strip()
        if CONTROL_RE.search(text):
            return None, Msg(N_("Remove the control characters from the text."))
        if len(text) > item.max_length:
            return None, Msg(N_("At most %(n)d characters."), {"n": item.max_length})
        return text, None
    if t == "integer":
        s = normalise_number(text)
        if not INT_RE.match(s):
            return None, Msg(N_("Enter a whole number."))
        return int(s), None
    if t == "decimal":
        s = normalise_number(text)
        if not DEC_RE.match(s):
            return None, Msg(N_("Enter a number, e.g. 38.5."))
        if item.decimals is not None and "." in s and len(s.split(".")[1]) > item.decimals:
            return None, Msg(N_("At most %(n)d digits after the decimal point."),
                             {"n": item.decimals})
        d = Decimal(s)
        return (str(d) if d != 0 else "0"), None
    if t == "date":
        s = to_ascii_digits(text).strip()
        if not DATE_RE.match(s):
            return None, Msg(N_("Enter a date as YYYY-MM-DD."))
        try:
            return date.fromisoformat(s).isoformat(), None
        except ValueError:
            return None, Msg(N_("This date does not exist."))
    if t == "datetime":
        s = to_ascii_digits(text).strip()
        m = LOCAL_DT_RE.match(s)
        if not m:
            return None, Msg(N_("Enter a date and time as YYYY-MM-DD HH:MM."))
        try:
            local = datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}:{m.group(3)}")
        except ValueError:
            return None, Msg(N_("This date and time do not exist."))
        utc = local.replace(tzinfo=tz).astimezone(timezone.utc)
        return utc.strftime("%Y-%m-%dT%H:%M:%SZ"), None
    if t == "boolean":
        s = text.strip().lower()
        if s in TRUE:
            return True, None
        if s in FALSE:
            return False, None
        return None, Msg(N_("Answer yes or no."))
    if t == "choice":
        s = text.strip()
        if s not in {c.code for c in item.codelist}:
            return None, Msg(N_("Choose from the list."))
        return s, None
    raise ValueError(f"unknown type {t}")


def to_input(item: ItemDef, value: Any, tz: ZoneInfo) -> Any:
    """A stored value as the form field shows it (datetimes in the site's time zone)."""
    if value is None:
        return [] if item.type == "multichoice" else ""
    if item.type == "datetime":
        utc = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        return utc.astimezone(tz).strftime("%Y-%m-%dT%H:%M")
    if item.type == "boolean":
        return "true" if value else "false"
    return value


def as_python(item: ItemDef, value: Any) -> Any:
    """Stored value → the value a clinical function receives (decimals as Decimal)."""
    if value is None:
        return None
    if item.type == "decimal":
        return Decimal(value)
    return value


def compare_key(item: ItemDef, value: Any):
    if item.type in ("integer", "decimal"):
        return Decimal(str(value))
    return str(value)


def in_range(item: ItemDef, value: Any, bounds) -> bool:
    if bounds is None or value is None:
        return True
    lo, hi = bounds
    v = compare_key(item, value)
    if item.type == "datetime":
        v = str(value)[:10] if lo is not None and len(str(lo)) == 10 else v
    if lo is not None and v < compare_key(item, lo):
        return False
    if hi is not None and v > compare_key(item, hi):
        return False
    return True
