"""Safety alerts: created when a safety event is saved, delivered to the site's
investigators and the sponsor's safety users (in-app inbox and email).

Events: a serious adverse event (AE.AESER), a CRS or ICANS grade of 3 or more (the ASTCT
grades computed on the CRS and ICANS forms), a death (the DD form), and a refused
chain-of-identity check (EX). Alerts, inbox receipts and mails are written in the same
transaction as the data; mails wait in the outbox (see :mod:`edc.alerts.mail`).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import cache
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale, gettext as _, lazy_gettext as _l
from sqlalchemy import bindparam, func, select

from .. import access
from ..audit.services import Actor, record as audit
from ..crf.values import N_
from ..db import utcnow
from ..errors import NotFound
from ..extensions import db
from .models import AlertReceipt, OutboxMail, SafetyAlert

# The items of the trial's forms that raise alerts (forms/AE.yaml, CRS.yaml, ICANS.yaml,
# DD.yaml, EX.yaml).
SAE_FORM, SAE_ITEM, AWARE_ITEM, TERM_ITEM = "AE", "AESER", "AEAWDAT", "AETERM"
AESI_ITEM = "AESI"
GRADE_ITEMS = {"CRSGRADE": "crs", "ICANSGRADE": "icans"}
GRADE_THRESHOLD = 3
DEATH_FORMS = ("DD",)
COI_CHECKS = ("CHK_CHAIN_OF_IDENTITY",)
#: the roles an alert goes to, at the patient's site
RECIPIENT_ROLES = ("investigator", "safety")
EXPEDITED_HOURS = 24

KIND_LABELS = {
    "sae": N_("Serious adverse event"),
    "crs": N_("Cytokine release syndrome, grade 3 or higher"),
    "icans": N_("ICANS, grade 3 or higher"),
    "death": N_("Death"),
    "coi_refusal": N_("Chain-of-identity refusal"),
}


# ------------------------------------------------------------------ triggers
def _existing(record_id: int, kind: str) -> list[SafetyAlert]:
    return list(db.session.scalars(select(SafetyAlert).where(
        SafetyAlert.record_id == record_id, SafetyAlert.kind == kind)))


def _as_date(v) -> date | None:
    try:
        return date.fromisoformat(str(v)[:10]) if v else None
    except ValueError:
        return None


def alerts_on_save(actor: Actor, patient, rec) -> list[SafetyAlert]:
    """In the caller's transaction, after a record was saved: alert on a serious adverse
    event (once per record), a CRS/ICANS grade ≥ 3 (again when the grade rises), a death
    form (once)."""
    values = rec.values or {}
    out = []
    if rec.form_oid == SAE_FORM and values.get(SAE_ITEM) is True:
        aware = _as_date(values.get(AWARE_ITEM))
        old = _existing(rec.id, "sae")
        if not old:
            out.append(create_alert(actor, patient, "sae", rec, {
                "visit": rec.visit_code, "form": rec.form_oid, "seq": rec.seq,
                "grade": values.get("AETOXGR")}, aware_date=aware))
        elif aware is not None and old[0].aware_date is None:
            old[0].aware_date = aware  # the awareness date entered later starts the clock
    for item, kind in GRADE_ITEMS.items():
        grade = values.get(item)
        if not isinstance(grade, int) or grade < GRADE_THRESHOLD:
            continue
        if any((a.details or {}).get("grade", 0) >= grade for a in _existing(rec.id, kind)):
            continue
        out.append(create_alert(actor, patient, kind, rec, {
            "visit": rec.visit_code, "form": rec.form_oid, "seq": rec.seq, "grade": grade}))
    if rec.form_oid in DEATH_FORMS and not _existing(rec.id, "death"):
        out.append(create_alert(actor, patient, "death", rec, {
            "visit": rec.visit_code, "form": rec.form_oid, "seq": rec.seq,
            "date": values.get("DTHDAT")}))
    return out


def alerts_on_refusal(actor: Actor, patient, form_oid: str, visit_code: str, rec,
                      refusals) -> list[SafetyAlert]:
    """In the caller's transaction: a refused chain-of-identity check."""
    out = []
    for f in refusals:
        if f.check in COI_CHECKS:
            out.append(create_alert(actor, patient, "coi_refusal", rec, {
                "visit": visit_code, "form": form_oid, "check": f.check, "item": f.item}))
    return out


# ------------------------------------------------------------------ creation, delivery
def recipients(site_id: int) -> list:
    from ..auth.models import User
    from ..sites.models import Membership
    return list(db.session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.site_id == site_id, Membership.active.is_(True),
               Membership.role.in_(RECIPIENT_ROLES), User.active.is_(True))
        .distinct().order_by(User.id)))


def create_alert(actor: Actor, patient, kind: str, rec, details: dict, *,
                 aware_date: date | None = None) -> SafetyAlert:
    now = utcnow()
    alert = SafetyAlert(site_id=patient.site_id, patient_id=patient.id,
                        record_id=rec.id if rec is not None else None, kind=kind,
                        details={k: v for k, v in details.items() if v is not None},
                        aware_date=aware_date, created_at=now, created_by=actor.user_id,
                        created_by_name=actor.name)
    db.session.add(alert)
    db.session.flush()
    people = recipients(patient.site_id)
    for user in people:
        db.session.add(AlertReceipt(alert_id=alert.id, user_id=user.id))
        subject, body = render_mail(alert, patient, user)
        db.session.add(OutboxMail(created_at=now, to_addr=user.email, subject=subject,
                                  body=body, alert_id=alert.id, status="pending",
                                  attempts=0, next_attempt_at=now))
    audit("alert.create", actor, site_code=patient.site.code, object_type="alert",
          object_id=alert.id, record_id=alert.record_id,
          new={"kind": kind, "patient": patient.pseudonym, **alert.details,
               "recipients": len(people)})
    return alert


