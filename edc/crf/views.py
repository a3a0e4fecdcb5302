"""eCRF data entry: thin views over edc/crf/services.py."""
from __future__ import annotations

from flask import (Blueprint, abort, current_app, flash, jsonify, redirect,
                   render_template, request, url_for)
from flask_babel import get_locale, gettext as _
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from .. import access
from ..audit.services import Actor, decode
from ..extensions import db
from ..i18n import per_language, request_tr
from ..queries.services import record_queries
from . import catalog as cat
from . import services, values
from .forms import form_class, missing_label, raw_inputs

bp = Blueprint("crf", __name__, url_prefix="/patients/<pid>")


def _actor():
    return Actor.of(current_user, request.remote_addr)


def _patient(pid, permission=access.CRF_VIEW):
    return access.get_patient(db.session, current_user, pid, permission)


def msg_text(msg) -> str:
    """A translated engine/check message (msgid + params)."""
    params = dict(msg.params or {})
    if params.pop("translate_item", False) and "item" in params:
        params["item"] = _(params["item"])
    text = _(msg.msgid)
    return text % params if params else text


def _initial(form, rec, tz):
    data = MultiDict()
    if rec is None:
        return data
    for item in form.entered:
        v = values.to_input(item, rec.values.get(item.name), tz)
        if isinstance(v, list):
            for x in v:
                data.add(item.name, x)
        else:
            data[item.name] = v
        m = rec.missing.get(item.name)
        if m:
            data[f"{item.name}__mc"] = m["code"]
            data[f"{item.name}__mr"] = m["reason"]
    data["row_version"] = str(rec.row_version)
    return data


def _render(patient, form, visit_code, rec, formdata, *, result=None, stale=None,
            status=200):
    tz = services.site_zone(patient)
    wtf = form_class(form)(formdata)
    derived_vals = dict(rec.values) if rec is not None and result is None else \
        (result.values if result is not None else {})
    queries = record_queries([rec.id]) if rec is not None else []
    by_item = {}
    for q in queries:
        by_item.setdefault(q.item, []).append(q)
    refs = services.references(form, patient, rec)
    can_edit = access.can(current_user, access.CRF_EDIT, patient.site_id)
    from ..queries.services import ACTIVE
    from ..queries.sdv import marks as sdv_marks
    from .record_status import NOT_STARTED, read_covers, record_states
    # what covers the record and its patient, and its SDV marks: read once for its icon
    # and the monitoring panel
    covers = read_covers([rec] if rec is not None else [], sites=[patient.site_id],
                         patients=[patient.id])
    marks = sdv_marks([rec.id]) if rec is not None else {}
    # the record's queries are loaded above: its open ones counted from them
    rec_state = NOT_STARTED if rec is None else record_states(
        [rec], open_counts={rec.id: sum(q.status in ACTIVE for q in queries)},
        covers=covers, marks=marks).get(rec.id) if rec.status in services.LIVE else None
    return render_template(
        "crf/form.html", patient=patient, form=form, visit_code=visit_code, rec=rec,
        rec_state=rec_state, unsaved=result is not None or stale is not None,
        wtf=wtf, result=result, stale=stale, derived_vals=derived_vals,
        queries=by_item, covers=covers, marks=marks, refs=refs, can_edit=can_edit,
        msg_text=msg_text,
        missing_label=missing_label, tz=tz, tr=request_tr(),
        visit=cat.catalog().schedule.visit(visit_code)), status


@bp.route("/forms/<visit>/<oid>", methods=["GET", "POST"])
@login_required
def new(pid, visit, oid):
    patient = _patient(pid)
    form = cat.current(oid)
    if form is None or not services.visit_allows(patient, visit, form):
        abort(404)
    if request.method == "GET" and not form.repeating:
        existing = services.live_record_id(patient, visit, oid)
        if existing is not None:
            return redirect(url_for("crf.edit", pid=pid, rid=existing))
    if request.method == "GET":
        if not access.can(current_user, access.CRF_EDIT, patient.site_id):
            abort(403)
        return _render(patient, form, visit, None, MultiDict())
    return _save(patient, form, visit, None)


@bp.route("/records/<int:rid>", methods=["GET", "POST"])
@login_required
def edit(pid, rid):
    patient = _patient(pid)
    rec = services.get_record(_actor(), patient, rid)
    form = cat.form_version(rec.form_oid, rec.form_version)
    if request.method == "GET":
        return _render(patient, form, rec.visit_code, rec,
                       _initial(form, rec, services.site_zone(patient)))
    return _save(patient, form, rec.visit_code, rec)


def _save(patient, form, visit, rec):
    if not access.can(current_user, access.CRF_EDIT, patient.site_id):
        abort(403)
    raw, missing = raw_inputs(form, request.form)
    try:
        row_version = int(request.form.get("row_version") or 0) or None
    except ValueError:
        abort(400)
    complete = request.form.get("action") == "complete"
    # Resolve the user's language now: after the save's commit the user row is expired,
    # and translating the message below would load it again.
    get_locale()
    pid = patient.pseudonym
    out = services.save(_actor(), patient, visit, form.oid,
                        record_id=rec.id if rec else None, row_version=row_version,
                        raw=raw, raw_missing=missing, complete=complete,
                        reason=request.form.get("reason"))
    if out.stale:
        data = MultiDict(request.form)
        data["row_version"] = str(out.stale["row_version"])
        return _render(patient, form, visit, out.record, data, stale=out.stale, status=409)
    if out.result.refusals:
        return _render(patient, form, visit, rec, request.form, result=out.result,
                       status=422)
    if not out.saved:
        return _render(patient, form, visit, rec, request.form, result=out.result,
                       status=422)
    if out.result.queries:
        flash(_("Saved. Some values raised queries: please check them."), "warning")
    else:
        flash(_("Saved."), "success")
    return redirect(url_for("crf.edit", pid=pid, rid=out.record_id))


