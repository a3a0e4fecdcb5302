"""Accounts: creation, passwords, log-in with lockout, rate limits and a second factor,
roles. Every change is audited."""
from __future__ import annotations

import secrets
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
from . import mfa, ratelimit
from .models import User

# argon2id with one of OWASP's recommended configurations (Password Storage Cheat Sheet:
# 19 MiB of memory, 2 iterations, 1 lane — listed as equivalent to 46 MiB × 1 iteration,
# which costs ~2.5× more CPU here: filling more memory). The library's default (RFC 9106
# "low memory": 64 MiB × 3 iterations × 4 lanes) costs ~240 ms of CPU per log-in here, so
# 50 investigators logging in within a few seconds take both cores; this costs ~40 ms.
# Log-ins are also rate limited per account and per IP, and locked after 5 failures.
# Hashes made with other parameters (older accounts) still verify: argon2 reads the
# parameters from the stored hash.
ARGON2_PARAMETERS = {"time_cost": 2, "memory_cost": 19456, "parallelism": 1}
_hasher = PasswordHasher(**ARGON2_PARAMETERS)
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
    """Log-in check (first factor) with lockout and rate limits.

    Raises ServiceError(BAD_LOGIN) on any failure, RateLimited (429) when the IP or the
    account has too many recent failures. For a user with MFA the log-in is complete
    only after :func:`complete_second_factor` (``mfa.is_enrolled(user)``).
    """
    email_n = normalise_email(email)
    user = get_user_by_email(email)
    now = utcnow()
    actor = Actor(user.id, user.name, ip) if user is not None else Actor(None, None, ip)
    ratelimit.check(("login.ip", ip), ("login.account", email_n), actor=actor,
                    object_type="user" if user is not None else "email",
                    object_id=user.id if user is not None else email_n[:64])

    def failed():
        ratelimit.hit("login.ip", ip, commit=False)
        ratelimit.hit("login.account", email_n, commit=False)
        db.session.commit()
        raise ServiceError(BAD_LOGIN)

    if user is None:
        _verify_hash(_DUMMY_HASH, password)  # same cost as a real check
        record("login.failure", actor, object_type="email", object_id=email_n[:64],
               reason="unknown email")
        failed()
    if user.locked_until is not None and user.locked_until > now:
        record("login.failure", actor, object_type="user", object_id=user.id,
               reason="account locked")
        failed()
    if not user.active or not check_password(user, password):
        reason = "account disabled" if not user.active else "wrong password"
        _count_failure(user, actor, reason, now)
        failed()
    if mfa.is_enrolled(user):
        # failed_logins is reset only once the second factor is right too
        record("login.password_ok", actor, object_type="user", object_id=user.id)
        db.session.commit()
        return user
    _finish_login(user, actor, now)
    return user


def _count_failure(user: User, actor: Actor, reason: str, now) -> None:
    """A failed password or second factor: counted towards the lockout, audited."""
    cfg = current_app.config
    user.failed_logins = (user.failed_logins or 0) + 1
    record("login.failure", actor, object_type="user", object_id=user.id, reason=reason)
    if user.failed_logins >= cfg["LOGIN_MAX_FAILURES"]:
        user.locked_until = now + timedelta(minutes=cfg["LOGIN_LOCK_MINUTES"])
        user.failed_logins = 0
        record("user.lockout", actor, object_type="user", object_id=user.id,
               new={"locked_until": user.locked_until.isoformat()})


def _finish_login(user: User, actor: Actor, now, **detail) -> None:
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    record("login.success", actor, object_type="user", object_id=user.id,
           new=detail or None)
    ratelimit.clear("login.account", user.email, commit=False)
    db.session.commit()


BAD_CODE = _l("The code is wrong or has expired. Enter the current code of your "
              "authenticator app, or one of your recovery codes.")


