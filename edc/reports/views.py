"""Printed records (PDF): thin views over edc/reports/services.py."""
from __future__ import annotations

import io

from flask import (Blueprint, abort, current_app, g, render_template, request,
                   send_file)
from flask_babel import get_locale
from flask_login import current_user, login_required

from .. import access
from ..audit.services import Actor
from ..db import utcnow
from ..extensions import db
from ..i18n import LANGUAGE_NAMES
from . import services
from .forms import IdentifiedCopyForm

bp = Blueprint("reports", __name__, url_prefix="/reports")


def _actor():
    return Actor.of(current_user, request.remote_addr)


def _lang(value=None) -> str:
    """The language asked for, else the user's."""
    langs = current_app.config["LANGUAGES"]
    asked = value if value is not None else request.args.get("lang")
    return asked if asked in langs else str(get_locale())


def _languages():
    return [(code, LANGUAGE_NAMES[code]) for code in current_app.config["LANGUAGES"]]


def _pdf(buf: io.BytesIO, name: str, *, private: bool = True):
    buf.seek(0)
    resp = send_file(buf, mimetype="application/pdf", as_attachment=True,
                     download_name=name)
    if private:
        resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/crf-book")
@login_required
def crf_book_page():
    return render_template("reports/crf_book.html", languages_for_pdf=_languages(),
                           chosen=_lang())


@bp.route("/crf-book.pdf")
@login_required
def crf_book_pdf():
    lang = _lang()
    buf = io.BytesIO()
    services.crf_book(_actor(), lang, buf)
    return _pdf(buf, services.generated_name("crf-book", "MILenARI", lang), private=False)


@bp.route("/patients/<pid>/casebook.pdf")
@login_required
def casebook_pdf(pid):
    patient = access.get_patient(db.session, current_user, pid, access.CASEBOOK)
    lang = _lang()
    buf = io.BytesIO()
    services.casebook(_actor(), patient, lang, buf)
    return _pdf(buf, services.generated_name("casebook", patient.pseudonym, lang))


@bp.route("/patients/<pid>/identified", methods=["GET", "POST"])
@login_required
def identified(pid):
    patient = access.get_patient(db.session, current_user, pid)
    if not services.may_print_identified(current_user, patient.site_id):
        abort(403)
    form = IdentifiedCopyForm(lang=_lang(request.form.get("lang")))
    form.lang.choices = _languages()
    if form.validate_on_submit():
        buf = io.BytesIO()
        services.identified_casebook(_actor(), patient, form.lang.data, buf,
                                     purpose=form.purpose.data)
        return _pdf(buf, services.generated_name("casebook-IDENTIFIED", patient.pseudonym,
                                                 form.lang.data, utcnow()))
    status = 422 if request.method == "POST" else 200
    return render_template("reports/identified.html", patient=patient, form=form), status


@bp.route("/site/queries.pdf")
@login_required
def query_report_pdf():
    site = g.site
    if site is None or not access.can(current_user, access.CRF_VIEW, site.id):
        abort(403)
    lang = _lang()
    buf = io.BytesIO()
    services.query_report(_actor(), site, lang, buf)
    return _pdf(buf, services.generated_name("queries", site.code, lang))
