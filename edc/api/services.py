"""Personal API tokens: created by their user, shown once, stored as a SHA-256 hash,
revocable, expiring; every creation and revocation is audited. A token acts as its user:
the API scopes data exactly like the screens (edc/access.py)."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import access
from ..audit.services import Actor, record as audit
from ..db import utcnow
from ..errors import Conflict, Forbidden, NotFound, ServiceError
from ..extensions import db
from .models import ApiToken

TOKEN_PREFIX = "edc_"  # nosec B105 — the public prefix of every token, not a secret
LAST_USED_EVERY = timedelta(hours=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(actor: Actor, name: str, days: int) -> tuple[ApiToken, str]:
    """A new token for the acting user: (row, the token — shown once, never stored)."""
    user = actor.user
    if user is None or not access.user_sites(user):
        raise Forbidden(_l("You hold no role at any site: an API token would give you "
                           "nothing."))
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ServiceError(_l("Give the token a name (100 characters at most)."))
    max_days = int(current_app.config.get("API_TOKEN_MAX_DAYS") or 365)
    if not isinstance(days, int) or not 1 <= days <= max_days:
        raise ServiceError(_l("A token is valid for 1 to %(n)d days."), n=max_days)
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    row = ApiToken(user_id=user.id, name=name, prefix=plain[:12], token_hash=_hash(plain),
                   created_at=now, expires_at=now + timedelta(days=days))
    db.session.add(row)
    db.session.flush()
    audit("api.token.create", actor, object_type="api_token", object_id=row.id,
          new={"name": name, "prefix": row.prefix, "expires_at": row.expires_at})
    db.session.commit()
    return row, plain


def list_tokens(user) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                   .order_by(ApiToken.id.desc())))


def revoke(actor: Actor, token_id: int) -> ApiToken:
    row = db.session.get(ApiToken, token_id)
    if row is None or actor.user is None or row.user_id != actor.user.id:
        raise NotFound(_l("Token not found."))
    if row.revoked_at is not None:
        raise Conflict(_l("This token was already revoked."))
    row.revoked_at = utcnow()
    audit("api.token.revoke", actor, object_type="api_token", object_id=row.id,
          old="active", new="revoked")
    db.session.commit()
    return row


class TokenRefused(ServiceError):
    """A presented token that does not authenticate (HTTP 401)."""

    status = 401


BAD_TOKEN = _l("A valid API token is required (missing, unknown, revoked or expired).")
MUST_CHANGE = _l("Your password was reset: log in and choose a new one. Until then your "
                 "API tokens do not work.")


def _refuse(reason: str, ip: str | None, user=None) -> TokenRefused:
    """Count (per IP, and per account when the token names one) and audit a failed token
    authentication; committed, so the count holds whatever the caller does next."""
    from ..auth import ratelimit
    ratelimit.hit("api.ip", ip, commit=False)
    if user is not None:
        ratelimit.hit("api.account", user.id, commit=False)
    audit("api.auth.failure", Actor(user.id, user.name, ip) if user is not None
          else Actor(None, None, ip), object_type="user" if user is not None else None,
          object_id=user.id if user is not None else None, reason=reason)
    db.session.commit()
    return TokenRefused(MUST_CHANGE if reason == "password change required" else BAD_TOKEN)


def authenticate(header: str | None, ip: str | None = None):
    """The user of a valid ``Authorization: Bearer`` token.

    - no Authorization header: None (not counted: nothing was tried);
    - an address with too many failed token authentications (``api.ip``), an account with
      too many failures of its tokens (``api.account``) or too many requests
      (``api.use``): :class:`~edc.auth.ratelimit.RateLimited` (429, audited), without
      looking further;
    - a malformed or unknown token, a revoked or expired one, a token of a disabled user or
      of a user who must change their password (admin reset): :class:`TokenRefused` (401),
      counted and audited;
    - otherwise the user; the request is counted against the account's ``api.use`` quota.
    """
    from ..auth import ratelimit
    if header is None:
        return None
    anonymous = Actor(None, None, ip)
    ratelimit.check(("api.ip", ip), actor=anonymous)
    plain = header[7:].strip() if header.startswith("Bearer ") else ""
    if not plain.startswith(TOKEN_PREFIX) or len(plain) > 200:
        raise _refuse("malformed token", ip)
    row = db.session.scalars(select(ApiToken).where(ApiToken.token_hash == _hash(plain))) \
        .first()
    if row is None:
        raise _refuse("unknown token", ip)
    user = row.user
    actor = Actor(user.id, user.name, ip, user)
    ratelimit.check(("api.account", user.id), actor=actor, object_type="user",
                    object_id=user.id)
    now = utcnow()
    state = row.state(now)
    if state != "active":
        raise _refuse(f"{state} token", ip, user)
    if not user.active:
        raise _refuse("user disabled", ip, user)
    if user.must_change_password:
        raise _refuse("password change required", ip, user)
    ratelimit.check(("api.use", user.id), actor=actor, object_type="user",
                    object_id=user.id)
    ratelimit.hit("api.use", user.id, commit=False)
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_EVERY:
        row.last_used_at = now
    db.session.commit()
    return user
