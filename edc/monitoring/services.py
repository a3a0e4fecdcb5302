"""The monitor dashboard, and the monitoring panels shown on record and patient pages
(queries, SDV, signatures, locks, safety alerts — gathered from their services)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from .. import access
from ..alerts import services as alerts
from ..db import utcnow
from ..extensions import db
from ..patients.models import Patient
from ..queries import sdv
from ..queries import services as queries
from ..schedule import services as schedule
from ..signing import locks
from ..signing import services as signing
from ..sites.models import Site

RECENT_ALERT_DAYS = 30


@dataclass
class SiteBoard:
    site: Site
    query_bands: dict[str, int]
    sdv: sdv.Progress
    overdue: list
    unsigned: list
    alerts: list
    locked: bool = False

    @property
    def open_queries(self) -> int:
        return sum(self.query_bands.values())


def dashboard(user) -> list[SiteBoard]:
    """For each site the user monitors: open queries by age band, SDV backlog, overdue
    forms, unsigned complete visits, recent safety alerts."""
    site_ids = access.sites_with(user, access.DASHBOARD)
    if not site_ids:
        return []
    sites = list(db.session.scalars(select(Site).where(Site.id.in_(site_ids))
                                    .order_by(Site.code)))
    bands = queries.age_band_counts(site_ids)
    per_site, _per_patient = sdv.progress(site_ids)
    since = utcnow() - timedelta(days=RECENT_ALERT_DAYS)
    out = []
    for s in sites:
        patients = list(db.session.scalars(select(Patient).where(Patient.site_id == s.id)
                                           .order_by(Patient.seq)))
        recs = schedule.records_by_patient([p.id for p in patients])
        out.append(SiteBoard(
            site=s, query_bands=bands[s.id], sdv=per_site[s.id],
            overdue=[r for r in schedule.site_overdue(s.id, patients) if r[3] == "overdue"],
            unsigned=signing.unsigned_visits(patients, recs),
            alerts=alerts.site_alerts([s.id], since=since, limit=10),
            locked=any(lk.scope == "site" for lk in locks.site_locks(s.id))))
    return out


# ------------------------------------------------------------------ page panels
@dataclass
class RecordPanel:
    """What the record page shows about monitoring, and what the user may do there."""
    locks: dict
    marks: dict
    verified: bool
    visit_signature: object | None
    casebook_signature: object | None
    alerts: list
    clock: dict | None
    is_sae: bool
    can_sdv: bool
    can_raise: bool
    can_answer: bool
    can_lock: bool
    actions: dict = field(default_factory=dict)   # query id -> allowed actions

    @property
    def locked(self) -> bool:
        return bool(self.locks)

    @property
    def data_locked(self) -> bool:  # site or patient: every monitoring action refused
        return "site" in self.locks or "patient" in self.locks


def _shown_locks(patient, rec, covers) -> dict:
    """{scope: lock} covering the patient (and the record), loaded only when ``covers``
    (crf.record_status.read_covers) found some."""
    ids = [i for i in (covers.sites.get(patient.site_id), covers.patients.get(patient.id),
                       covers.frozen.get(rec.id) if rec is not None else None)
           if i is not None]
    return locks.locks_by_scope(ids) if ids else {}


def record_panel(user, patient, rec, queries_by_item: dict | None = None,
                 covers=None, marks=None) -> RecordPanel:
    """``covers``: what covers the record and its patient (crf.record_status.read_covers)
    and ``marks``: the record's SDV marks (sdv.marks), when the page already read them."""
    from ..alerts.services import AESI_ITEM, AWARE_ITEM, SAE_FORM, SAE_ITEM
    from ..crf.record_status import read_covers
    if covers is None:
        covers = read_covers([rec] if rec is not None else [], sites=[patient.site_id],
                             patients=[patient.id])
    lk = _shown_locks(patient, rec, covers)
    if marks is None:
        marks = sdv.marks([rec.id]) if rec is not None else {}
    item_marks = marks.get(rec.id, {}) if rec is not None else {}
    sigs = signing.patient_signatures(patient) \
        if rec is not None and patient.id in covers.signed_patients else {}
    values = rec.values if rec is not None else {}
    is_sae = rec is not None and rec.form_oid == SAE_FORM and \
        (values.get(SAE_ITEM) is True or values.get(AESI_ITEM) is True)
    clock = alerts.sae_clock(values.get(AWARE_ITEM), patient.site) if is_sae else None
    actions = {}
    for qs in (queries_by_item or {}).values():
        for q in qs:
            actions[q.id] = queries.allowed_actions(user, q)
    sid = patient.site_id
    return RecordPanel(
        locks=lk, marks=item_marks,
        verified=rec is not None and sdv.record_verified(rec, item_marks),
        visit_signature=signing.latest(sigs.get(rec.visit_code, [])) if rec else None,
        casebook_signature=signing.latest(sigs.get(None, [])) if rec else None,
        alerts=alerts.record_alerts(rec.id) if rec is not None and
        access.can(user, access.ALERT_VIEW, sid) else [],
        clock=clock, is_sae=is_sae,
        can_sdv=rec is not None and access.can(user, access.SDV, sid),
        can_raise=rec is not None and access.can(user, access.QUERY_MANAGE, sid),
        can_answer=access.can(user, access.QUERY_ANSWER, sid),
        can_lock=rec is not None and access.can(user, access.LOCK, sid),
        actions=actions)


@dataclass
class PatientPanel:
    signatures: dict        # visit code (None: casebook) -> signature to show
    signable: dict          # visit code -> may be signed now
    casebook_signable: bool
    query_counts: dict      # visit code -> {"open": n, "answered": m}
    sdv: sdv.Progress
    locks: dict
    can_sign: bool
    can_lock: bool


def patient_panel(user, patient, visits, records=None, covers=None,
                  query_counts=None) -> PatientPanel:
    """``visits``: the patient's timeline (VisitStatus list) as the page shows it;
    ``records``: the patient's live records, ``covers``: what covers them and the patient
    (crf.record_status.read_covers) and ``query_counts`` (queries.patient_counts), when
    the page already read them: the panel then reads the signatures and locks to show
    only when there are some."""
    from ..crf.record_status import read_covers
    recs = records if records is not None else signing.scope_records(patient, None)
    if covers is None:
        covers = read_covers(recs, sites=[patient.site_id], patients=[patient.id])
    sigs = signing.patient_signatures(patient) \
        if patient.id in covers.signed_patients else {}
    shown = {k: signing.latest(v) for k, v in sigs.items()}
    prog = sdv.Progress()
    marks = sdv.marks([r.id for r in recs if r.status == "complete"])
    for r in recs:
        if r.status == "complete":
            prog.complete += 1
            prog.verified += sdv.record_verified(r, marks.get(r.id, {}))
    can_sign = access.can(user, access.SIGN, patient.site_id)
    signable = {vs.visit.code: vs.status == "complete" for vs in visits}
    casebook_ok = bool(recs) and all(r.status == "complete" for r in recs)
    if query_counts is None:
        query_counts = queries.patient_counts(patient.id)
    return PatientPanel(signatures=shown, signable=signable,
                        casebook_signable=casebook_ok,
                        query_counts=query_counts.by_visit, sdv=prog,
                        locks=_shown_locks(patient, None, covers),
                        can_sign=can_sign,
                        can_lock=access.can(user, access.LOCK, patient.site_id))
