"""The patient clinical summary, defined as data in forms/summary.yaml. Pure: no Flask."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

AGGREGATES = ("first", "last", "min", "max", "sum", "count", "list")


@dataclass(frozen=True)
class SummaryField:
    key: str
    label: str
    source: tuple[tuple[str, str], ...]      # (form, item)
    aggregate: str
    visit: str | None = None
    episode: tuple[str, int] | None = None   # (date item, min value)


def load_summary(path: Path, forms: dict) -> tuple[tuple[SummaryField, ...], list[str]]:
    if not path.exists():
        return (), []
    name = path.name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        return (), [f"{name}: not valid YAML: {e}"]
    out, problems = [], []
    for raw in data.get("fields") or []:
        key = str(raw.get("key"))
        unknown = set(raw) - {"key", "label", "source", "aggregate", "visit", "episode"}
        if unknown:
            problems.append(f"{name}:{key}: unknown keys {sorted(unknown)}")
        src = []
        for s in raw.get("source") or []:
            f, _, i = str(s).partition(".")
            if f not in forms or i not in forms[f].items:
                problems.append(f"{name}:{key}: unknown item {s}")
            src.append((f, i))
        if raw.get("aggregate") not in AGGREGATES:
            problems.append(f"{name}:{key}: aggregate must be one of {', '.join(AGGREGATES)}")
        ep = raw.get("episode")
        if ep is not None:
            if not src or ep.get("date") not in forms.get(src[0][0], type("", (), {
                    "items": {}})).items:
                problems.append(f"{name}:{key}: episode date must be an item of "
                                f"{src[0][0] if src else '?'}")
            ep = (ep.get("date"), ep.get("min", 1))
        out.append(SummaryField(key, str(raw.get("label", key)), tuple(src),
                                str(raw.get("aggregate")), raw.get("visit"), ep))
    return tuple(out), problems


def _num(v):
    try:
        return Decimal(str(v))
    except Exception:  # noqa: BLE001
        return None


def compute(fields, records: list[Any], d0: date | None) -> dict[str, Any]:
    """{key: value} (and key+"_onset"/"_resolution" study days for episode fields).

    ``records`` are live records (form_oid, visit_code, seq, values); the value types are
    the stored ones. Study day = date − D0 (D0 is day 0)."""
    out: dict[str, Any] = {}
    # each record's attributes read once (ORM attributes), not once per summary field
    rows = [(r.form_oid, r.visit_code, r.seq, r.values, r) for r in records]
    for f in fields:
        vals = []
        for form_oid, visit_code, seq, values, r in rows:
            for form, item in f.source:
                if form_oid == form and (f.visit is None or visit_code == f.visit):
                    v = values.get(item)
                    if v is not None:
                        vals.append((str(values.get(f.episode[0]) or "") if f.episode
                                     else "", visit_code, seq, v, r))
        vals.sort(key=lambda t: (t[0], t[1], t[2]))
        plain = [t[3] for t in vals]
        agg = f.aggregate
        if not plain:
            value = 0 if agg == "count" else None
        elif agg == "first":
            value = plain[0]
        elif agg == "last":
            value = plain[-1]
        elif agg in ("min", "max"):
            nums = [(_num(v), v) for v in plain]
            if all(n is not None for n, _ in nums):
                value = (min if agg == "min" else max)(nums)[1]
            else:
                value = (min if agg == "min" else max)(str(v) for v in plain)
        elif agg == "sum":
            nums = [_num(v) for v in plain if _num(v) is not None]
            value = str(sum(nums)) if nums else None
        elif agg == "count":
            value = len(plain)
        else:
            value = sorted(set(str(v) for v in plain))
        out[f.key] = value
        if f.episode:
            date_item, minimum = f.episode
            dated = [(t[0][:10], _num(t[3])) for t in vals if t[0] and _num(t[3]) is not None]
            positive = [d for d, v in dated if v >= minimum]
            if positive and d0 is not None:
                out[f.key + "_onset"] = (date.fromisoformat(positive[0]) - d0).days
                # resolution: the first assessment after the last positive one below `min`
                after = [d for d, v in dated if d > positive[-1] and v < minimum]
                out[f.key + "_resolution"] = \
                    (date.fromisoformat(after[0]) - d0).days if after else None
    return out
