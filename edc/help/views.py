"""The help pages (/help), and the template context of the form status icons."""
from __future__ import annotations

from flask import Blueprint, abort, g, render_template
from flask_login import current_user, login_required

from .. import access
from ..crf import record_status
from ..labels import Translated
from . import LINK_PERMISSIONS, load, may_open

bp = Blueprint("help", __name__, url_prefix="/help")


@bp.route("/")
@bp.route("/<role>")
@login_required
def index(role=None):
    """The help of the user's roles at the current site, or of one role (any role)."""
    help_ = load()
    if role is not None:
        if role not in help_.roles:
            abort(404)
        shown = [role]
    else:
        mine = access.roles_at(current_user, g.site.id) if g.site is not None else set()
        shown = [r for r in access.ROLES if r in mine and r in help_.roles]
    return render_template("help/index.html", help=help_, shown=shown, role=role,
                           my_roles=access.roles_at(current_user, g.site.id)
                           if g.site is not None else set(),
                           openable={ep for ep in LINK_PERMISSIONS
                                     if may_open(current_user, ep)})


@bp.app_context_processor
def _status_context():
    return {
        "form_state_order": record_status.PRIORITY,
        "form_state_names": Translated(record_status.LABELS),
        "form_state_descriptions": Translated(record_status.DESCRIPTIONS),
    }
