from flask import Blueprint, abort, g, render_template
from flask_login import current_user, login_required

from .. import access
from ..patients import services as patient_services
from ..audit.services import Actor
from . import services

bp = Blueprint("schedule", __name__, url_prefix="/site")


@bp.route("/overdue")
@login_required
def overdue():
    if g.site is None or not access.can(current_user, access.CRF_VIEW, g.site.id):
        abort(403)
    patients = patient_services.list_for_site(Actor.of(current_user), g.site.id)
    rows = services.site_overdue(g.site.id, patients)
    return render_template("schedule/overdue.html", rows=rows, site=g.site)


@bp.route("/summary")
@login_required
def summary():
    """The clinical summary of every patient of the current site, one row each."""
    if g.site is None or not access.can(current_user, access.CRF_VIEW, g.site.id):
        abort(403)
    patients = patient_services.list_for_site(Actor.of(current_user), g.site.id)
    return render_template("schedule/summary.html", site=g.site,
                           rows=services.site_summary(patients))
