"""Electronic signatures of visits and casebooks (21 CFR 11.50, 11.70, 11.200).

An investigator signs a completed visit or a whole casebook at their own site. Signing
asks for the password again (11.200(a)(1)). The signature stores the printed name, the UTC
time and the meaning (11.50), and the SHA-256 hash of a canonical serialisation of the
signed records (11.70): a later change to the signed data invalidates the signature,
visibly, and the data need a new signature.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date
from functools import cache

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import bindparam, select

from .. import access
from ..audit.services import Actor, record as audit
from ..crf.models import FormRecord
from ..crf.values import N_
from ..db import utcnow
from ..errors import Conflict, ServiceError
from ..extensions import db
from .locks import assert_writable
from .models import Signature

#: the meaning of every signature; stored as this msgid, shown translated
MEANING = N_("I confirm that the data are complete and accurate.")
LIVE = ("in_progress", "complete")


# ------------------------------------------------------------------ the signed data
def canonical(records: list[FormRecord]) -> bytes:
    """The canonical serialisation of signed records: JSON, sorted keys, no spaces, UTF-8,
    the records ordered by (visit, form, seq). A change of any form oid, version, visit,
    sequence number, value or missing-data code changes it."""
    rows = sorted(({"form": r.form_oid, "version": r.form_version, "visit": r.visit_code,
                    "seq": r.seq, "values": r.values or {}, "missing": r.missing or {}}
                   for r in records),
                  key=lambda d: (d["visit"], d["form"], d["seq"]))
    return json.dumps(rows, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      default=str).encode("utf-8")


def data_hash(records: list[FormRecord]) -> str:
    return hashlib.sha256(canonical(records)).hexdigest()


def scope_records(patient, visit_code: str | None, *,
                  for_update: bool = False) -> list[FormRecord]:
    """The live records a signature covers: one visit's, or the whole casebook's."""
    q = select(FormRecord).where(FormRecord.patient_id == patient.id,
                                 FormRecord.status.in_(LIVE))
    if visit_code is not None:
        q = q.where(FormRecord.visit_code == visit_code)
    if for_update:
        q = q.with_for_update(of=FormRecord)
    return list(db.session.scalars(q.order_by(FormRecord.visit_code, FormRecord.form_oid,
                                              FormRecord.seq)))


def _visit_complete(patient, visit_code: str, records: list[FormRecord]) -> bool:
    from ..crf import catalog as cat
    from ..schedule.services import patient_timeline
    if not records or any(r.status != "complete" for r in records):
        return False
    if cat.catalog().schedule.visit(visit_code) is None:  # LOG, UNSn: its records suffice
        return True
    all_recs = scope_records(patient, None)
    for vs in patient_timeline(patient, all_recs, date.today()):
        if vs.visit.code == visit_code:
            return vs.status == "complete"
    return False


def signable(patient, visit_code: str | None) -> tuple[bool, list[FormRecord]]:
    """(may be signed now, the records it would cover)."""
    recs = scope_records(patient, visit_code)
    if visit_code is None:
        return bool(recs) and all(r.status == "complete" for r in recs), recs
    return _visit_complete(patient, visit_code, recs), recs


# ------------------------------------------------------------------ signing
def needs_second_factor(user) -> bool:
    """True when the user has enrolled in MFA: signing then asks for a code too."""
    return getattr(user, "mfa_enabled_at", None) is not None


def sign(actor: Actor, patient, visit_code: str | None, password: str, *,
         code: str | None = None, locale: str | None = None,
         expected_hash: str | None = None) -> Signature:
    """Sign a visit (``visit_code``) or the whole casebook (``None``).

    Only an investigator of the patient's site may sign (permission SIGN), after giving
    the password again, and the second factor (``code``) if the user has enrolled in
    MFA; a wrong password or code is refused and audited. ``expected_hash``: the hash of
    the data the signer reviewed (the signing page): refused if the data changed since.
    """
    from ..auth.services import check_password
    access.require(actor.user, access.SIGN, patient.site_id)
    assert_writable(patient)
    site = patient.site
    scope = "visit" if visit_code else "casebook"
    target = f"{patient.pseudonym}/{visit_code}" if visit_code else patient.pseudonym
    ok, recs = signable(patient, visit_code)
    if not ok:
        raise ServiceError(_l("Only complete data can be signed: complete every form "
                              "first.") if visit_code is None else
                           _l("Only a complete visit can be signed: complete its forms "
                              "first."))
    shown = data_hash(recs)
    if expected_hash and expected_hash != shown:
        raise Conflict(_l("The data changed while you were signing: check them and sign "
                          "again."))
    if any(old.data_hash == shown for old in current_signatures(patient, visit_code)):
        raise Conflict(_l("These data are already signed."))
    # wrong passwords here count as failed log-ins of the account (no guessing here)
    from ..auth import ratelimit
    from ..auth.services import normalise_email
    account = normalise_email(actor.user.email)
    ratelimit.check(("login.account", account), actor=actor, object_type="user",
                    object_id=actor.user_id)
    if not password or not check_password(actor.user, password):
        db.session.rollback()
        audit("signature.refused", actor, site_code=site.code, object_type="signature",
              object_id=target, reason="wrong password")
        ratelimit.hit("login.account", account, commit=False)
        db.session.commit()
        raise ServiceError(_l("The password is wrong: nothing was signed."))
    if needs_second_factor(actor.user):  # 21 CFR 11.200(a)(1): both components
        from ..auth import mfa
        if not code or not mfa.verify_second_factor(actor.user, code, actor=actor):
            db.session.rollback()
            audit("signature.refused", actor, site_code=site.code,
                  object_type="signature", object_id=target, reason="wrong second factor")
            db.session.commit()
            raise ServiceError(_l("The code is wrong: nothing was signed."))
    # the signed rows, locked (PostgreSQL) until the signature is committed: a concurrent
    # save waits, then sees the signature and invalidates it if it changes them
    recs = scope_records(patient, visit_code, for_update=True)
    digest = data_hash(recs)
    if digest != shown or any(r.status != "complete" for r in recs):
        db.session.rollback()
        raise Conflict(_l("The data changed while you were signing: check them and sign "
                          "again."))
    roles = access.roles_at(actor.user, patient.site_id)
    role = next(r for r in access.ROLES if r in roles and access.SIGN in access.PERMISSIONS[r])
    sig = Signature(site_id=patient.site_id, patient_id=patient.id, scope=scope,
                    visit_code=visit_code, signer_id=actor.user_id,
                    signer_name=actor.user.name, signer_role=role, signed_at=utcnow(),
                    meaning=MEANING, meaning_text=gettext(MEANING), locale=locale,
                    record_ids=[r.id for r in recs], data_hash=digest, status="valid")
    db.session.add(sig)
    db.session.flush()
    audit(f"signature.{scope}", actor, site_code=site.code, object_type="signature",
          object_id=sig.id, new={"target": target, "hash": digest,
                                 "records": sig.record_ids, "meaning": MEANING,
                                 "signer": sig.signer_name})
    db.session.commit()
    return sig


def current_signatures(patient, visit_code: str | None = None) -> list[Signature]:
    """Valid signatures of a visit (or of the casebook, for ``None``)."""
    q = select(Signature).where(Signature.patient_id == patient.id,
                                Signature.status == "valid")
    q = q.where(Signature.visit_code == visit_code) if visit_code is not None else \
        q.where(Signature.scope == "casebook")
    return list(db.session.scalars(q.order_by(Signature.id)))


def invalidate_on_change(actor: Actor, patient, record: FormRecord,
                         changed: list[str]) -> list[Signature]:
    """After a change to ``record`` (in the caller's transaction): every valid signature
    whose signed data no longer hash the same is invalidated, and audited."""
    sigs = list(db.session.scalars(select(Signature).where(
        Signature.patient_id == patient.id, Signature.status == "valid")))
    sigs = [s for s in sigs if s.scope == "casebook" or s.visit_code == record.visit_code]
    if not sigs:
        return []
    db.session.flush()
    now, out = utcnow(), []
    hashes: dict[str | None, str] = {}
    for s in sigs:
        if s.visit_code not in hashes:
            hashes[s.visit_code] = data_hash(scope_records(patient, s.visit_code))
        if hashes[s.visit_code] == s.data_hash:
            continue
        s.status = "invalidated"
        s.invalidated_at, s.invalidated_by = now, actor.user_id
        s.invalidated_by_name, s.invalidated_record_id = actor.name, record.id
        s.invalidated_items = list(changed or [])
        audit("signature.invalidated", actor, site_code=patient.site.code,
              object_type="signature", object_id=s.id, record_id=record.id,
              old="valid", new="invalidated",
              reason=", ".join(changed) if changed else record.status)
        out.append(s)
    return out


# ------------------------------------------------------------------ display
def patient_signatures(patient) -> dict[str | None, list[Signature]]:
    """Per visit code (None: casebook): its signatures, newest first, valid or not."""
    out: dict[str | None, list[Signature]] = {}
    for s in db.session.scalars(_signatures_statement(), {"pid": patient.id}):
        out.setdefault(s.visit_code if s.scope == "visit" else None, []).append(s)
    return out


@cache
def _signatures_statement():
    """Built once (the patient and eCRF pages run it)."""
    return select(Signature).where(Signature.patient_id == bindparam("pid")) \
        .order_by(Signature.id.desc())


def latest(sigs: list[Signature]) -> Signature | None:
    """The signature to show: the newest valid one, else the newest invalidated one."""
    valid = [s for s in sigs if s.status == "valid"]
    return valid[0] if valid else (sigs[0] if sigs else None)


def unsigned_visits(patients, records_by_patient: dict) -> list[tuple]:
    """(patient, visit status) for complete scheduled visits without a valid signature."""
    from ..schedule.services import patient_timeline
    ids = [p.id for p in patients]
    signed: set[tuple[int, str]] = set()
    if ids:
        signed = {(pid, vc) for pid, vc in db.session.execute(
            select(Signature.patient_id, Signature.visit_code).where(
                Signature.patient_id.in_(ids), Signature.status == "valid",
                Signature.scope == "visit"))}
    rows = []
    for p in patients:
        for vs in patient_timeline(p, records_by_patient.get(p.id, []), date.today()):
            if vs.status == "complete" and (p.id, vs.visit.code) not in signed:
                rows.append((p, vs))
    return rows
