"""Accounts: creation, passwords, log-in with lockout, roles. Every change is audited."""
from __future__ import annotations

from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from zxcvbn import zxcvbn

from .. import access
from ..audit.services import Actor, record
from ..db import utcnow
from ..errors import NotFound, ServiceError
from ..extensions import db
from ..sites.models import Membership, Site
from .models import User

_hasher = PasswordHasher()  # argon2id, the library's current recommended parameters
# Verified against when the email is unknown, so both paths cost the same time.
_DUMMY_HASH = _hasher.hash("not a real password, only for constant-time login")

BAD_LOGIN = _l("Invalid email or password. After 5 failed attempts an account is "
               "locked for 15 minutes.")


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def password_problem(password: str, user_inputs: list[str] = ()) -> str | None:
    """Why a password is refused, or None. Length first, then zxcvbn's guessability."""
    cfg = current_app.config
    if len(password or "") < cfg["PASSWORD_MIN_LENGTH"]:
        return str(_l("The password must have at least %(n)d characters.",
                      n=cfg["PASSWORD_MIN_LENGTH"]))
    if zxcvbn(password[:100], user_inputs=list(user_inputs))["score"] < \
            cfg["PASSWORD_MIN_SCORE"]:
        return str(_l("This password is too common or too easy to guess. Use a longer "
                      "phrase of unrelated words."))
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _verify_hash(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_password(user: User, password: str) -> bool:
    return _verify_hash(user.password_hash, password)


def get_user_by_email(email: str) -> User | None:
    return db.session.scalars(select(User).where(User.email == normalise_email(email))).first()


def create_user(email: str, name: str, password: str, actor: Actor, *, locale=None,
                demo: bool = False) -> User:
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise ServiceError(_l("Not a valid email address: %(email)s"), email=email)
    if not (name or "").strip():
        raise ServiceError(_l("A full name is required."))
    if get_user_by_email(email) is not None:
        raise ServiceError(_l("A user with the email %(email)s already exists."), email=email)
    problem = password_problem(password, [email, name])
    if problem:
        raise ServiceError(problem)
    user = User(email=email, name=name.strip(), password_hash=hash_password(password),
                locale=locale, demo=demo)
    db.session.add(user)
    db.session.flush()
    record("user.create", actor, object_type="user", object_id=user.id,
           new={"email": email, "name": user.name})
    db.session.commit()
    return user


def authenticate(email: str, password: str, ip: str | None) -> User:
    """Log-in check with lockout. Raises ServiceError(BAD_LOGIN) on any failure."""
    cfg = current_app.config
    user = get_user_by_email(email)
    now = utcnow()
    if user is None:
        _verify_hash(_DUMMY_HASH, password)  # same cost as a real check
        record("login.failure", Actor(None, None, ip), object_type="email",
               object_id=normalise_email(email)[:64], reason="unknown email")
        db.session.commit()
        raise ServiceError(BAD_LOGIN)
    actor = Actor(user.id, user.name, ip)
    if user.locked_until is not None and user.locked_until > now:
        record("login.failure", actor, object_type="user", object_id=user.id,
               reason="account locked")
        db.session.commit()
        raise ServiceError(BAD_LOGIN)
    if not user.active or not check_password(user, password):
        user.failed_logins = (user.failed_logins or 0) + 1
        reason = "account disabled" if not user.active else "wrong password"
        record("login.failure", actor, object_type="user", object_id=user.id, reason=reason)
        if user.failed_logins >= cfg["LOGIN_MAX_FAILURES"]:
            user.locked_until = now + timedelta(minutes=cfg["LOGIN_LOCK_MINUTES"])
            user.failed_logins = 0
            record("user.lockout", actor, object_type="user", object_id=user.id,
                   new={"locked_until": user.locked_until.isoformat()})
        db.session.commit()
        raise ServiceError(BAD_LOGIN)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    record("login.success", actor, object_type="user", object_id=user.id)
    db.session.commit()
    return user


def logout(user: User, actor: Actor) -> None:
    """End every session of the user (server-side), and audit it."""
    user.session_epoch = (user.session_epoch or 0) + 1
    record("logout", actor, object_type="user", object_id=user.id)
    db.session.commit()


def set_locale(user: User, locale: str) -> None:
    user.locale = locale
    db.session.commit()


def _site(code: str) -> Site:
    site = db.session.scalars(select(Site).where(Site.code == (code or "").upper())).first()
    if site is None:
        raise NotFound(_l("Unknown site: %(code)s"), code=code)
    return site


def _user(email: str) -> User:
    user = get_user_by_email(email)
    if user is None:
        raise NotFound(_l("Unknown user: %(email)s"), email=email)
    return user


def _role(role: str) -> str:
    if role not in access.ROLES:
        raise ServiceError(_l("Unknown role: %(role)s (one of %(roles)s)"), role=role,
                           roles=", ".join(access.ROLES))
    return role


def grant(email: str, site_code: str, role: str, actor: Actor) -> Membership:
    user, site, role = _user(email), _site(site_code), _role(role)
    m = db.session.scalars(select(Membership).filter_by(
        user_id=user.id, site_id=site.id, role=role)).first()
    if m is not None and m.active:
        raise ServiceError(_l("%(email)s already holds the role %(role)s at %(site)s."),
                           email=user.email, role=role, site=site.code)
    if m is None:
        m = Membership(user_id=user.id, site_id=site.id, role=role)
        db.session.add(m)
    else:
        m.active, m.granted_at, m.revoked_at = True, utcnow(), None
    record("role.grant", actor, site_code=site.code, object_type="user", object_id=user.id,
           new={"role": role, "site": site.code})
    db.session.commit()
    db.session.expire(user)
    return m


def revoke(email: str, site_code: str, role: str, actor: Actor) -> None:
    user, site, role = _user(email), _site(site_code), _role(role)
    m = db.session.scalars(select(Membership).filter_by(
        user_id=user.id, site_id=site.id, role=role, active=True)).first()
    if m is None:
        raise ServiceError(_l("%(email)s does not hold the role %(role)s at %(site)s."),
                           email=user.email, role=role, site=site.code)
    m.active, m.revoked_at = False, utcnow()
    record("role.revoke", actor, site_code=site.code, object_type="user", object_id=user.id,
           old={"role": role, "site": site.code})
    db.session.commit()
    db.session.expire(user)


def disable(email: str, actor: Actor) -> None:
    user = _user(email)
    if not user.active:
        raise ServiceError(_l("%(email)s is already disabled."), email=user.email)
    user.active = False
    user.session_epoch = (user.session_epoch or 0) + 1
    record("user.disable", actor, object_type="user", object_id=user.id,
           old={"active": True}, new={"active": False})
    db.session.commit()


def count_users() -> int:
    return db.session.scalar(select(func.count(User.id)))
