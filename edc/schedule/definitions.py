"""The visit schedule (forms/schedule.yaml) and per-patient timelines. Pure: no Flask."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

VISIT_KEYS = {"code", "label", "anchor", "day", "window", "forms"}
SCHEDULE_KEYS = {"anchors", "visits", "unscheduled_forms", "log_forms", "enrolment"}


@dataclass(frozen=True)
class Anchor:
    name: str
    patient_field: str | None = None     # e.g. registered_on
    form: str | None = None
    item: str | None = None
    pick: str = "first"


@dataclass(frozen=True)
class VisitDef:
    code: str
    label: str
    anchor: str
    day: int
    before: int
    after: int
    forms: tuple[str, ...]


@dataclass(frozen=True)
class Enrolment:
    """What enrolment needs: these forms complete, and this boolean item true."""
    forms_complete: tuple[str, ...]
    form: str
    eligible: str


@dataclass(frozen=True)
class Schedule:
    anchors: dict[str, Anchor]
    visits: tuple[VisitDef, ...]
    unscheduled_forms: tuple[str, ...]
    log_forms: tuple[str, ...]
    enrolment: Enrolment | None = None

    def visit(self, code: str) -> VisitDef | None:
        for v in self.visits:
            if v.code == code:
                return v
        return None


def load_schedule(path: Path, forms: dict, broken: set[str] = frozenset()) -> \
        tuple[Schedule | None, list[str]]:
    problems: list[str] = []
    name = path.name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        return None, [f"{name}: not valid YAML: {e}"]
    for k in data:
        if k not in SCHEDULE_KEYS:
            problems.append(f"{name}: unknown key '{k}'")
    anchors = {}
    for aname, raw in (data.get("anchors") or {}).items():
        if not isinstance(raw, dict):
            problems.append(f"{name}:{aname}: an anchor is a mapping")
            continue
        if "patient" in raw:
            if raw["patient"] not in ("registered_on", "enrolled_on"):
                problems.append(f"{name}:{aname}: patient anchor must be registered_on or "
                                f"enrolled_on")
            anchors[aname] = Anchor(aname, patient_field=raw["patient"])
        else:
            f, i = raw.get("form"), raw.get("item")
            if f not in forms or i not in forms[f].items:
                problems.append(f"{name}:{aname}: unknown form item {f}.{i}")
            elif forms[f].items[i].type not in ("date", "datetime"):
                problems.append(f"{name}:{aname}: anchor item {f}.{i} must be a date")
            anchors[aname] = Anchor(aname, form=f, item=i, pick=raw.get("pick", "first"))
    visits, seen = [], set()
    for raw in data.get("visits") or []:
        if not isinstance(raw, dict):
            problems.append(f"{name}: a visit is a mapping")
            continue
        code = str(raw.get("code", ""))
        where = f"{name}:{code}"
        for k in raw:
            if k not in VISIT_KEYS:
                problems.append(f"{where}: unknown key '{k}'")
        if not code or code in seen or code.startswith("UNS"):
            problems.append(f"{where}: visit codes must be unique, non-empty, not UNS…")
        seen.add(code)
        if raw.get("anchor") not in anchors:
            problems.append(f"{where}: unknown anchor {raw.get('anchor')!r}")
        win = raw.get("window") or {}
        for f in raw.get("forms") or []:
            if f not in forms and f not in broken:
                problems.append(f"{where}: unknown form {f}")
        numbers = {"day": raw.get("day", 0)}
        if isinstance(win, dict):
            numbers.update(before=win.get("before", 0), after=win.get("after", 0))
        else:
            problems.append(f"{where}: window is a mapping of before/after days")
            numbers.update(before=0, after=0)
        bad = [k for k, v in numbers.items() if not isinstance(v, int) or isinstance(v, bool)]
        for k in bad:
            problems.append(f"{where}: {k} must be an integer")
        if bad:
            continue
        visits.append(VisitDef(code, str(raw.get("label", code)), str(raw.get("anchor")),
                               numbers["day"], numbers["before"], numbers["after"],
                               tuple(raw.get("forms") or ())))
    for key in ("unscheduled_forms", "log_forms"):
        for f in data.get(key) or []:
            if f not in forms and f not in broken:
                problems.append(f"{name}:{key}: unknown form {f}")
    enrolment = None
    raw = data.get("enrolment")
    if raw is not None:
        if not isinstance(raw, dict) or set(raw) - {"forms_complete", "form", "eligible"}:
            problems.append(f"{name}:enrolment: keys are forms_complete, form, eligible")
        else:
            f, item = raw.get("form"), raw.get("eligible")
            if f not in forms or item not in forms[f].items or \
                    forms[f].items[item].type != "boolean":
                problems.append(f"{name}:enrolment: {f}.{item} must be a boolean item")
            for fc in raw.get("forms_complete") or []:
                if fc not in forms and fc not in broken:
                    problems.append(f"{name}:enrolment: unknown form {fc}")
            enrolment = Enrolment(tuple(raw.get("forms_complete") or ()), f, item)
    if problems:
        return None, problems
    return Schedule(anchors, tuple(visits), tuple(data.get("unscheduled_forms") or ()),
                    tuple(data.get("log_forms") or ()), enrolment), []


# --------------------------------------------------------------------- timeline
@dataclass
class FormStatus:
    oid: str
    status: str          # not_started | in_progress | complete
    count: int = 0       # records (repeating forms)


@dataclass
class VisitStatus:
    visit: VisitDef
    due: date | None
    earliest: date | None
    latest: date | None
    status: str          # not_due | due | overdue | in_progress | complete | pending_anchor
    forms: list[FormStatus]


def anchor_dates(schedule: Schedule, patient: Any, records: list[Any]) -> dict[str, date]:
    """Resolve each anchor for a patient: from the patient row or from a form item."""
    out: dict[str, date] = {}
    for a in schedule.anchors.values():
        if a.patient_field:
            v = getattr(patient, a.patient_field, None)
            if v:
                out[a.name] = v
            continue
        values = sorted(str(r.values.get(a.item))[:10] for r in records
                        if r.form_oid == a.form and r.values.get(a.item))
        if values:
            out[a.name] = date.fromisoformat(values[0] if a.pick == "first" else values[-1])
    return out


def form_status(records: list[Any]) -> str:
    if not records:
        return "not_started"
    return "complete" if all(r.status == "complete" for r in records) else "in_progress"


def timeline(schedule: Schedule, patient: Any, records: list[Any], today: date) -> \
        list[VisitStatus]:
    """Every scheduled visit with its due date, window and status, and its forms' status.

    ``records`` are the patient's live records (objects with visit_code, form_oid, status,
    values). A visit is complete when each required form has only complete records.
    """
    anchors = anchor_dates(schedule, patient, records)
    by_visit: dict[tuple[str, str], list[Any]] = {}
    for r in records:
        by_visit.setdefault((r.visit_code, r.form_oid), []).append(r)
    out = []
    for v in schedule.visits:
        base = anchors.get(v.anchor)
        due = base + timedelta(days=v.day) if base else None
        earliest = due - timedelta(days=v.before) if due else None
        latest = due + timedelta(days=v.after) if due else None
        forms = []
        for oid in v.forms:
            recs = by_visit.get((v.code, oid), [])
            forms.append(FormStatus(oid, form_status(recs), len(recs)))
        started = [f for f in forms if f.status != "not_started"]
        if forms and all(f.status == "complete" for f in forms):
            status = "complete"
        elif started:
            status = "in_progress" if latest is None or today <= latest else "overdue"
        elif due is None:
            status = "pending_anchor"
        elif today < earliest:
            status = "not_due"
        elif today <= latest:
            status = "due"
        else:
            status = "overdue"
        out.append(VisitStatus(v, due, earliest, latest, status, forms))
    return out
