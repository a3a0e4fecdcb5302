"""Turning a record into rows: the wide row of its dataset (CSV text and the values of
the stats formats) and its long rows (one per item value).

A million values go through here, so each dataset (and each form version, for the long
file) gets one small Python function generated from its variables: no per-cell dispatch.
Names and codes enter the generated code only as constants of its namespace, never as
source text.
"""
from __future__ import annotations

from datetime import date, datetime

from .plan import Dataset

NAN = float("nan")


def _f(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return NAN


def _d(x):
    try:
        return date.fromisoformat(x)
    except (TypeError, ValueError):
        return None


def _dt(x):
    try:
        return datetime.strptime(x, "%Y-%m-%dT%H:%M:%SZ")    # naive UTC
    except (TypeError, ValueError):
        return None


def _s(x):
    if x.__class__ is bool:
        return "1" if x else "0"
    if x.__class__ is list:
        return ";".join(str(c) for c in x)
    return str(x)


KEY_EXPR = {
    "SUBJID": ("r.pseudonym", "r.pseudonym"),
    "SITEID": ("r.site", "r.site"),
    "VISIT": ("r.visit", "r.visit"),
    "RECSTAT": ("r.status", "r.status"),
    "REPEAT": ("r.seq", "float(r.seq)"),
    "FORMVER": ("r.version", "float(r.version)"),
    "STUDYDY": ("dy", "(NAN if dy is None else float(dy))"),
}


def _compile(lines: list[str], ns: dict, name: str):
    code = compile("\n".join(lines) + "\n", f"<export {name}>", "exec")
    # nosec B102 — the source is generated here from fixed templates; names and codes of
    # the definitions enter only as constants of the namespace, never as code
    exec(code, ns)  # nosec B102
    return ns[name]


def wide_maker(ds: Dataset, *, want_csv: bool = True, want_stats: bool = True):
    """make(rec) -> (CSV row or None, stats row or None). CSV cells may be numbers or
    None: csv.writer writes them as text and empty."""
    ns = {"NAN": NAN, "_f": _f, "_d": _d, "_dt": _dt, "_s": _s}
    body = ["def make(r):", "    v = r.values", "    m = r.missing", "    dy = r.study_day"]
    cx, sx = [], []
    for i, var in enumerate(ds.vars):
        if var.kind == "key":
            c, s = KEY_EXPR[var.name]
            cx.append(c)
            sx.append(s)
            continue
        info = ds.items[var.item]
        it = info.item
        ns[f"K{i}"] = it.name
        if var.kind == "missing":
            body.append(f"    q{i} = m.get(K{i})")
            cx.append(f"(q{i}['code'] if q{i} else None)")
            sx.append(f"(q{i}['code'] if q{i} else None)")
            continue
        if var.kind == "indicator":
            ns[f"C{i}"] = var.code
            body.append(f"    l{i} = v.get(K{i})")
            cx.append(f"((1 if C{i} in l{i} else 0) if l{i}.__class__ is list else None)")
            sx.append(f"((1.0 if C{i} in l{i} else 0.0) if l{i}.__class__ is list else NAN)")
            continue
        x = f"x{i}"
        body.append(f"    {x} = v.get(K{i})")
        if it.type == "boolean":
            cx.append(f"(None if {x} is None else (1 if {x} else 0))")
            sx.append(f"(NAN if {x} is None else (1.0 if {x} else 0.0))")
        elif var.storage == "str":
            cx.append(f"(None if {x} is None else _s({x}))")
            sx.append(f"(None if {x} is None else _s({x}))")
        elif var.storage == "date":
            cx.append(x)
            sx.append(f"(None if {x} is None else _d({x}))")
        elif var.storage == "datetime":
            cx.append(x)
            sx.append(f"(None if {x} is None else _dt({x}))")
        elif it.type == "choice" and info.codes:
            ns[f"M{i}"] = {code: float(n) for code, n in info.codes.items()}
            cx.append(x)
            sx.append(f"(NAN if {x} is None else M{i}.get(str({x}), NAN))")
        else:                                   # integer, decimal (and derived numbers)
            cx.append(x)
            sx.append(f"(NAN if {x} is None else _f({x}))")
    c = "[" + ", ".join(cx) + "]" if want_csv else "None"
    s = "[" + ", ".join(sx) + "]" if want_stats else "None"
    body.append(f"    return {c}, {s}")
    return _compile(body, ns, "make")


def long_maker(form):
    """add(rec, rows) appends the record's long rows (one per item with a value or a
    missing-data code, in the definition's order) and returns how many."""
    ns = {"_s": _s}
    body = ["def add(r, rows):", "    v = r.values", "    m = r.missing",
            "    dy = r.study_day",
            "    b = (r.pseudonym, r.site, r.visit, r.oid, r.version, r.seq, dy)",
            "    n = len(rows)"]
    for i, it in enumerate(form.items.values()):
        ns[f"K{i}"] = it.name
        text = "x" if it.type in ("text", "integer", "decimal", "date", "datetime",
                                  "choice") else "_s(x)"
        body += [f"    x = v.get(K{i})",
                 "    if x is not None:",
                 f"        rows.append(b + (K{i}, {text}, ''))",
                 "    elif m:",
                 f"        q = m.get(K{i})",
                 "        if q:",
                 f"            rows.append(b + (K{i}, '', q['code']))"]
    body.append("    return len(rows) - n")
    return _compile(body, ns, "add")
