"""Multi-factor authentication: TOTP (RFC 6238) and ten one-time recovery codes.

* Required for the roles of ``MFA_REQUIRED_ROLES`` (the roles that sign, lock or export),
  optional for the others when ``MFA_OPTIONAL`` (edc/config.py).
* Enrolment: a random secret (160 bits) is stored AES-GCM encrypted under a key derived
  from the instance master key (never in clear, bound to the user id), shown once as a
  QR code (an SVG image served by a route: no inline script or style) and as text; the
  first correct code confirms it and issues ten recovery codes, shown once and stored as
  argon2 hashes like passwords.
* A TOTP code is accepted within ±30 seconds and once only (the last accepted time step
  is stored). A recovery code works once.
* :func:`verify_second_factor` is what log-in and e-signatures call.
"""
from __future__ import annotations

import hashlib
import hmac
import io
import os
import re
import secrets
import time

import pyotp
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..audit.services import Actor, record
from ..db import utcnow
from ..errors import Forbidden, ServiceError
from ..extensions import db
from . import ratelimit
from .models import MfaRecoveryCode, User

INTERVAL = 30
DIGITS = 6
#: accepted clock drift, in time steps either side
VALID_WINDOW = 1
RECOVERY_CODES = 10
#: 32 symbols (5 bits each), without the look-alikes 0/O and 1/I; 16 per code = 80 bits
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_KEY_INFO = b"milenari-edc mfa totp secret key v1"

WRONG_CODE = _l("The code is wrong or has expired. Enter the current code of your "
                "authenticator app, or one of your recovery codes.")


# ------------------------------------------------------------------ policy
def required_roles() -> set[str]:
    return set(current_app.config.get("MFA_REQUIRED_ROLES") or ())


def is_enrolled(user) -> bool:
    return getattr(user, "mfa_enabled_at", None) is not None


def is_required(user) -> bool:
    """True when the user holds, at any site, a role that requires MFA."""
    roles = {m.role for m in getattr(user, "memberships", ()) if m.active}
    return bool(roles & required_roles())


def may_enrol(user) -> bool:
    return is_required(user) or bool(current_app.config.get("MFA_OPTIONAL", True))


def must_enrol(user) -> bool:
    """Required but not enrolled: the user can only reach the enrolment page."""
    return is_required(user) and not is_enrolled(user)


def status(user) -> str:
    """``enrolled``, ``missing`` (required, not enrolled) or ``off``."""
    if is_enrolled(user):
        return "enrolled"
    return "missing" if is_required(user) else "off"


# ------------------------------------------------------------------ the secret
def _aead() -> AESGCM:
    from ..sites.services import master_key
    return AESGCM(hmac.new(master_key(), _KEY_INFO, hashlib.sha256).digest())


def _aad(user) -> bytes:
    return f"mfa-totp:{user.id}".encode("ascii")


def _encrypt(user, secret: str) -> bytes:
    nonce = os.urandom(12)
    return nonce + _aead().encrypt(nonce, secret.encode("ascii"), _aad(user))


def _decrypt(user) -> str:
    blob = user.mfa_secret_enc
    return _aead().decrypt(blob[:12], blob[12:], _aad(user)).decode("ascii")


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL)


def provisioning_uri(user, secret: str) -> str:
    return _totp(secret).provisioning_uri(name=user.email,
                                          issuer_name=current_app.config["MFA_ISSUER"])


def qr_svg(uri: str) -> bytes:
    """The QR code of ``uri`` as a standalone SVG document (served as an image)."""
    import segno
    buf = io.BytesIO()
    segno.make(uri, error="m").save(buf, kind="svg", scale=5, border=4, dark="#000",
                                    light="#fff", xmldecl=True)
    return buf.getvalue()


def pending_secret(user) -> str | None:
    """The secret of an enrolment started but not confirmed yet."""
    if is_enrolled(user) or user.mfa_secret_enc is None:
        return None
    return _decrypt(user)


