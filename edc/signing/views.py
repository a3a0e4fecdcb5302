"""E-signatures and locks: thin views over edc/signing/services.py and locks.py."""
from __future__ import annotations

from flask import (Blueprint, abort, flash, g, redirect, render_template, request,
                   url_for)
from flask_babel import get_locale, gettext as _
from flask_login import current_user, login_required

from .. import access
from ..audit.services import Actor
from ..crf import catalog as cat
from ..crf.services import get_record
from ..errors import ServiceError
from ..extensions import db
from . import locks, services

bp = Blueprint("signing", __name__, url_prefix="/signing")


def _actor():
    return Actor.of(current_user, request.remote_addr)


def _next(default: str) -> str:
    ref = request.form.get("next") or ""
    return ref if ref.startswith("/") and not ref.startswith("//") else default


def _visit(code: str) -> str | None:
    """URL part → visit code (None: the casebook); 404 for an unknown code."""
    if code == "casebook":
        return None
    sched = cat.catalog().schedule
    if code == "LOG" or sched.visit(code) is not None or \
            (code.startswith("UNS") and code[3:].isdigit()):
        return code
    abort(404)


@bp.route("/<pid>/sign/<visit>", methods=["GET", "POST"])
@login_required
def sign(pid, visit):
    patient = access.get_patient(db.session, current_user, pid, access.SIGN)
    visit_code = _visit(visit)
    status = 200
    if request.method == "POST":
        try:
            services.sign(_actor(), patient, visit_code, request.form.get("password", ""),
                          code=request.form.get("code"), locale=str(get_locale()),
                          expected_hash=request.form.get("data_hash") or None)
        except ServiceError as e:
            if e.status not in (400, 409) or isinstance(e, locks.Locked):
                raise
            db.session.rollback()
            flash(str(e), "error")
            status = 422
        else:
            flash(_("Signed."), "success")
            return redirect(url_for("patients.show", pid=pid) +
                            (f"#visit-{visit_code}" if visit_code else "#casebook"))
    ok, recs = services.signable(patient, visit_code)
    vdef = cat.catalog().schedule.visit(visit_code) if visit_code else None
    sigs = services.patient_signatures(patient).get(visit_code, [])
    return render_template("signing/sign.html", patient=patient, visit_code=visit_code,
                           vdef=vdef, ok=ok, records=recs, meaning=services.MEANING,
                           data_hash=services.data_hash(recs), signatures=sigs,
                           needs_code=services.needs_second_factor(current_user)), status


# ------------------------------------------------------------------ locks
def _reason() -> str | None:
    return (request.form.get("reason") or "").strip() or None


def _do(fn, back):
    try:
        fn()
    except ServiceError as e:
        if e.status not in (400, 409):
            raise
        db.session.rollback()
        flash(str(e), "error")
    return redirect(back)


@bp.route("/<pid>/lock", methods=["POST"])
@login_required
def lock_patient(pid):
    patient = access.get_patient(db.session, current_user, pid, access.LOCK)
    back = _next(url_for("patients.show", pid=pid))
    return _do(lambda: (locks.lock_patient(_actor(), patient, _reason()),
                        flash(_("Patient locked."), "success")), back)


@bp.route("/<pid>/records/<int:rid>/freeze", methods=["POST"])
@login_required
def freeze(pid, rid):
    patient = access.get_patient(db.session, current_user, pid, access.LOCK)
    rec = get_record(_actor(), patient, rid)
    back = _next(url_for("crf.edit", pid=pid, rid=rid))
    return _do(lambda: (locks.freeze_form(_actor(), patient, rec, _reason()),
                        flash(_("Form frozen."), "success")), back)


@bp.route("/site/lock", methods=["POST"])
@login_required
def lock_site():
    if g.site is None or not access.can(current_user, access.LOCK, g.site.id):
        abort(403)
    return _do(lambda: (locks.lock_site(_actor(), g.site, _reason()),
                        flash(_("Site locked."), "success")), url_for("signing.locks_page"))


@bp.route("/locks/<int:lid>/unlock", methods=["POST"])
@login_required
def unlock(lid):
    lk = locks.get_lock(_actor(), lid)
    back = _next(url_for("signing.locks_page"))
    return _do(lambda: (locks.unlock(_actor(), lk, request.form.get("reason", "")),
                        flash(_("Unlocked."), "success")), back)


@bp.route("/locks")
@login_required
def locks_page():
    if g.site is None or not access.can(current_user, access.LOCK, g.site.id):
        abort(403)
    return render_template("signing/locks.html", site=g.site,
                           locks=locks.site_locks(g.site.id, active_only=False))
