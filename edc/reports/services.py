"""Printed records: who may print what, and where it goes.

* the blank annotated CRF book — every logged-in user;
* a patient's casebook — investigators, coordinators and monitors of the patient's site
  (``access.CASEBOOK``); an *identified* copy only for the site's own investigator, on
  an explicit request with a purpose, which is audited before the copy is made and
  watermarked on every page;
* all casebooks of a site as one zip, streamed one casebook at a time;
* the query report of a site — users who may see the site's forms (``access.CRF_VIEW``).

The command line (``flask --app edc pdf …``) runs as the server's operator
(:func:`is_operator`): it prints pseudonymised records only, never identified copies.
"""
from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import access
from ..audit.services import Actor, record as audit
from ..db import utcnow
from ..errors import Forbidden, ServiceError
from ..extensions import db
from ..patients.models import Patient
from ..patients.services import identifiers as decrypt_identifiers
from .casebook import Identified, write_casebook
from .common import check_language
from .crf_book import write_crf_book
from .query_report import write_query_report


def is_operator(actor: Actor) -> bool:
    """The command line: no logged-in user, run by whoever holds the server."""
    return actor.user is None and actor.ip == "cli"


def _require(actor: Actor, permission: str, site_id: int) -> None:
    if is_operator(actor):
        return
    access.require(actor.user, permission, site_id)


def may_print_identified(user, site_id: int) -> bool:
    """Only the site's own investigator: may see identifiers and sign at that site."""
    return access.can(user, access.IDENTIFIERS_VIEW, site_id) and \
        access.can(user, access.SIGN, site_id)


def crf_book(actor: Actor, lang: str, out) -> int:
    """The blank annotated CRF book (anyone logged in; no patient data)."""
    if actor.user is None and not is_operator(actor):
        raise Forbidden(_l("You are not allowed to do this."))
    return write_crf_book(out, check_language(lang), generated_at=utcnow())


def casebook(actor: Actor, patient: Patient, lang: str, out) -> int:
    """The pseudonymised casebook of one patient."""
    _require(actor, access.CASEBOOK, patient.site_id)
    return write_casebook(out, patient, check_language(lang), generated_at=utcnow())


def identified_casebook(actor: Actor, patient: Patient, lang: str, out, *,
                        purpose: str) -> int:
    """An identified copy: the site's investigator asks for it, with a purpose.

    The request is committed to the audit trail *before* the copy is made, so a copy
    never exists without its audit row."""
    lang = check_language(lang)
    if actor.user is None or not may_print_identified(actor.user, patient.site_id):
        raise Forbidden(_l("Only an investigator of the patient's site may print an "
                           "identified copy."))
    purpose = (purpose or "").strip()
    if not purpose:
        raise ServiceError(_l("Say why an identified copy is needed."))
    idents = decrypt_identifiers(patient, actor) or {}
    at = utcnow()
    audit("casebook.identified", actor, site_code=patient.site.code, object_type="patient",
          object_id=patient.pseudonym, new={"language": lang,
                                            "identifiers": sorted(idents)},
          reason=purpose)
    db.session.commit()
    return write_casebook(out, patient, lang, generated_at=at,
                          identified=Identified(idents, actor.name or "", at, purpose))


@dataclass
class ZipResult:
    path: Path
    patients: int
    pages: int


def site_casebooks(actor: Actor, site, lang: str, directory: str | os.PathLike,
                   on_progress=None) -> ZipResult:
    """Every casebook of a site in one zip file in ``directory``.

    Streamed: one patient is loaded, printed and written into the zip, then forgotten,
    before the next — memory stays flat however many patients the site has. The zip is
    written under a temporary name and renamed when complete."""
    _require(actor, access.CASEBOOK, site.id)
    lang = check_language(lang)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    at = utcnow()
    stamp = at.strftime("%Y%m%dT%H%M%SZ")
    final = directory / f"casebooks-{site.code}-{lang}-{stamp}.zip"
    partial = final.with_suffix(".zip.part")
    site_id = site.id
    ids = list(db.session.scalars(select(Patient.id).where(Patient.site_id == site_id)
                                  .order_by(Patient.seq)))
    pages = 0
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as zf:
            for n, pid in enumerate(ids, 1):
                patient = db.session.get(Patient, pid)
                name = f"{patient.pseudonym}.pdf"
                info = zipfile.ZipInfo(name, date_time=at.timetuple()[:6])
                with zf.open(info, "w", force_zip64=True) as fh:
                    count = write_casebook(fh, patient, lang, generated_at=at)
                pages += count
                if on_progress is not None:
                    on_progress(n, len(ids), patient.pseudonym, count)
                db.session.expunge_all()  # forget this patient before the next
        os.replace(partial, final)
    finally:
        if partial.exists():
            partial.unlink()
    return ZipResult(final, len(ids), pages)


def query_report(actor: Actor, site, lang: str, out) -> int:
    """Open and closed queries of a site (for monitoring visits)."""
    _require(actor, access.CRF_VIEW, site.id)
    return write_query_report(out, site, check_language(lang), generated_at=utcnow())


def generated_name(kind: str, key: str, lang: str, at: datetime | None = None) -> str:
    at = at or utcnow()
    return f"{kind}-{key}-{lang}-{at:%Y%m%dT%H%M%SZ}.pdf"
