"""The read-only JSON API (token-authenticated, exempt from CSRF) and the page where a
user manages their API tokens (session-authenticated, CSRF-protected)."""
from __future__ import annotations

from flask import (Blueprint, Response, flash, g, jsonify, redirect, render_template,
                   request, stream_with_context, url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from .. import access
from ..audit.services import Actor
from ..auth.ratelimit import RateLimited
from ..errors import Forbidden, NotFound, ServiceError
from ..extensions import db
from . import schemas, services
from .openapi import document

bp = Blueprint("api", __name__, url_prefix="/api")
tokens_bp = Blueprint("api_tokens", __name__, url_prefix="/account/api-tokens")


# ---------------------------------------------------------------- JSON plumbing
def _error(status: int, code: str, message) -> Response:
    resp = jsonify({"error": code, "message": str(message)})
    resp.status_code = status
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="MILenARI EDC"'
    return resp


CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 409: "conflict", 429: "too_many_requests",
         500: "internal_error"}


@bp.errorhandler(ServiceError)
def _service_error(e: ServiceError):
    return _error(e.status, CODES.get(e.status, "error"), e)


@bp.errorhandler(RateLimited)
def _rate_limited(e: RateLimited):
    resp = _error(429, "too_many_requests", e)
    resp.headers["Retry-After"] = str(e.retry_after)
    return resp


@bp.errorhandler(HTTPException)
def _http_error(e: HTTPException):
    return _error(e.code or 500, CODES.get(e.code, "error"), e.description or e.name)


@bp.before_app_request
def _routing_errors():
    """An unknown path or a wrong method under /api/ is refused by the URL map before the
    blueprint is known, so its own error handlers never see it: answer in JSON here."""
    e = request.routing_exception
    if e is None or not (request.path == "/api" or request.path.startswith("/api/")) or \
            getattr(e, "code", None) not in (404, 405):
        return None
    from ..web import ERROR_TEXTS
    resp = _error(e.code, CODES[e.code], ERROR_TEXTS[e.code])
    if e.code == 405 and getattr(e, "valid_methods", None):
        resp.headers["Allow"] = ", ".join(e.valid_methods)
    return resp


@bp.before_request
def _authenticate():
    if request.endpoint in ("api.openapi", "api.not_found"):
        return None
    user = services.authenticate(request.headers.get("Authorization"), request.remote_addr)
    if user is None:
        return _error(401, "unauthorized", services.BAD_TOKEN)
    g.api_user = user
    return None


@bp.after_request
def _no_store(resp: Response) -> Response:
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _user():
    return g.api_user


def _actor() -> Actor:
    return Actor.of(_user(), request.remote_addr)


def _dump(schema_cls, data) -> Response:
    return jsonify(schema_cls().dump(data))


# ---------------------------------------------------------------- documents
@bp.route("/openapi.json")
def openapi():
    return jsonify(document())


@bp.route("/<path:rest>")
def not_found(rest):
    return _error(404, "not_found", _l("There is nothing here."))


# ---------------------------------------------------------------- snapshots
def _snapshot_dict(snap, manifest=None) -> dict:
    out = {"name": snap.name, "kind": snap.kind, "locked": snap.kind == "locked",
           "version": snap.version, "status": snap.status, "as_of": snap.as_of,
           "cutoff": snap.cutoff, "sites": list(snap.site_codes or []),
           "file_count": snap.file_count, "total_bytes": snap.total_bytes,
           "manifest_sha256": snap.manifest_sha256}
    if manifest is not None:
        out.update(records=manifest["records"], item_values=manifest["item_values"],
                   record_counts=manifest["record_counts"], files=manifest["files"])
    return out


@bp.route("/v1/snapshots")
def snapshots():
    from ..exports import services as ex
    return _dump(schemas.SnapshotListSchema, {"snapshots": [
        _snapshot_dict(s) for s in ex.list_snapshots(_user())]})


def _ready_snapshot(name: str):
    from ..exports import services as ex
    snap = ex.get_snapshot(_user(), name)
    if snap.status != "ready":
        raise NotFound(_l("Snapshot not found."))
    return snap


@bp.route("/v1/snapshots/<name>")
def snapshot(name):
    from ..exports import services as ex
    snap = _ready_snapshot(name)
    return _dump(schemas.SnapshotDetailSchema, _snapshot_dict(snap, ex.read_manifest(snap)))


@bp.route("/v1/snapshots/<name>/files/<filename>")
def snapshot_file(name, filename):
    from ..exports import services as ex
    snap = _ready_snapshot(name)
    from ..exports.views import file_response
    path = ex.download_file(_actor(), snap, filename, via="api")
    return file_response(path, filename, "application/octet-stream")


@bp.route("/v1/snapshots/<name>/zip")
def snapshot_zip(name):
    from ..exports import services as ex
    snap = _ready_snapshot(name)
    chunks = ex.download_zip(_actor(), snap, via="api")
    return Response(stream_with_context(chunks), mimetype="application/zip", headers={
        "Content-Disposition": f"attachment; filename={ex.zip_name(snap)}"})


@bp.route("/v1/public-key")
def public_key():
    from ..exports import services as ex
    return Response(ex.public_key_pem(), mimetype="application/x-pem-file")


