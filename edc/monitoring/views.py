"""The monitor dashboard, and the monitoring panels of record and patient pages."""
from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

from .. import access
from ..queries.services import AGE_BANDS
from . import services

bp = Blueprint("monitoring", __name__, url_prefix="/monitoring")


@bp.app_context_processor
def _panels():
    """``record_panel(patient, rec, queries)`` and ``patient_panel(patient, visits)`` for
    the eCRF and patient pages (their views stay unaware of monitoring)."""
    return {
        "record_panel": lambda patient, rec, queries=None, covers=None, marks=None:
        services.record_panel(current_user, patient, rec, queries, covers, marks),
        # the patient page hands over what it read (the live records, what covers them,
        # the query counts): not read twice
        "patient_panel": lambda patient, visits, records=None, covers=None,
        query_counts=None: services.patient_panel(current_user, patient, visits, records,
                                                  covers, query_counts),
    }


@bp.route("/")
@login_required
def dashboard():
    if not access.can_anywhere(current_user, access.DASHBOARD):
        abort(403)
    return render_template("monitoring/dashboard.html",
                           boards=services.dashboard(current_user), age_bands=AGE_BANDS)
