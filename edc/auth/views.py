import time
from urllib.parse import urlsplit

from flask import (Blueprint, Response, abort, current_app, flash, make_response, redirect,
                   render_template, request, session, url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..audit.services import Actor
from ..errors import ServiceError
from . import mfa, services
from .forms import ChangePasswordForm, EnrolForm, LoginForm, SecondFactorForm, TurnOffForm
from .ratelimit import RateLimited

bp = Blueprint("auth", __name__, url_prefix="/auth")

#: reachable whatever the state of the account
_ALWAYS = {"static", "auth.logout", "main.language"}
#: the only pages of a user who must change the password / must enrol in MFA
_PASSWORD_PAGES = {"auth.change_password"}
_ENROL_PAGES = {"auth.mfa", "auth.mfa_qr", "auth.mfa_confirm"}


def _safe_next(target: str | None) -> str:
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") \
                and not target.startswith("//"):
            return target
    return url_for("main.home")


def _actor() -> Actor:
    return Actor.of(current_user, request.remote_addr)


def _fresh_session() -> None:
    """No session fixation: a new session at each log-in step (the language stays)."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def too_many(e: RateLimited):
    """The translated 429 page of a rate-limited attempt."""
    resp = make_response(render_template("auth/too_many.html", message=str(e)), 429)
    resp.headers["Retry-After"] = str(e.retry_after)
    return resp


@bp.before_app_request
def _account_gate():
    """A user whose password was reset must change it first; a user whose role requires
    MFA must enrol first: until then, only those pages (and log-out) are reachable."""
    if request.endpoint is None or request.endpoint in _ALWAYS or \
            not current_user.is_authenticated:
        return None
    if current_user.must_change_password:
        allowed, target = _PASSWORD_PAGES, "auth.change_password"
    elif mfa.must_enrol(current_user):
        allowed, target = _ENROL_PAGES, "auth.mfa"
    else:
        return None
    if request.endpoint in allowed:
        return None
    if request.blueprint == "api" or request.path.startswith("/api/"):
        abort(403)
    return redirect(url_for(target))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data,
                                         request.remote_addr)
        except RateLimited as e:
            return too_many(e)
        except ServiceError as e:
            error = str(e)
        else:
            target = _safe_next(request.args.get("next"))
            _fresh_session()
            if mfa.is_enrolled(user):
                session["mfa_pending"] = [user.id, user.session_epoch, int(time.time())]
                session["mfa_next"] = target
                return redirect(url_for("auth.second_factor"))
            login_user(user)
            return redirect(target)
    return render_template("auth/login.html", form=form, error=error), 200 if not error \
        else 401


@bp.route("/login/code", methods=["GET", "POST"])
def second_factor():
    """Second log-in step of a user with MFA: a TOTP code or a recovery code."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    pending = session.get("mfa_pending")
    max_age = current_app.config["MFA_STEP_MINUTES"] * 60
    if not pending or int(time.time()) - int(pending[2]) > max_age:
        session.pop("mfa_pending", None)
        flash(_("Your log-in has expired. Log in again."), "warning")
        return redirect(url_for("auth.login"))
    form = SecondFactorForm()
    error = None
    if form.validate_on_submit():
        try:
            user = services.complete_second_factor(int(pending[0]), int(pending[1]),
                                                   form.code.data, request.remote_addr)
        except RateLimited as e:
            return too_many(e)
        except ServiceError as e:
            error = str(e)
        else:
            target = _safe_next(session.get("mfa_next"))
            _fresh_session()
            login_user(user)
            if mfa.remaining_codes(user) <= 2:
                flash(_("You have %(n)d recovery codes left: make new ones on the two-step "
                        "log-in page.", n=mfa.remaining_codes(user)), "warning")
            return redirect(target)
    return render_template("auth/second_factor.html", form=form, error=error), \
        200 if not error else 401


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    services.logout(current_user, Actor.of(current_user, request.remote_addr))
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


# ------------------------------------------------------------------ password
@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    error = None
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            services.change_password(user, form.current.data, form.new.data, _actor())
        except RateLimited as e:
            return too_many(e)
        except ServiceError as e:
            error = str(e)
        else:
            # Other sessions end (new session_epoch); this one continues with it.
            login_at = session.get("login_at")
            login_user(user)
            if login_at is not None:
                session["login_at"] = login_at
            flash(_("Your password is changed. Your other sessions have ended."), "success")
            return redirect(url_for("main.home"))
    return render_template("auth/password.html", form=form, error=error,
                           forced=current_user.must_change_password,
                           min_length=current_app.config["PASSWORD_MIN_LENGTH"]), \
        200 if not (error or form.errors) else 400


# ------------------------------------------------------------------ MFA
@bp.route("/mfa", endpoint="mfa")
@login_required
def mfa_page():
    user = current_user._get_current_object()
    ctx = {"status": mfa.status(user), "required": mfa.is_required(user)}
    if mfa.is_enrolled(user):
        return render_template("auth/mfa.html", enrolled=True,
                               remaining=mfa.remaining_codes(user),
                               renew_form=SecondFactorForm(prefix="renew"),
                               off_form=TurnOffForm(prefix="off"), **ctx)
    if not mfa.may_enrol(user):
        return render_template("auth/mfa.html", enrolled=False, offered=False, **ctx)
    secret = mfa.start_enrolment(user, _actor())
    return render_template("auth/mfa.html", enrolled=False, offered=True,
                           secret=mfa.group(secret), form=EnrolForm(), **ctx)


@bp.route("/mfa/qr.svg")
@login_required
def mfa_qr():
    """The enrolment QR code (only while an enrolment is pending, only to its user)."""
    secret = mfa.pending_secret(current_user)
    if secret is None:
        abort(404)
    return Response(mfa.qr_svg(mfa.provisioning_uri(current_user, secret)),
                    mimetype="image/svg+xml")


@bp.route("/mfa/confirm", methods=["POST"])
@login_required
def mfa_confirm():
    form = EnrolForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        codes = mfa.confirm_enrolment(current_user, form.code.data, _actor())
    except RateLimited as e:
        return too_many(e)
    except ServiceError as e:
        flash(str(e), "error")
        return redirect(url_for("auth.mfa"))
    return render_template("auth/recovery_codes.html", codes=codes, new=True)


@bp.route("/mfa/recovery-codes", methods=["POST"])
@login_required
def mfa_renew():
    form = SecondFactorForm(prefix="renew")
    if not form.validate_on_submit():
        abort(400)
    try:
        codes = mfa.renew_recovery_codes(current_user, form.code.data, _actor())
    except RateLimited as e:
        return too_many(e)
    except ServiceError as e:
        flash(str(e), "error")
        return redirect(url_for("auth.mfa"))
    return render_template("auth/recovery_codes.html", codes=codes, new=False)


@bp.route("/mfa/off", methods=["POST"])
@login_required
def mfa_off():
    form = TurnOffForm(prefix="off")
    if not form.validate_on_submit():
        abort(400)
    try:
        mfa.turn_off(current_user, form.password.data, form.code.data, _actor())
    except RateLimited as e:
        return too_many(e)
    except ServiceError as e:
        flash(str(e), "error")
    else:
        flash(_("Two-step log-in is turned off."), "success")
    return redirect(url_for("auth.mfa"))