# ---------------------------------------------------------------- live data
@bp.route("/v1/sites")
def sites():
    ids = access.sites_with(_user(), access.PATIENT_VIEW)
    if not ids:
        raise Forbidden(_l("You are not allowed to do this."))
    from ..sites.models import Site
    rows = db.session.scalars(select(Site).where(Site.id.in_(ids)).order_by(Site.code))
    return _dump(schemas.SiteListSchema, {"sites": [
        {"code": x.code, "name": x.name, "country": x.country, "timezone": x.timezone}
        for x in rows]})


def _patient_dict(p) -> dict:
    return {"pseudonym": p.pseudonym, "site": p.site.code, "status": p.status,
            "sex": p.sex, "birth_year": p.birth_year, "registered_on": p.registered_on,
            "enrolled_on": p.enrolled_on}


@bp.route("/v1/sites/<code>/patients")
def site_patients(code):
    from ..patients.models import Patient
    from ..sites.models import Site
    site = db.session.scalars(select(Site).where(Site.code == code)).first()
    if site is None or not access.can(_user(), access.PATIENT_VIEW, site.id):
        raise NotFound(_l("Site not found."))
    rows = db.session.scalars(access.patient_query(_user()).where(Patient.site_id == site.id)
                              .order_by(Patient.seq))
    return _dump(schemas.PatientListSchema, {"patients": [_patient_dict(p) for p in rows]})


@bp.route("/v1/patients/<pid>")
def patient(pid):
    p = access.get_patient(db.session, _user(), pid)
    return _dump(schemas.PatientSchema, _patient_dict(p))


def _record_dicts(patient, records) -> list[dict]:
    from ..queries.models import SdvMark
    from ..queries.sdv import record_verified
    from ..queries.services import open_counts
    from ..signing.locks import active_locks
    from ..signing.models import Signature
    ids = [r.id for r in records]
    counts = open_counts(ids)
    marks: dict[int, dict] = {}
    if ids:
        for m in db.session.scalars(select(SdvMark).where(SdvMark.record_id.in_(ids))
                                    .order_by(SdvMark.id)):
            marks.setdefault(m.record_id, {})[m.item] = m
    sigs = list(db.session.execute(select(Signature.scope, Signature.visit_code).where(
        Signature.patient_id == patient.id, Signature.status == "valid")))
    casebook = any(scope == "casebook" for scope, _v in sigs)
    signed = {v for scope, v in sigs if scope == "visit"}
    patient_locked = any(lk.scope in ("site", "patient") for lk in active_locks(patient))
    frozen_ids = set()
    if not patient_locked:
        from ..signing.models import DataLock
        frozen_ids = set(db.session.scalars(select(DataLock.record_id).where(
            DataLock.record_id.in_(ids), DataLock.active.is_(True)))) if ids else set()
    out = []
    for r in records:
        out.append({
            "id": r.id, "visit": r.visit_code, "form": r.form_oid,
            "form_version": r.form_version, "seq": r.seq, "status": r.status,
            "values": dict(r.values or {}),
            "missing": {k: {"code": m.get("code"), "reason": m.get("reason")}
                        for k, m in (r.missing or {}).items()},
            "open_queries": counts.get(r.id, 0),
            "sdv_verified": record_verified(r, marks.get(r.id, {})),
            "visit_signed": casebook or r.visit_code in signed,
            "frozen": patient_locked or r.id in frozen_ids,
            "updated_at": r.updated_at, "row_version": r.row_version})
    return out


@bp.route("/v1/patients/<pid>/records")
def records(pid):
    from ..crf.services import patient_records
    p = access.get_patient(db.session, _user(), pid, access.CRF_VIEW)
    return _dump(schemas.RecordListSchema,
                 {"records": _record_dicts(p, patient_records(p))})


@bp.route("/v1/patients/<pid>/records/<int:rid>")
def record(pid, rid):
    from ..crf.models import FormRecord
    from ..crf.services import LIVE
    p = access.get_patient(db.session, _user(), pid, access.CRF_VIEW)
    rec = db.session.get(FormRecord, rid)  # rid fits an INTEGER (web.register_converters)
    if rec is None or rec.patient_id != p.id or rec.status not in LIVE:
        raise NotFound(_l("Record not found."))
    return _dump(schemas.RecordSchema, _record_dicts(p, [rec])[0])


# ---------------------------------------------------------------- token pages
@tokens_bp.route("/", methods=["GET", "POST"])
@login_required
def tokens():
    from .forms import TokenForm
    form = TokenForm()
    new_token = None
    if form.validate_on_submit():
        try:
            _row, new_token = services.create_token(
                Actor.of(current_user, request.remote_addr), form.name.data, form.days.data)
        except ServiceError as e:
            flash(str(e), "error")
        else:
            form = TokenForm(formdata=None)
    from ..db import utcnow
    status = 422 if request.method == "POST" and new_token is None else 200
    return render_template("api/tokens.html", form=form, new_token=new_token,
                           tokens=services.list_tokens(current_user), now=utcnow(),
                           revoke_form=TokenForm(formdata=None)), status


@tokens_bp.route("/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke(token_id):
    services.revoke(Actor.of(current_user, request.remote_addr), token_id)
    flash(_("The token is revoked: it no longer works."), "success")
    return redirect(url_for("api_tokens.tokens"))