def complete_second_factor(user_id: int, epoch: int, code: str, ip: str | None) -> User:
    """Second log-in step for a user with MFA, after :func:`authenticate` accepted the
    password: a TOTP code or a recovery code (consumed). A wrong code counts towards
    the lockout like a wrong password; rate-limited per IP and per account."""
    user = db.session.get(User, user_id)
    if user is None or not user.active or user.session_epoch != epoch or \
            not mfa.is_enrolled(user):
        raise ServiceError(_l("Your log-in has expired. Log in again."))
    actor = Actor(user.id, user.name, ip)
    now = utcnow()
    ratelimit.check(("mfa.ip", ip), actor=actor, object_type="user", object_id=user.id)
    if user.locked_until is not None and user.locked_until > now:
        record("login.failure", actor, object_type="user", object_id=user.id,
               reason="account locked")
        ratelimit.hit("mfa.ip", ip, commit=False)
        db.session.commit()
        raise ServiceError(BAD_LOGIN)
    code_n = (code or "").strip().replace(" ", "")
    if not mfa.verify_second_factor(user, code_n, actor=actor):
        _count_failure(user, actor, "wrong second factor", now)
        ratelimit.hit("mfa.ip", ip, commit=False)
        db.session.commit()
        raise ServiceError(BAD_CODE)
    _finish_login(user, actor, now, mfa="totp" if code_n.isdigit() else "recovery code")
    return user


def logout(user: User, actor: Actor) -> None:
    """End every session of the user (server-side), and audit it."""
    user.session_epoch = (user.session_epoch or 0) + 1
    record("logout", actor, object_type="user", object_id=user.id)
    db.session.commit()


def set_locale(user: User, locale: str) -> None:
    user.locale = locale
    db.session.commit()


def change_password(user: User, current: str, new: str, actor: Actor) -> None:
    """The user changes their password: the current one is asked again. Every other
    session of the user ends (session_epoch); the caller logs the current one in again."""
    ratelimit.check(("login.account", user.email), actor=actor, object_type="user",
                    object_id=user.id)
    if not check_password(user, current or ""):
        ratelimit.hit("login.account", user.email, commit=False)
        record("password.change_refused", actor, object_type="user", object_id=user.id,
               reason="wrong current password")
        db.session.commit()
        raise ServiceError(_l("The current password is wrong."))
    if new == current:
        raise ServiceError(_l("The new password must differ from the current one."))
    problem = password_problem(new, [user.email, user.name])
    if problem:
        raise ServiceError(problem)
    forced = bool(user.must_change_password)
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.password_changed_at = utcnow()
    user.session_epoch = (user.session_epoch or 0) + 1
    record("password.change", actor, object_type="user", object_id=user.id,
           new={"forced": forced})
    db.session.commit()


def temporary_password() -> str:
    """A random temporary password (80 bits), e.g. ``K7QM-R2XD-9PWA-HT4C``."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    raw = "".join(secrets.choice(alphabet) for _ in range(16))
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def reset_password(email: str, actor: Actor) -> str:
    """An administrator's reset: a temporary password (returned, shown once to the
    administrator, never stored in clear or audited) that the user must change at the
    next log-in. Every session of the user ends; a lockout is lifted."""
    user = _user(email)
    temp = temporary_password()
    user.password_hash = hash_password(temp)
    user.must_change_password = True
    user.session_epoch = (user.session_epoch or 0) + 1
    user.failed_logins, user.locked_until = 0, None
    record("password.reset", actor, object_type="user", object_id=user.id,
           new={"forced_change": True})
    ratelimit.clear("login.account", user.email, commit=False)
    db.session.commit()
    return temp


def is_locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > utcnow()


def unlock(email: str, actor: Actor) -> None:
    """Lift a lockout (and the account's rate limits) before it ends by itself."""
    user = _user(email)
    limited = ratelimit.blocked("login.account", user.email) or \
        ratelimit.blocked("mfa.account", user.id)
    if not is_locked(user) and not limited:
        raise ServiceError(_l("%(email)s is not locked."), email=user.email)
    old = {"locked_until": user.locked_until.isoformat() if user.locked_until else None,
           "rate_limited": limited}
    user.failed_logins, user.locked_until = 0, None
    ratelimit.clear("login.account", user.email, commit=False)
    ratelimit.clear("mfa.account", user.id, commit=False)
    record("user.unlock", actor, object_type="user", object_id=user.id, old=old,
           new={"locked_until": None})
    db.session.commit()


def reset_mfa(email: str, actor: Actor) -> None:
    """An administrator removes the user's second factor (lost phone and codes)."""
    mfa.reset(_user(email), actor)


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