def kind_text(alert: SafetyAlert) -> str:
    return _(KIND_LABELS.get(alert.kind, alert.kind))


def render_mail(alert: SafetyAlert, patient, user) -> tuple[str, str]:
    """Subject and body in the recipient's language. Pseudonyms only: no identifiers."""
    from ..i18n import site_time
    locale = user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(locale):
        site = patient.site
        kind = kind_text(alert)
        subject = _("[MILenARI EDC] Safety alert: %(kind)s, patient %(pid)s",
                    kind=kind, pid=patient.pseudonym)
        lines = [
            _("A safety event was recorded at %(site)s.", site=site.code), "",
            _("Patient: %(pid)s", pid=patient.pseudonym),
            _("Event: %(kind)s", kind=kind),
        ]
        if alert.details.get("grade") is not None:
            lines.append(_("Grade: %(grade)s", grade=alert.details["grade"]))
        if alert.details.get("visit"):
            lines.append(_("Visit: %(visit)s", visit=alert.details["visit"]))
        lines.append(_("Recorded by %(name)s on %(when)s.", name=alert.created_by_name or "",
                       when=site_time(alert.created_at, site)))
        clock = sae_clock(alert.aware_date, site) if alert.kind == "sae" else None
        if clock is not None:
            lines += ["", _("Expedited reporting: the 24-hour clock started when the site "
                            "became aware (%(date)s); report by %(due)s.",
                            date=alert.aware_date.isoformat(),
                            due=site_time(clock["due"], site))]
        elif alert.kind == "sae":
            lines += ["", _("Expedited reporting: enter the date the site became aware of "
                            "the event; the 24-hour clock starts then.")]
        base = current_app.config.get("PUBLIC_URL")
        if base:
            link = "%s/alerts/%d" % (base.rstrip("/"), alert.id)
            lines += ["", _("Open the alert: %(url)s", url=link)]
        lines += ["", _("This message was sent automatically by MILenARI EDC.")]
    return subject, "\n".join(lines) + "\n"


def sae_clock(aware: date | str | None, site, now: datetime | None = None) -> dict | None:
    """The 24-hour expedited-reporting clock of a serious adverse event: it starts at the
    beginning of the day the site became aware (site time; the hour is not recorded, so
    the earliest possible moment) and ends 24 hours later."""
    aware = _as_date(aware) if not isinstance(aware, date) else aware
    if aware is None:
        return None
    start = datetime.combine(aware, time(0, 0), tzinfo=ZoneInfo(site.timezone)) \
        .astimezone(timezone.utc)
    due = start + timedelta(hours=EXPEDITED_HOURS)
    now = now or utcnow()
    left = due - now
    return {"start": start, "due": due, "overdue": left.total_seconds() < 0,
            "hours_left": max(0, int(left.total_seconds() // 3600))}


# ------------------------------------------------------------------ inbox and lists
def _visible_sites(user) -> list[int]:
    return access.sites_with(user, access.ALERT_VIEW)


def unread_count(user) -> int:
    sites = _visible_sites(user)
    if not sites:
        return 0
    return db.session.execute(_unread_statement(), {"uid": user.id, "sites": sites}
                              ).scalar() or 0


@cache
def _unread_statement():
    """Built once: every page shows the count."""
    return select(func.count(AlertReceipt.id)).join(
        SafetyAlert, SafetyAlert.id == AlertReceipt.alert_id).where(
        AlertReceipt.user_id == bindparam("uid"), AlertReceipt.read_at.is_(None),
        SafetyAlert.site_id.in_(bindparam("sites", expanding=True)))


def inbox(user, limit: int = 200) -> list[AlertReceipt]:
    """The user's own alerts (as a recipient), at the sites they still see, newest first."""
    sites = _visible_sites(user)
    if not sites:
        return []
    return list(db.session.scalars(
        select(AlertReceipt).join(SafetyAlert, SafetyAlert.id == AlertReceipt.alert_id)
        .where(AlertReceipt.user_id == user.id, SafetyAlert.site_id.in_(sites))
        .order_by(SafetyAlert.created_at.desc(), SafetyAlert.id.desc()).limit(limit)))


def site_alerts(site_ids: list[int], *, since: datetime | None = None,
                limit: int = 200) -> list[SafetyAlert]:
    if not site_ids:
        return []
    q = select(SafetyAlert).where(SafetyAlert.site_id.in_(site_ids))
    if since is not None:
        q = q.where(SafetyAlert.created_at >= since)
    return list(db.session.scalars(q.order_by(SafetyAlert.created_at.desc(),
                                              SafetyAlert.id.desc()).limit(limit)))


def get_alert(user, alert_id: int) -> SafetyAlert:
    alert = db.session.get(SafetyAlert, alert_id)
    if alert is None or alert.site_id not in _visible_sites(user):
        raise NotFound(_l("Alert not found."))
    return alert


def mark_read(user, alert: SafetyAlert) -> bool:
    rc = db.session.scalars(select(AlertReceipt).where(
        AlertReceipt.alert_id == alert.id, AlertReceipt.user_id == user.id)).first()
    if rc is None or rc.read_at is not None:
        return False
    rc.read_at = utcnow()
    db.session.commit()
    return True


def record_alerts(record_id: int) -> list[SafetyAlert]:
    return list(db.session.scalars(select(SafetyAlert).where(
        SafetyAlert.record_id == record_id).order_by(SafetyAlert.id)))
