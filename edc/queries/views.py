"""Queries and SDV: thin views over edc/queries/services.py and sdv.py."""
from __future__ import annotations

from flask import (Blueprint, abort, flash, g, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import access
from ..audit.services import Actor
from ..crf import catalog as cat
from ..crf.services import get_record
from ..crf.values import N_
from ..errors import ServiceError
from ..extensions import db
from ..labels import Translated
from ..patients.models import Patient
from ..sites.models import Site
from ..web import refused
from . import sdv, services
from .models import QUERY_STATES

bp = Blueprint("queries", __name__, url_prefix="/queries")

THREAD_ACTIONS = {
    "raise": N_("raised"), "answer": N_("answered"), "close": N_("closed"),
    "reopen": N_("re-opened"), "cancel": N_("cancelled"),
    "data_changed": N_("data changed"), "corrected": N_("data corrected"),
}
ACTION_LABELS = {
    "answer": N_("Your answer"), "close": N_("Comment (optional)"),
    "reopen": N_("Why re-open it?"), "cancel": N_("Reason for cancelling"),
}
DONE = {
    "answer": N_("Query answered."), "close": N_("Query closed."),
    "reopen": N_("Query re-opened."), "cancel": N_("Query cancelled."),
}
ACTION_BUTTONS = {
    "answer": N_("Answer"), "close": N_("Close the query"), "reopen": N_("Re-open"),
    "cancel": N_("Cancel the query"),
}


@bp.app_context_processor
def _queries_context():
    return {"thread_actions": Translated(THREAD_ACTIONS),
            "action_labels": Translated(ACTION_LABELS),
            "action_buttons": Translated(ACTION_BUTTONS),
            "query_state_names": Translated(services.STATE_LABELS),
            "message_text": message_text}


def message_text(m) -> str:
    """A thread message: the engine's messages are msgids (translated), people's are not."""
    if m.role == "system" or m.action == "corrected":
        text = _(m.text)
        return text % m.params if m.params else text
    return m.text


def _actor():
    return Actor.of(current_user, request.remote_addr)


def _next(default: str) -> str:
    ref = request.form.get("next") or request.args.get("next") or ""
    return ref if ref.startswith("/") and not ref.startswith("//") else default


def _filters() -> dict:
    a = request.args
    state = a.get("state", "active")
    return {"state": state if state in QUERY_STATES + ("active", "all") else "active",
            "age": a.get("age") or None, "form": (a.get("form") or "").upper() or None,
            "visit": (a.get("visit") or "").upper() or None,
            "patient": (a.get("patient") or "").strip() or None}


def _list(site_ids, title, *, mine=False, raised_by=None):
    f = _filters()
    rows = services.list_queries(site_ids, state=None if f["state"] == "all" else f["state"],
                                 age=f["age"], form=f["form"], visit=f["visit"],
                                 patient=f["patient"], raised_by=raised_by)
    sites = {s.id: s for s in db.session.scalars(select(Site).where(Site.id.in_(site_ids)))}
    return render_template("queries/list.html", rows=rows, filters=f, title=title,
                           mine=mine, sites=sites, age_days=services.age_days,
                           age_bands=services.AGE_BANDS,
                           state_labels=services.STATE_LABELS,
                           forms=sorted(cat.catalog().forms),
                           visits=[v.code for v in cat.catalog().schedule.visits] +
                           ["LOG"])


@bp.route("/")
@login_required
def index():
    """The queries of the current site, with filters."""
    if g.site is None or not access.can(current_user, access.CRF_VIEW, g.site.id):
        abort(403)
    return _list([g.site.id], _("Queries at %(site)s", site=g.site.name))


@bp.route("/mine")
@login_required
def mine():
    """A monitor's (or data manager's) queries across every site they are assigned to."""
    site_ids = access.sites_with(current_user, access.QUERY_MANAGE)
    if not site_ids:
        abort(403)
    raised = current_user.id if request.args.get("raised") == "me" else None
    return _list(site_ids, _("My queries"), mine=True, raised_by=raised)


def _query_and_patient(qid):
    q = services.get_query(current_user, qid)
    patient = db.session.get(Patient, q.patient_id)
    return q, patient


@bp.route("/<int:qid>")
@login_required
def show(qid):
    q, patient = _query_and_patient(qid)
    rec = q.record
    form = cat.form_version(rec.form_oid, rec.form_version)
    return render_template("queries/show.html", q=q, patient=patient, rec=rec, form=form,
                           actions=services.allowed_actions(current_user, q),
                           state_labels=services.STATE_LABELS,
                           age=services.age_days(q))


@bp.route("/<int:qid>/<action>", methods=["POST"])
@login_required
def act(qid, action):
    q, patient = _query_and_patient(qid)
    back = _next(url_for("queries.show", qid=q.id))
    try:
        services.transition(_actor(), patient, q, action, request.form.get("text"))
    except ServiceError as e:
        return refused(e, back)
    flash(_(DONE[action]), "success")
    return redirect(back)


@bp.route("/raise/<pid>/<int:rid>", methods=["POST"])
@login_required
def raise_query(pid, rid):
    patient = access.get_patient(db.session, current_user, pid, access.QUERY_MANAGE)
    rec = get_record(_actor(), patient, rid)
    back = _next(url_for("crf.edit", pid=pid, rid=rid))
    try:
        q = services.raise_query(_actor(), patient, rec, request.form.get("item", ""),
                                 request.form.get("text"))
    except ServiceError as e:
        return refused(e, back)
    flash(_("Query raised."), "success")
    return redirect(back + f"#f-{q.item}" if "#" not in back else back)


@bp.route("/sdv/<pid>/<int:rid>", methods=["POST"])
@login_required
def verify(pid, rid):
    patient = access.get_patient(db.session, current_user, pid, access.SDV)
    rec = get_record(_actor(), patient, rid)
    items = None if request.form.get("whole") else request.form.getlist("item")
    back = _next(url_for("crf.edit", pid=pid, rid=rid))
    try:
        n = sdv.verify(_actor(), patient, rec, items)
    except ServiceError as e:
        return refused(e, back)
    flash(_("Verified against source: %(n)d items.", n=n), "success")
    return redirect(back)


@bp.route("/sdv")
@login_required
def sdv_progress():
    """SDV progress of a site (``?site=CODE``, default the current one), per patient."""
    site = g.site
    code = (request.args.get("site") or "").upper()
    if code:
        site = db.session.scalars(select(Site).where(Site.code == code)).first()
    if site is None or not access.can(current_user, access.CRF_VIEW, site.id):
        abort(404 if code else 403)
    per_site, per_patient = sdv.progress([site.id])
    patients = list(db.session.scalars(access.patient_query(current_user).where(
        Patient.site_id == site.id).order_by(Patient.seq)))
    return render_template("queries/sdv.html", site=site, total=per_site[site.id],
                           patients=patients, per_patient=per_patient,
                           empty=sdv.Progress())
