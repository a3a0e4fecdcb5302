"""Home page, language and site switching."""
from flask import (Blueprint, abort, current_app, redirect, render_template, request,
                   session, url_for)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from . import access
from .auth import services as auth_services

bp = Blueprint("main", __name__)


@bp.app_context_processor
def _i18n_context():
    """Every template's ``_()`` and ``ngettext()`` bound to the render's translations once
    (i18n.request_gettext), instead of a lookup through Flask-Babel on each call; and
    ``kept_html`` for what a macro writes the same for every page of a language."""
    from .i18n import kept_html, request_gettext
    return dict(request_gettext(), kept_html=kept_html)


@bp.route("/")
@login_required
def home():
    due = truncated = None
    if access.can_anywhere(current_user, access.CRF_EDIT):
        from .schedule.due import due_this_week
        due, truncated = due_this_week(current_user)
    return render_template("home.html", sites=access.user_sites(current_user), due=due,
                           due_truncated=truncated)


def _back():
    ref = request.form.get("next") or ""
    return ref if ref.startswith("/") and not ref.startswith("//") else url_for("main.home")


@bp.route("/language", methods=["POST"])
def language():
    FlaskForm().validate_on_submit() or abort(400)
    lang = request.form.get("lang")
    if lang not in current_app.config["LANGUAGES"]:
        abort(400)
    session["lang"] = lang
    if current_user.is_authenticated:
        auth_services.set_locale(current_user, lang)
    return redirect(_back())


@bp.route("/site", methods=["POST"])
@login_required
def switch_site():
    FlaskForm().validate_on_submit() or abort(400)
    try:
        site_id = int(request.form.get("site_id", ""))
    except ValueError:
        abort(400)
    if site_id not in {s.id for s in access.user_sites(current_user)}:
        abort(404)
    session["site_id"] = site_id
    return redirect(url_for("main.home"))
