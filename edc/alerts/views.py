"""Safety alerts: the in-app inbox and the site's alerts (thin views)."""
from __future__ import annotations

from flask import Blueprint, abort, g, render_template
from flask_login import current_user, login_required

from .. import access
from ..extensions import db
from ..patients.models import Patient
from . import services

bp = Blueprint("alerts", __name__, url_prefix="/alerts")


@bp.app_context_processor
def _alerts_context():
    def unread() -> int:
        if not current_user.is_authenticated:
            return 0
        return services.unread_count(current_user)
    return {"alerts_unread": unread, "alert_kind_text": services.kind_text,
            "sae_clock": services.sae_clock}


@bp.route("/")
@login_required
def inbox():
    """The user's alerts (as a recipient), and the current site's alerts."""
    sites = access.sites_with(current_user, access.ALERT_VIEW)
    if not sites:
        abort(403)
    site_rows = []
    if g.site is not None and g.site.id in sites:
        site_rows = services.site_alerts([g.site.id], limit=100)
    return render_template("alerts/inbox.html", receipts=services.inbox(current_user),
                           site_rows=site_rows, site=g.site)


@bp.route("/<int:aid>")
@login_required
def show(aid):
    alert = services.get_alert(current_user, aid)
    services.mark_read(current_user, alert)
    patient = db.session.get(Patient, alert.patient_id)
    can_open = access.can(current_user, access.CRF_VIEW, alert.site_id)
    clock = services.sae_clock(alert.aware_date, alert.site) if alert.kind == "sae" else None
    return render_template("alerts/show.html", alert=alert, patient=patient,
                           can_open=can_open, clock=clock)
