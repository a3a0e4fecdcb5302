"""Web wiring: blueprints, log-in loader, current site, error pages, template helpers."""
from __future__ import annotations

from functools import cache

from flask import Flask, abort, flash, g, redirect, render_template, request, session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.routing import (IntegerConverter, PathConverter, UnicodeConverter,
                              ValidationError)

from . import access, i18n
from .errors import Forbidden, NotFound, ServiceError
from .extensions import db, login_manager

ERROR_TITLES = {
    400: _l("Bad request"),
    403: _l("Access denied"),
    404: _l("Page not found"),
    405: _l("Method not allowed"),
    409: _l("Not possible now"),
    413: _l("The submission is too large"),
    429: _l("Too many attempts"),
    500: _l("Internal error"),
    503: _l("Service unavailable"),
}
ERROR_TEXTS = {
    400: _l("The request could not be understood. Go back and try again."),
    403: _l("You are not allowed to see this page or do this."),
    404: _l("There is nothing here, or you are not allowed to see it."),
    405: _l("This page cannot be used this way."),
    409: _l("This change is not possible now."),
    413: _l("The submission is too large."),
    429: _l("Too many attempts. Wait a few minutes, then try again."),
    500: _l("Something went wrong on our side. Nothing was saved. Please try again; if it "
            "happens again, tell the data manager."),
    503: _l("The database cannot be reached right now. Nothing was saved. Please try "
            "again in a few minutes."),
}


@login_manager.user_loader
def load_user(user_id: str):
    try:
        uid, epoch = (int(x) for x in user_id.split(":"))
    except ValueError:
        return None
    # One statement for the user, the active memberships and their sites (instead of a
    # second SELECT for the memberships): every page needs them for access checks.
    user = db.session.execute(_load_user_statement(), {"uid": uid}).unique() \
        .scalar_one_or_none()
    if user is None or not user.active or user.session_epoch != epoch:
        return None  # logged out everywhere, disabled, or password changed
    return user


@cache
def _load_user_statement():
    """Built once: every request runs it."""
    from sqlalchemy import bindparam, select
    from sqlalchemy.orm import joinedload

    from .auth.models import User
    return select(User).options(joinedload(User.memberships)) \
        .where(User.id == bindparam("uid"))


def current_site():
    """The site the user works at now: their choice, if they still hold a role there."""
    sites = access.user_sites(current_user)
    if not sites:
        return None
    chosen = session.get("site_id")
    for s in sites:
        if s.id == chosen:
            return s
    return sites[0]


def refused(e: ServiceError, back: str):
    """A refusal the user can act on (status 400): nothing is kept, the message is shown
    where they came from. Any other refusal (403, 404, 409) goes on to its error page."""
    if e.status != 400:
        raise e
    db.session.rollback()
    flash(str(e), "error")
    return redirect(back)


def error_page(code: int, message=None):
    return render_template("error.html", code=code, title=ERROR_TITLES.get(code, ""),
                           message=message or ERROR_TEXTS.get(code, "")), code


class _DbIntConverter(IntegerConverter):
    """A path integer that fits a database INTEGER; a larger one names nothing (404)
    instead of reaching the database (PostgreSQL: "integer out of range")."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


class _NoNulMixin:
    """Path text with a NUL names nothing (404); PostgreSQL refuses NUL in parameters."""

    def to_python(self, value):
        if "\x00" in value:
            raise ValidationError()
        return super().to_python(value)


class _TextConverter(_NoNulMixin, UnicodeConverter):
    pass


class _PathConverter(_NoNulMixin, PathConverter):
    pass


def register_converters(app: Flask) -> None:
    """Before any route is added: every view's path parameters are bounded once, here."""
    app.url_map.converters.update(int=_DbIntConverter, default=_TextConverter,
                                  string=_TextConverter, path=_PathConverter)


def register_web(app: Flask) -> None:
    register_converters(app)
    from .auth.views import bp as auth_bp
    from .main_views import bp as main_bp
    from .patients.views import bp as patients_bp
    from .crf.views import bp as crf_bp
    from .schedule.views import bp as schedule_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(main_bp)
    app.register_blueprint(patients_bp)
    app.register_blueprint(crf_bp)
    app.register_blueprint(schedule_bp)
    from .queries.views import bp as queries_bp
    app.register_blueprint(queries_bp)
    from .signing.views import bp as signing_bp
    app.register_blueprint(signing_bp)
    from .alerts.views import bp as alerts_bp
    app.register_blueprint(alerts_bp)
    from .monitoring.views import bp as monitoring_bp
    app.register_blueprint(monitoring_bp)
    from .admin.views import bp as admin_bp
    app.register_blueprint(admin_bp)
    from .exports.views import bp as exports_bp
    app.register_blueprint(exports_bp)
    from .api.views import bp as api_bp, tokens_bp as api_tokens_bp
    from .extensions import csrf
    app.register_blueprint(csrf.exempt(api_bp))  # token-authenticated JSON API: no CSRF
    app.register_blueprint(api_tokens_bp)
    from .reports.views import bp as reports_bp
    app.register_blueprint(reports_bp)
    from .help.views import bp as help_bp
    app.register_blueprint(help_bp)

    @login_manager.unauthorized_handler
    def unauthorized():
        from flask import redirect, url_for
        return redirect(url_for("auth.login", next=request.full_path
                                if request.method == "GET" else None))

    login_manager.login_message = _l("Please log in to see this page.")

    @app.before_request
    def _before():
        if not app.config.get("SECRET_KEY"):
            abort(500, "no SECRET_KEY: run 'flask --app edc init'")
        g.site = current_site() if current_user.is_authenticated else None

    from .patients import services as patient_services

    @app.context_processor
    def _context():
        from flask_babel import get_locale
        # bound once per render: the templates call can() for every menu entry and button,
        # and each current_user lookup goes through Flask-Login's context
        user = current_user._get_current_object()
        return {
            "access": access,
            "role_names": access.ROLE_LABELS,
            "status_names": patient_services.STATUS_LABELS,
            "sex_names": patient_services.SEX_LABELS,
            "current_site": g.get("site"),
            "user_sites": access.user_sites(current_user)
            if current_user.is_authenticated else [],
            "languages": [(code, i18n.LANGUAGE_NAMES[code]) for code in
                          app.config["LANGUAGES"]],
            "locale": str(get_locale()),
            "text_dir": i18n.text_direction(),
            "can": lambda perm, site=None: access.can(
                user, perm, (site or g.get("site")).id)
            if (site or g.get("site")) is not None else False,
        }

    from flask_babel import gettext as plain_gettext
    # Texts of form definitions may contain "%": translated without %-formatting.
    app.jinja_env.globals["tr"] = lambda text: plain_gettext(text) if text else ""
    app.jinja_env.filters["site_time"] = i18n.site_time
    app.jinja_env.filters["show_date"] = i18n.show_date

    @app.errorhandler(CSRFError)
    def _csrf(e):
        return error_page(400, _("Your form expired or was sent from elsewhere (CSRF check "
                                 "failed). Reload the page and try again."))

    @app.errorhandler(NotFound)
    def _nf(e):
        return error_page(404)

    @app.errorhandler(Forbidden)
    def _forbidden(e):
        return error_page(403, str(e))

    @app.errorhandler(ServiceError)
    def _service(e):
        return error_page(e.status, str(e))

    from .security import init_security
    init_security(app)

    for code in (400, 403, 404, 405, 409, 413, 429, 500, 503):
        app.register_error_handler(code, lambda e, code=code: error_page(code))