@bp.route("/forms/<visit>/<oid>/derive", methods=["POST"])
@bp.route("/records/<int:rid>/derive", methods=["POST"])
@login_required
def derive(pid, visit=None, oid=None, rid=None):
    """Live derivation while typing: the same engine as the save, nothing stored."""
    patient = _patient(pid)
    rec = services.get_record(_actor(), patient, rid) if rid else None
    form = cat.form_version(rec.form_oid, rec.form_version) if rec else cat.current(oid)
    if form is None:
        abort(404)
    raw, missing = raw_inputs(form, request.form)
    res = services.evaluate(form, patient, rec, raw, missing, complete=False)
    return jsonify({
        "derived": {i.name: res.values.get(i.name) for i in form.derived},
        "display": {i.name: _display(i, res.values.get(i.name)) for i in form.derived},
        "visible": res.visible,
        "errors": [msg_text(m) for m in res.form_errors],
    })


def _display(item, value):
    if value is None:
        return ""
    if item.type == "boolean":
        return _("Yes") if value else _("No")
    if item.codelist:
        label = item.label_of(value)
        return _(label) if label else str(value)
    if item.type == "decimal":
        from ..i18n import show_number
        return show_number(value)
    return str(value)


@bp.route("/records/<int:rid>/history/<item>")
@login_required
def history(pid, rid, item):
    patient = _patient(pid, access.AUDIT_VIEW)
    rec = services.get_record(_actor(), patient, rid)
    form = cat.form_version(rec.form_oid, rec.form_version)
    if item not in form.items:
        abort(404)
    events = services.item_history(patient, rec, item)
    return render_template("crf/history.html", patient=patient, rec=rec, form=form,
                           item=form.items[item], events=events, decode=decode,
                           missing_label=missing_label)


STATUS_LABELS = {
    "not_started": values.N_("Not started"),
    "in_progress": values.N_("In progress"),
    "complete": values.N_("Complete"),
    "removed": values.N_("Removed"),
}


def query_text(q) -> str:
    if q.kind == "auto":
        text = _(q.message)
        return text % q.params if q.params else text
    return q.message


def audit_value(v, item=None) -> str:
    if v is None:
        return "—"
    if isinstance(v, dict) and "missing" in v:
        return f"{missing_label(v['missing'])}: {v.get('reason', '')}"
    if isinstance(v, bool):
        return _("Yes") if v else _("No")
    if isinstance(v, list):
        return ", ".join(str(x) for x in v)
    if item is not None and item.type == "decimal":
        from ..i18n import show_number
        return show_number(v)
    return str(v)


def summary_value(row) -> str:
    """One clinical-summary value as shown: labels translated, units, study days."""
    item, value = row["item"], row["value"]
    if value is None or value == []:
        text = "—"
    elif isinstance(value, list):
        text = ", ".join(_display_one(item, v) for v in value)
    else:
        text = _display_one(item, value)
    if row.get("onset") is not None:
        text += " · " + _("onset day %(d)s", d=row["onset"])
        text += " · " + (_("resolved day %(d)s", d=row["resolution"])
                         if row.get("resolution") is not None else _("not resolved"))
    return text


def _display_one(item, value) -> str:
    from ..i18n import show_date
    if item.type == "date":
        return show_date(value)
    text = _display(item, value)
    return f"{text} {item.unit}" if item.unit and item.type in ("integer", "decimal") \
        else text


@bp.app_context_processor
def _crf_context():
    # runs for every template: the names are translated once per language, the titles
    # listed once per catalogue
    catalog = cat.catalog()
    kept = current_app.extensions.get("edc_form_titles")
    if kept is None or kept[0] is not catalog:
        kept = current_app.extensions["edc_form_titles"] = (
            catalog, {oid: f.title for oid, f in catalog.forms.items()})
    names = per_language("crf_status_names", lambda t: (
        {k: t.ugettext(v) for k, v in STATUS_LABELS.items()},
        {k: t.ugettext(v) for k, v in VISIT_STATUS_LABELS.items()}))
    return {"crf_status_names": names[0],
            "derived_display": _display, "query_text": query_text,
            "audit_value": audit_value, "summary_value": summary_value,
            "form_titles": kept[1],
            "schedule_forms": catalog.forms,
            "visit_status_names": names[1]}


VISIT_STATUS_LABELS = {
    "not_due": values.N_("Not due"),
    "due": values.N_("Due"),
    "overdue": values.N_("Overdue"),
    "in_progress": values.N_("In progress"),
    "complete": values.N_("Complete"),
    "pending_anchor": values.N_("Date not yet known"),
}