def group(secret: str) -> str:
    """The secret in groups of four, for typing it into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


# ------------------------------------------------------------------ codes
def _normal(code: str | None) -> str:
    return re.sub(r"[\s-]", "", (code or "")).upper()


def _check_totp(user, secret: str, code: str) -> int | None:
    """The time step the code matches (not used before), or None."""
    if not re.fullmatch(rf"\d{{{DIGITS}}}", code):
        return None
    totp, now = _totp(secret), int(time.time()) // INTERVAL
    last = user.mfa_last_step if user.mfa_last_step is not None else -1
    for step in range(now - VALID_WINDOW, now + VALID_WINDOW + 1):
        if step > last and pyotp.utils.strings_equal(totp.generate_otp(step), code):
            return step
    return None


def _new_recovery_codes(user, now) -> list[str]:
    from .services import hash_password
    _revoke_codes(user, now)
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(16))
        db.session.add(MfaRecoveryCode(user_id=user.id, lookup=raw[:4],
                                       code_hash=hash_password(raw), created_at=now))
        codes.append("-".join(raw[i:i + 4] for i in range(0, 16, 4)))
    return codes


def _revoke_codes(user, now) -> None:
    for c in db.session.scalars(select(MfaRecoveryCode).where(
            MfaRecoveryCode.user_id == user.id, MfaRecoveryCode.used_at.is_(None),
            MfaRecoveryCode.revoked_at.is_(None))):
        c.revoked_at = now


def remaining_codes(user) -> int:
    return db.session.scalar(select(func.count(MfaRecoveryCode.id)).where(
        MfaRecoveryCode.user_id == user.id, MfaRecoveryCode.used_at.is_(None),
        MfaRecoveryCode.revoked_at.is_(None))) or 0


def _use_recovery_code(user, code: str, actor: Actor) -> bool:
    from .services import _verify_hash
    if len(code) != 16 or any(ch not in _ALPHABET for ch in code):
        return False
    for c in db.session.scalars(select(MfaRecoveryCode).where(
            MfaRecoveryCode.user_id == user.id, MfaRecoveryCode.lookup == code[:4],
            MfaRecoveryCode.used_at.is_(None), MfaRecoveryCode.revoked_at.is_(None))):
        if _verify_hash(c.code_hash, code):
            c.used_at = utcnow()
            db.session.flush()
            record("mfa.recovery_code_used", actor, object_type="user", object_id=user.id,
                   new={"remaining": remaining_codes(user)})
            return True
    return False


def _actor(user, actor: Actor | None) -> Actor:
    return actor if actor is not None else Actor(user.id, user.name, None, user)


def verify_second_factor(user, code: str, *, actor: Actor | None = None) -> bool:
    """True when ``code`` is a current TOTP code (not used before) or an unused recovery
    code of the user (which is consumed); False otherwise, and always False for a user
    without MFA.

    Rate-limited per account (``mfa.account``): when blocked, raises
    :class:`~edc.auth.ratelimit.RateLimited` (HTTP 429, audited) without checking.
    A failure is counted and committed at once — call this before changing anything.
    On success the consumed code is flushed: the caller's commit makes it final.
    """
    if not is_enrolled(user):
        return False
    actor = _actor(user, actor)
    ratelimit.check(("mfa.account", user.id), actor=actor, object_type="user",
                    object_id=user.id)
    code = _normal(code)
    step = _check_totp(user, _decrypt(user), code)
    if step is not None:
        user.mfa_last_step = step
        db.session.flush()
        return True
    if _use_recovery_code(user, code, actor):
        return True
    ratelimit.hit("mfa.account", user.id)
    return False


# ------------------------------------------------------------------ enrolment
def start_enrolment(user, actor: Actor) -> str:
    """The secret to enrol with: the pending one, or a new one (stored encrypted)."""
    if is_enrolled(user):
        raise ServiceError(_l("Two-step log-in is already set up."))
    if not may_enrol(user):
        raise Forbidden(_l("Two-step log-in is not offered for your roles."))
    secret = pending_secret(user)
    if secret is None:
        secret = pyotp.random_base32(32)
        user.mfa_secret_enc = _encrypt(user, secret)
        user.mfa_last_step = None
        record("mfa.enrolment_started", actor, object_type="user", object_id=user.id)
        db.session.commit()
    return secret


def confirm_enrolment(user, code: str, actor: Actor) -> list[str]:
    """Confirm the enrolment with a first code; returns the ten recovery codes (shown
    once, stored hashed)."""
    secret = pending_secret(user)
    if secret is None:
        raise ServiceError(_l("Start the set-up again: no enrolment is pending."))
    ratelimit.check(("mfa.account", user.id), actor=actor, object_type="user",
                    object_id=user.id)
    step = _check_totp(user, secret, _normal(code))
    if step is None:
        ratelimit.hit("mfa.account", user.id, commit=False)
        record("mfa.enrolment_failed", actor, object_type="user", object_id=user.id,
               reason="wrong code")
        db.session.commit()
        raise ServiceError(_l("The code is wrong or has expired: check the time of your "
                              "phone and enter the code the app shows now."))
    now = utcnow()
    user.mfa_enabled_at, user.mfa_last_step = now, step
    codes = _new_recovery_codes(user, now)
    record("mfa.enrol", actor, object_type="user", object_id=user.id,
           new={"recovery_codes": RECOVERY_CODES})
    ratelimit.clear("mfa.account", user.id, commit=False)
    db.session.commit()
    return codes


def renew_recovery_codes(user, code: str, actor: Actor) -> list[str]:
    """Ten new recovery codes (the old ones stop working), after a second factor."""
    if not verify_second_factor(user, code, actor=actor):
        record("mfa.recovery_codes_refused", actor, object_type="user", object_id=user.id,
               reason="wrong code")
        db.session.commit()
        raise ServiceError(WRONG_CODE)
    codes = _new_recovery_codes(user, utcnow())
    record("mfa.recovery_codes_renewed", actor, object_type="user", object_id=user.id,
           new={"recovery_codes": RECOVERY_CODES})
    db.session.commit()
    return codes


def _clear(user, now) -> None:
    user.mfa_secret_enc = None
    user.mfa_enabled_at = None
    user.mfa_last_step = None
    _revoke_codes(user, now)


def turn_off(user, password: str, code: str, actor: Actor) -> None:
    """The user turns their own (optional) MFA off: password and a second factor."""
    from .services import check_password
    if is_required(user):
        raise Forbidden(_l("Your role requires two-step log-in: it cannot be turned off."))
    if not is_enrolled(user):
        raise ServiceError(_l("Two-step log-in is not set up."))
    if not check_password(user, password or "") or \
            not verify_second_factor(user, code, actor=actor):
        db.session.rollback()
        record("mfa.disable_refused", actor, object_type="user", object_id=user.id,
               reason="wrong password or code")
        db.session.commit()
        raise ServiceError(_l("The password or the code is wrong: two-step log-in stays "
                              "on."))
    _clear(user, utcnow())
    record("mfa.disable", actor, object_type="user", object_id=user.id,
           old={"mfa": True}, new={"mfa": False})
    db.session.commit()


def reset(user, actor: Actor) -> None:
    """An administrator removes the user's MFA (lost phone and codes): the user enrols
    again at the next log-in (if their role requires it). Every session of the user ends."""
    if not is_enrolled(user) and user.mfa_secret_enc is None:
        raise ServiceError(_l("%(email)s has no two-step log-in to reset."),
                           email=user.email)
    was = is_enrolled(user)
    _clear(user, utcnow())
    user.session_epoch = (user.session_epoch or 0) + 1
    record("mfa.reset", actor, object_type="user", object_id=user.id,
           old={"mfa": was}, new={"mfa": False})
    db.session.commit()


def user_by_id(user_id: int) -> User | None:
    return db.session.get(User, user_id)
