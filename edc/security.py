"""HTTP hardening: security headers, session lifetimes, database-fault pages.

* Content-Security-Policy without inline script or style (all JS/CSS are static files),
  framing forbidden; nosniff; a strict Referrer-Policy; HSTS when served over HTTPS.
* ``Cache-Control: no-store`` on every response to a logged-in user (patient data must not
  stay in browser or proxy caches) and on every non-static page.
* Sessions end after SESSION_IDLE_MINUTES without a request and SESSION_MAX_HOURS after
  log-in, whatever happens; logout, password change and disable end them server-side
  (User.session_epoch).
* An unreachable database gives a translated 503 page; a read-only or full disk gives a
  clear page too — never a traceback — and the session is rolled back, so nothing is
  half-saved.
"""
from __future__ import annotations

import time

from flask import Flask, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user, user_logged_in
from sqlalchemy.exc import DBAPIError, OperationalError

from .extensions import db

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")


def _on_login(sender, user, **extra):
    now = int(time.time())
    session["login_at"] = now
    session["seen_at"] = now


def init_security(app: Flask) -> None:
    user_logged_in.connect(_on_login, app)

    @app.before_request
    def _session_lifetime():
        if request.endpoint == "static" or not current_user.is_authenticated:
            return None
        now = int(time.time())
        idle = app.config["SESSION_IDLE_MINUTES"] * 60
        absolute = app.config["SESSION_MAX_HOURS"] * 3600
        login_at, seen_at = session.get("login_at", now), session.get("seen_at", now)
        if now - seen_at > idle or now - login_at > absolute:
            logout_user()
            lang = session.get("lang")
            session.clear()
            if lang:
                session["lang"] = lang
            flash(_("Your session has ended: you were inactive for too long, or logged in "
                    "for too long. Please log in again."), "warning")
            return redirect(url_for("auth.login", next=request.full_path
                                    if request.method == "GET" else None))
        if now - seen_at >= 30:
            # Not on every request: the cookie would change with each one, and a
            # background request (the eCRF's live derivation) answered after a form's POST
            # would put back the session without that POST's flash message.
            session["seen_at"] = now
        return None

    @app.after_request
    def _headers(resp):
        h = resp.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "no-referrer")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.is_secure:
            h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.endpoint != "static" or current_user.is_authenticated:
            h["Cache-Control"] = "no-store"
            h["Pragma"] = "no-cache"
        return resp

    @app.errorhandler(OperationalError)
    @app.errorhandler(DBAPIError)
    def _db_fault(e):
        from .extensions import login_manager
        from .web import error_page
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001  # nosec B110 — the connection may be gone
            pass
        # Render the page without touching the database again (no user, no site).
        g._login_user = login_manager.anonymous_user()
        g.site = None
        text = str(getattr(e, "orig", e)).lower()
        if "readonly" in text or "read-only" in text or "disk" in text and "full" in text \
                or "no space" in text:
            return error_page(503, _("The database cannot be written to (the disk is full "
                                     "or the database is read-only). Nothing was saved. "
                                     "Tell the system administrator."))
        app.logger.error("database error: %s", text.splitlines()[0] if text else e)
        return error_page(503)
