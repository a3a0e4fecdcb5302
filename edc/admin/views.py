"""User administration: list, roles per site, account actions. Thin: edc.admin.services
decides what the administrator may do."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import access
from ..audit.services import Actor
from ..errors import ServiceError
from . import services
from .forms import ActionForm, GrantByEmailForm, RevokeForm, RoleForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _actor() -> Actor:
    return Actor.of(current_user, request.remote_addr)


def _role_form(form_cls, sites, **kw):
    form = form_cls(**kw)
    form.site.choices = [(s.code, f"{s.code} — {s.name}") for s in sites]
    form.role.choices = [(r, access.ROLE_LABELS[r]) for r in access.ROLES]
    return form


@bp.route("/users")
@login_required
def users():
    sites = services.require_admin(current_user)
    return render_template("admin/users.html", rows=services.user_rows(current_user),
                           sites=sites, form=_role_form(GrantByEmailForm, sites))


@bp.route("/users/grant", methods=["POST"])
@login_required
def grant_by_email():
    sites = services.require_admin(current_user)
    form = _role_form(GrantByEmailForm, sites)
    if not form.validate_on_submit():
        abort(400)
    try:
        user = services.grant_by_email(current_user, form.email.data, form.site.data,
                                       form.role.data, _actor())
    except ServiceError as e:
        flash(str(e), "error")
        return redirect(url_for("admin.users"))
    flash(_("Role granted."), "success")
    return redirect(url_for("admin.user", user_id=user.id))


@bp.route("/users/<int:user_id>")
@login_required
def user(user_id: int):
    sites = services.require_admin(current_user)
    row = services.user_row(current_user, user_id)
    return render_template("admin/user.html", row=row, sites=sites,
                           grant_form=_role_form(RoleForm, sites), action=ActionForm(),
                           revoke=RevokeForm())


def _do(user_id: int, fn, done: str, form_cls=ActionForm):
    services.require_admin(current_user)
    form = form_cls()
    if not form.validate_on_submit():
        abort(400)
    try:
        fn(form)
    except ServiceError as e:
        flash(str(e), "error")
    else:
        flash(done, "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.route("/users/<int:user_id>/grant", methods=["POST"])
@login_required
def grant(user_id: int):
    sites = services.require_admin(current_user)
    form = _role_form(RoleForm, sites)
    if not form.validate_on_submit():
        abort(400)
    try:
        services.grant(current_user, user_id, form.site.data, form.role.data, _actor())
    except ServiceError as e:
        flash(str(e), "error")
    else:
        flash(_("Role granted."), "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.route("/users/<int:user_id>/revoke", methods=["POST"])
@login_required
def revoke(user_id: int):
    return _do(user_id, lambda f: services.revoke(current_user, user_id, f.site.data,
                                                  f.role.data, _actor()),
               _("Role revoked."), RevokeForm)


@bp.route("/users/<int:user_id>/disable", methods=["POST"])
@login_required
def disable(user_id: int):
    return _do(user_id, lambda f: services.disable(current_user, user_id, _actor()),
               _("The account is disabled: the user cannot log in any more."))


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
@login_required
def unlock(user_id: int):
    return _do(user_id, lambda f: services.unlock(current_user, user_id, _actor()),
               _("The account is unlocked."))


@bp.route("/users/<int:user_id>/reset-mfa", methods=["POST"])
@login_required
def reset_mfa(user_id: int):
    return _do(user_id, lambda f: services.reset_mfa(current_user, user_id, _actor()),
               _("Two-step log-in is reset: the user sets it up again at the next "
                 "log-in."))


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
@login_required
def reset_password(user_id: int):
    services.require_admin(current_user)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        temp = services.reset_password(current_user, user_id, _actor())
    except ServiceError as e:
        flash(str(e), "error")
        return redirect(url_for("admin.user", user_id=user_id))
    row = services.user_row(current_user, user_id)
    return render_template("admin/temp_password.html", row=row, password=temp)
