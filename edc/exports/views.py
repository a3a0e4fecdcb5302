"""Database lock, snapshots and downloads: thin views over services.py."""
from __future__ import annotations

from flask import (Blueprint, Response, abort, flash, redirect, render_template, request,
                   stream_with_context, url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import access
from ..audit.services import Actor
from ..errors import ServiceError
from . import services
from .forms import ActionForm, LockForm, UnlockForm
from .services import BLOCKER_CATEGORIES

bp = Blueprint("exports", __name__, url_prefix="/exports")


def _actor():
    return Actor.of(current_user, request.remote_addr)


def _blocker_titles():
    return {"open_queries": _("Open queries"), "incomplete_forms": _("Forms not complete"),
            "unsigned_visits": _("Visits not signed"),
            "unverified_forms": _("Forms not source-data verified")}


@bp.route("/")
@login_required
def index():
    snaps = services.list_snapshots(current_user)
    can_lock = services.can_lock(current_user)
    lock = services.active_lock()
    return render_template(
        "exports/index.html", snapshots=snaps, lock=lock, can_lock=can_lock,
        can_working=access.can_anywhere(current_user,
                                                 access.WORKING_EXPORT),
        history=services.lock_history() if can_lock else [],
        unlock_form=UnlockForm(), action_form=ActionForm(),
        retry=can_lock and lock is not None and not any(
            s.status in ("ready", "building") for s in lock.snapshots))


@bp.route("/lock", methods=["GET", "POST"])
@login_required
def lock():
    if not services.can_lock(current_user):
        abort(403)
    if services.active_lock() is not None:
        flash(_("The database is already locked."), "warning")
        return redirect(url_for("exports.index"))
    form = LockForm(request.form if request.method == "POST" else request.args)
    kind = form.kind.data if form.kind.data in ("full", "interim") else "full"
    cutoff = form.cutoff.data if kind == "interim" else None
    if request.method == "POST" and form.validate():
        try:
            _lock, snap = services.lock_database(
                _actor(), kind=kind, name=form.name.data, cutoff=cutoff,
                override_reason=form.override_reason.data, odm_audit=form.odm_audit.data)
        except ServiceError as e:
            flash(str(e), "error")
            return render_template("exports/lock.html", form=form,
                                   blockers=services.blockers(cutoff),
                                   titles=_blocker_titles(),
                                   categories=BLOCKER_CATEGORIES), e.status
        flash(_("The database is locked and snapshot %(name)s is stored.", name=snap.name),
              "success")
        return redirect(url_for("exports.show", name=snap.name))
    return render_template("exports/lock.html", form=form, blockers=services.blockers(cutoff),
                           titles=_blocker_titles(), categories=BLOCKER_CATEGORIES)


@bp.route("/unlock", methods=["POST"])
@login_required
def unlock():
    if not services.can_lock(current_user):
        abort(403)
    form = UnlockForm()
    if not form.validate_on_submit():
        flash(_("Give a reason for unlocking."), "error")
        return redirect(url_for("exports.index"))
    services.unlock_database(_actor(), form.reason.data)
    flash(_("The database is unlocked. The next lock takes a new snapshot version."),
          "success")
    return redirect(url_for("exports.index"))


@bp.route("/retry", methods=["POST"])
@login_required
def retry():
    if not services.can_lock(current_user):
        abort(403)
    ActionForm().validate_on_submit() or abort(400)
    lock = services.active_lock()
    if lock is None:
        abort(409)
    try:
        snap = services.take_snapshot(_actor(), lock)
    except ServiceError as e:
        flash(str(e), "error")
        return redirect(url_for("exports.index"))
    flash(_("Snapshot %(name)s is stored.", name=snap.name), "success")
    return redirect(url_for("exports.show", name=snap.name))


@bp.route("/working", methods=["POST"])
@login_required
def working():
    if not access.can_anywhere(current_user, access.WORKING_EXPORT):
        abort(403)
    ActionForm().validate_on_submit() or abort(400)
    try:
        snap = services.working_export(_actor())
    except ServiceError as e:
        flash(str(e), "error")
        return redirect(url_for("exports.index"))
    flash(_("Working export %(name)s is ready. It is NOT LOCKED: use it for data cleaning "
            "only.", name=snap.name), "warning")
    return redirect(url_for("exports.show", name=snap.name))


@bp.route("/public-key.pem")
@login_required
def public_key():
    return Response(services.public_key_pem(), mimetype="application/x-pem-file",
                    headers={"Content-Disposition":
                             "attachment; filename=milenari-signing-key.pem"})


@bp.route("/<name>/")
@login_required
def show(name):
    snap = services.get_snapshot(current_user, name)
    manifest = services.read_manifest(snap) if snap.status == "ready" else None
    return render_template("exports/snapshot.html", snap=snap, manifest=manifest)


@bp.route("/<name>/files/<filename>")
@login_required
def download(name, filename):
    snap = services.get_snapshot(current_user, name)
    path = services.download_file(_actor(), snap, filename, via="web")
    return file_response(path, filename, _mimetype(filename))


@bp.route("/<name>/zip")
@login_required
def download_zip(name):
    snap = services.get_snapshot(current_user, name)
    chunks = services.download_zip(_actor(), snap, via="web")
    return Response(stream_with_context(chunks), mimetype="application/zip", headers={
        "Content-Disposition": f"attachment; filename={services.zip_name(snap)}"})


def file_response(path, filename: str, mimetype: str) -> Response:
    """A stored file, streamed; the file is closed when the response ends or is
    dropped."""
    def chunks():
        with open(path, "rb") as fh:
            while True:
                chunk = fh.read(1 << 20)
                if not chunk:
                    return
                yield chunk
    return Response(chunks(), mimetype=mimetype, headers={
        "Content-Disposition": f"attachment; filename={filename}",
        "Content-Length": str(path.stat().st_size), "Cache-Control": "no-store"})


def _mimetype(filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower()
    return {"csv": "text/csv", "xml": "application/xml", "json": "application/json",
            "html": "text/html", "pem": "application/x-pem-file",
            "sas": "text/plain"}.get(ext, "application/octet-stream")
