from flask import (Blueprint, abort, current_app, flash, g, redirect, render_template,
                   request, url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import access
from ..audit.services import Actor
from ..errors import ServiceError
from ..extensions import db
from ..web import refused
from . import services
from .forms import LookupForm, RegisterForm

bp = Blueprint("patients", __name__, url_prefix="/patients")


def _actor():
    return Actor.of(current_user, request.remote_addr)


def _site_or_403(permission):
    if g.site is None or not access.can(current_user, permission, g.site.id):
        abort(403)
    return g.site


@bp.route("/")
@login_required
def index():
    site = _site_or_403(access.PATIENT_VIEW)
    from ..i18n import request_show_date, translated
    return render_template("patients/list.html", site=site, date_text=request_show_date(),
                           patients=services.list_for_site(_actor(), site.id),
                           lookup=LookupForm(request.args),
                           status_names=translated(services.STATUS_LABELS),
                           sex_names=translated(services.SEX_LABELS),
                           # a pseudonym (pseudonym.PATTERN: A-Z, 0-9, "-") needs no
                           # quoting: the link is this + the pseudonym
                           patient_url=url_for("patients.show", pid="X")[:-1])


@bp.route("/lookup")
@login_required
def lookup():
    form = LookupForm(request.args)
    if not access.can_anywhere(current_user, access.PATIENT_VIEW):
        abort(403)
    if form.validate():
        try:
            patient = services.lookup(_actor(), form.q.data)
        except ServiceError as e:
            if e.status == 404:
                raise
            flash(str(e), "error")
        else:
            return redirect(url_for("patients.show", pid=patient.pseudonym))
    return redirect(url_for("patients.index"))


@bp.route("/register", methods=["GET", "POST"])
@login_required
def register():
    site = _site_or_403(access.PATIENT_REGISTER)
    form = RegisterForm()
    if form.validate_on_submit():
        idents = {"full_name": form.full_name.data, "mrn": form.mrn.data,
                  "birth_date": form.birth_date.data.isoformat()
                  if form.birth_date.data else None}
        try:
            patient = services.register(site, _actor(), birth_year=form.birth_year.data,
                                        sex=form.sex.data,
                                        registered_on=form.registered_on.data,
                                        identifiers=idents)
        except ServiceError as e:
            flash(str(e), "error")
        else:
            flash(_("Patient registered: %(pid)s", pid=patient.pseudonym), "success")
            return redirect(url_for("patients.show", pid=patient.pseudonym))
    status = 422 if request.method == "POST" else 200
    return render_template("patients/register.html", form=form, site=site), status


# a pseudonym that url_for writes as is (letters and digits), replaced by the patient's
_PID = "PID0PLACEHOLDER"


def _new_form_link(pid: str):
    """``url_for("crf.new", pid=pid, visit=…, oid=…)`` for the page's links to new forms
    (one per form slot of every visit): url_for writes each visit/form link once per app,
    for a placeholder patient, and the page puts its patient in. A pseudonym
    (pseudonym.PATTERN: A-Z, 0-9, "-") is written in a URL as it is."""
    cache = current_app.extensions.setdefault("edc_new_form_links", {})
    root = request.script_root

    def link(visit: str, oid: str) -> str:
        key = (root, visit, oid)
        url = cache.get(key)
        if url is None:
            if len(cache) > 10000:
                cache.clear()
            url = cache[key] = url_for("crf.new", pid=_PID, visit=visit, oid=oid)
        return url.replace(_PID, pid, 1)
    return link


@bp.route("/<pid>")
@login_required
def show(pid):
    patient = access.get_patient(db.session, current_user, pid)
    idents = None
    if access.can(current_user, access.IDENTIFIERS_VIEW, patient.site_id):
        idents = services.identifiers(patient, _actor())
    from ..crf import catalog as cat
    from ..crf.record_status import icons_once, read_covers, record_states, slot_state
    from ..queries.services import patient_counts
    from ..schedule import services as schedule
    records = schedule.records_by_patient([patient.id])[patient.id]
    visits = schedule.patient_timeline(patient, records)
    by_key: dict = {}
    for r in records:
        by_key.setdefault((r.visit_code, r.form_oid), []).append(r)
    sched = cat.catalog().schedule
    unscheduled = sorted({r.visit_code for r in records if r.visit_code.startswith("UNS")},
                         key=lambda c: int(c[3:]))
    blockers = services.enrolment_blockers(patient, records) \
        if patient.status == "screening" else []
    # read once for the icons and the monitoring panel
    qcounts = patient_counts(patient.id)
    covers = read_covers(records, sites=[patient.site_id], patients=[patient.id])
    from ..i18n import request_show_date, request_tr
    return render_template("patients/show.html", patient=patient, identifiers=idents,
                           tr=request_tr(), date_text=request_show_date(),
                           new_form_url=_new_form_link(patient.pseudonym),
                           # a record's link is this + its id (an integer: nothing to
                           # quote), instead of url_for once per record
                           record_url=url_for("crf.edit", pid=patient.pseudonym, rid=0)[:-1],
                           blockers=blockers,
                           summary=schedule.patient_summary(patient, records),
                           visits=visits, records=records, by_key=by_key, schedule=sched,
                           unscheduled=unscheduled,
                           next_unscheduled=f"UNS{len(unscheduled) + 1}",
                           query_counts=qcounts.by_record, patient_queries=qcounts,
                           covers=covers,
                           form_states=record_states(records, open_counts=qcounts.by_record,
                                                     covers=covers),
                           slot_state=slot_state, icons_once=icons_once)


@bp.route("/<pid>/enrol", methods=["POST"])
@login_required
def enrol(pid):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from ..schedule import services as schedule
    patient = access.get_patient(db.session, current_user, pid, access.PATIENT_REGISTER)
    records = schedule.records_by_patient([patient.id])[patient.id]
    try:
        services.enrol(_actor(), patient, records,
                       datetime.now(ZoneInfo(patient.site.timezone)).date())
    except ServiceError as e:
        return refused(e, url_for("patients.show", pid=patient.pseudonym))
    flash(_("Patient enrolled."), "success")
    return redirect(url_for("patients.show", pid=patient.pseudonym))
