"""Synthetic eCRF data for the export tests and the export benchmark.

Values follow each item's definition (type, range, codelist), so they look like saved
data; records are inserted directly (the engine's save is tested elsewhere), in bulk.
"""
from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import insert, select

from edc.crf import catalog as cat
from edc.crf.definitions import MISSING_CODES, ItemDef
from edc.crf.models import FormRecord, FormVersion
from edc.extensions import db

TEXTS = ("as per protocol", "Niña estable — sin cambios", "febbre notturna, 38°C",
         "حمى خفيفة", "see source note 3", "ok")
D0_OFFSET = 20          # infusion 20 days after registration


def synth_value(item: ItemDef, rng: random.Random, on: date):
    t = item.type
    if t == "text":
        return rng.choice(TEXTS)[:item.max_length]
    if t in ("integer", "decimal"):
        lo, hi = item.expected or item.range or (0, 100)
        lo = 0 if lo is None else lo
        hi = lo + 100 if hi is None else hi
        if t == "integer":
            return rng.randint(int(lo), int(hi))
        places = item.decimals if item.decimals is not None else 2
        v = Decimal(str(round(rng.uniform(float(lo), float(hi)), places)))
        return format(v.normalize(), "f") if v == v.to_integral_value() else format(v, "f")
    if t == "date":
        return (on + timedelta(days=rng.randint(0, 2))).isoformat()
    if t == "datetime":
        return f"{on.isoformat()}T{rng.randint(6, 20):02d}:{rng.randint(0, 59):02d}:00Z"
    if t == "boolean":
        return rng.random() < 0.5
    if t == "choice":
        return rng.choice(item.codelist).code if item.codelist else "x"
    if t == "multichoice":
        codes = [c.code for c in item.codelist]
        picked = set(rng.sample(codes, rng.randint(0, min(3, len(codes)))))
        return [c for c in codes if c in picked] or None
    raise ValueError(t)


def synth_record(form, rng: random.Random, on: date, *, p_missing: float = 0.03,
                 p_empty: float = 0.0) -> tuple[dict, dict]:
    values, missing = {}, {}
    first_date = True
    for it in form.items.values():
        if it.type == "date" and first_date and not it.derived:
            values[it.name] = on.isoformat()     # the clinical date of the record
            first_date = False
            continue
        if not it.derived and it.missing and rng.random() < p_missing:
            missing[it.name] = {"code": rng.choice(MISSING_CODES), "reason": "synthetic"}
            continue
        if rng.random() < p_empty:
            continue
        v = synth_value(it, rng, on)
        if v is not None:
            values[it.name] = v
    return values, missing


def visit_plan(schedule, *, acute_days: int, full: bool):
    """(visit code, form OID, seq, days after registration) of one patient."""
    out = []
    for v in schedule.visits:
        if not full and v.code not in ("SCR", "APH", "LD", "D0", "ACUTE", "D7", "D28"):
            continue
        base = v.day if v.anchor == "registration" else D0_OFFSET + v.day
        for oid in v.forms:
            if v.code == "ACUTE":
                for k in range(acute_days):
                    out.append((v.code, oid, k + 1, base + k))
            else:
                out.append((v.code, oid, 1, base))
    out.append(("LOG", "AE", 1, D0_OFFSET + 3))
    out.append(("UNS1", "FU", 1, D0_OFFSET + 45))
    return out


def insert_records(patients, *, seed: int = 7, acute_days: int = 3, full: bool = False,
                   status: str = "complete", p_missing: float = 0.03, p_empty: float = 0.0,
                   user_id: int | None = None, batch: int = 2000) -> int:
    """Bulk-insert synthetic records for ``patients`` (objects with id, site_id,
    registered_on); returns the number of item values (values + missing codes)."""
    rng = random.Random(seed)
    catalog = cat.catalog()
    for form in catalog.forms.values():
        cat.ensure_registered(form)
    db.session.commit()
    now = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
    plan = visit_plan(catalog.schedule, acute_days=acute_days, full=full)
    rows, n_values = [], 0
    for p in patients:
        for visit, oid, seq, offset in plan:
            form = catalog.forms[oid]
            on = p.registered_on + timedelta(days=offset)
            values, missing = synth_record(form, rng, on, p_missing=p_missing,
                                           p_empty=p_empty)
            n_values += len(values) + len(missing)
            rows.append(dict(patient_id=p.id, site_id=p.site_id, visit_code=visit,
                             form_oid=oid, form_version=form.version,
                             content_hash=form.content_hash, seq=seq, status=status,
                             values=values, missing=missing, completed_once=True,
                             row_version=1, created_at=now, created_by=user_id,
                             updated_at=now, updated_by=user_id,
                             updated_by_name="Synthetic"))
            if len(rows) >= batch:
                db.session.execute(insert(FormRecord), rows)
                db.session.commit()
                rows = []
    if rows:
        db.session.execute(insert(FormRecord), rows)
        db.session.commit()
    return n_values


def register_newer_version(oid: str = "DM") -> int:
    """Store version N+1 of a form (an extra item, an extra code), as if the definition
    had changed after records existed. Returns the new version."""
    form = cat.current(oid)
    stored = json.loads(form.source)
    data = stored["form"]
    data["version"] = form.version + 1
    data["sections"][0]["items"].append({"name": "ETHNIC", "label": "Ethnic group recorded",
                                         "type": "boolean"})
    for name in list(stored["codelists"]):
        if name == "SEX":
            stored["codelists"][name] = stored["codelists"][name] + [
                {"code": "U", "label": "Undetermined"}]
    from edc.crf.definitions import form_from_source
    src = json.dumps(stored, sort_keys=True, ensure_ascii=False, default=str)
    newer = form_from_source(src)
    db.session.add(FormVersion(oid=oid, version=newer.version,
                               content_hash=newer.content_hash, source=src))
    db.session.commit()
    cat._from_source.cache_clear()
    return newer.version


def sign_casebooks(patients, signer_id: int, signer_name: str = "Investigator") -> None:
    """A valid casebook signature for each patient (so no visit blocks a lock)."""
    from edc.signing.models import Signature
    for p in patients:
        db.session.add(Signature(site_id=p.site_id, patient_id=p.id, scope="casebook",
                                 visit_code=None, signer_id=signer_id,
                                 signer_name=signer_name, signer_role="investigator",
                                 meaning="I confirm that the data are complete and "
                                         "accurate.",
                                 meaning_text="I confirm", record_ids=[],
                                 data_hash="0" * 64, status="valid"))
    db.session.commit()


def patients_of(site_ids=None):
    from edc.patients.models import Patient
    q = select(Patient).order_by(Patient.id)
    if site_ids is not None:
        q = q.where(Patient.site_id.in_(site_ids))
    return list(db.session.scalars(q))

