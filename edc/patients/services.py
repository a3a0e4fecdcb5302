"""The pseudonymised patient registry."""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from .. import access, keys
from ..audit.services import Actor, record
from ..errors import ServiceError
from ..extensions import db
from ..sites.models import Site
from ..sites.services import site_key
from . import pseudonym
from .models import Patient, PatientIdentifiers

SEXES = ("F", "M")
IDENTIFIER_FIELDS = ("full_name", "mrn", "birth_date")


def _aad(patient: Patient) -> bytes:
    return f"patient:{patient.site_id}:{patient.pseudonym}".encode()


def _normalise_mrn(mrn: str) -> str:
    from ..i18n_digits import to_ascii_digits
    return "".join(to_ascii_digits(mrn).split()).upper()


def register(site: Site, actor: Actor, *, birth_year: int | None, sex: str | None,
             registered_on: date, identifiers: dict | None = None,
             demo: bool = False) -> Patient:
    """Register a patient at ``site`` and issue the next pseudonym, atomically.

    The site's sequence is incremented with one UPDATE … RETURNING in the same transaction
    as the patient row, so concurrent registrations never share a number, and a failed
    registration rolls its number back (no gaps).
    """
    access.require(actor.user, access.PATIENT_REGISTER, site.id)
    from ..signing.locks import assert_site_writable
    assert_site_writable(site.id)
    if sex is not None and sex not in SEXES:
        raise ServiceError(_l("Unknown sex code."))
    if birth_year is not None and not (1990 <= birth_year <= registered_on.year):
        raise ServiceError(_l("The year of birth is out of range."))
    idents = {k: (v or "").strip() for k, v in (identifiers or {}).items()
              if k in IDENTIFIER_FIELDS and (v or "").strip()}
    data_key = site_key(site) if idents else None
    mrn_hmac = None
    if idents.get("mrn"):
        mrn_hmac = keys.keyed_hmac(data_key, "mrn", _normalise_mrn(idents["mrn"]))
        dup = db.session.scalars(select(PatientIdentifiers.patient_id).where(
            PatientIdentifiers.site_id == site.id,
            PatientIdentifiers.mrn_hmac == mrn_hmac)).first()
        if dup is not None:
            raise ServiceError(_l("A patient with this hospital record number is already "
                                  "registered at this site."))
    seq = db.session.execute(
        update(Site).where(Site.id == site.id).values(patient_seq=Site.patient_seq + 1)
        .returning(Site.patient_seq)).scalar_one()
    if seq > 9999:
        db.session.rollback()
        raise ServiceError(_l("This site has used all 9999 patient numbers."))
    patient = Patient(site_id=site.id, seq=seq, pseudonym=pseudonym.make(site.code, seq),
                      birth_year=birth_year, sex=sex, registered_on=registered_on,
                      created_by=actor.user_id, demo=demo)
    db.session.add(patient)
    db.session.flush()
    if idents:
        nonce, ct = keys.encrypt_json(data_key, idents, _aad(patient))
        db.session.add(PatientIdentifiers(patient_id=patient.id, site_id=site.id,
                                          nonce=nonce, ciphertext=ct, mrn_hmac=mrn_hmac))
    # The audit trail records that identifiers exist, never their values.
    record("patient.register", actor, site_code=site.code, object_type="patient",
           object_id=patient.pseudonym,
           new={"birth_year": birth_year, "sex": sex, "registered_on": registered_on,
                "identifiers_kept": sorted(idents)})
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ServiceError(_l("A patient with this hospital record number is already "
                              "registered at this site.")) from None
    return patient


def identifiers(patient: Patient, actor: Actor) -> dict | None:
    """Decrypt the patient's direct identifiers (investigators and coordinators only)."""
    access.require(actor.user, access.IDENTIFIERS_VIEW, patient.site_id)
    row = patient.identifiers
    if row is None:
        return None
    return keys.decrypt_json(site_key(patient.site), row.nonce, row.ciphertext, _aad(patient))


def lookup(actor: Actor, text: str) -> Patient:
    """Find a patient by pseudonym; a mistyped ID (bad check character) is refused."""
    parsed = pseudonym.parse(text)
    if parsed is None:
        raise ServiceError(_l("This is not a valid patient ID. Check it: a patient ID looks "
                              "like ES01-0007-K, and its last character is a check "
                              "character that catches typing errors."))
    return access.get_patient(db.session, actor.user, pseudonym.normalise(text))


def list_for_site(actor: Actor, site_id: int) -> list[Patient]:
    # The site is the same for every row, and already in the session (the user's
    # memberships load their sites): not joined into each row (Patient.site is "joined").
    from sqlalchemy.orm import lazyload
    q = access.patient_query(actor.user).where(Patient.site_id == site_id) \
        .options(lazyload(Patient.site)).order_by(Patient.seq)
    return list(db.session.scalars(q))


STATUS_LABELS = {
    "screening": _l("Screening"),
    "enrolled": _l("Enrolled"),
    "screen_failed": _l("Screen failure"),
    "completed": _l("Completed"),
    "withdrawn": _l("Withdrawn"),
    "died": _l("Died"),
}
SEX_LABELS = {"F": _l("Female"), "M": _l("Male")}


def enrolment_blockers(patient: Patient, records: list) -> list[str]:
    """Why the patient cannot be enrolled (translated sentences); empty if eligible.

    The rule is data: forms/schedule.yaml `enrolment` names the forms that must be complete
    and the boolean eligibility item; the criteria that fail are the items the eligibility
    derivation reads (inclusion not met, exclusion present).
    """
    from flask_babel import gettext as _

    from ..crf import catalog as cat
    rule = cat.catalog().schedule.enrolment
    if rule is None:
        return []
    out = []
    by_form = {}
    for r in records:
        by_form.setdefault(r.form_oid, []).append(r)
    for oid in rule.forms_complete:
        recs = by_form.get(oid, [])
        if not recs or any(r.status != "complete" for r in recs):
            out.append(_("The form “%(form)s” is not complete.",
                         form=_(cat.current(oid).title)))
    recs = by_form.get(rule.form, [])
    if recs and recs[0].values.get(rule.eligible) is not True:
        form = cat.form_version(recs[0].form_oid, recs[0].form_version)
        item = form.items[rule.eligible]
        args = dict(item.args)
        for name in args.get("inclusion", []):
            if recs[0].values.get(name) is not True:
                out.append(_("Inclusion criterion not met: %(label)s",
                             label=_(form.items[name].label)))
        for name in args.get("exclusion", []):
            if recs[0].values.get(name) is not False:
                out.append(_("Exclusion criterion present or not answered: %(label)s",
                             label=_(form.items[name].label)))
        if not args:
            out.append(_("The patient is not eligible."))
    return out


def enrol(actor: Actor, patient: Patient, records: list, on: date) -> None:
    """Enrol a screened patient; refused, with the reasons, unless eligible."""
    access.require(actor.user, access.PATIENT_REGISTER, patient.site_id)
    from ..signing.locks import assert_writable
    assert_writable(patient)
    if patient.status != "screening":
        raise ServiceError(_l("Only a patient in screening can be enrolled."))
    blockers = enrolment_blockers(patient, records)
    if blockers:
        raise ServiceError(_l("The patient cannot be enrolled: %(why)s"),
                           why=" ".join(blockers))
    patient.status, patient.enrolled_on = "enrolled", on
    record("patient.enrol", actor, site_code=patient.site.code, object_type="patient",
           object_id=patient.pseudonym, old="screening", new="enrolled")
    db.session.commit()
