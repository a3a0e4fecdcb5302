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


def authenticate(header: str | None):
    """The user of a valid ``Authorization: Bearer`` token, else None (unknown, revoked
    or expired token; disabled user)."""
    if not header or not header.startswith("Bearer "):
        return None
    plain = header[7:].strip()
    if not plain.startswith(TOKEN_PREFIX) or len(plain) > 200:
        return None
    row = db.session.scalars(select(ApiToken).where(ApiToken.token_hash == _hash(plain))) \
        .first()
    now = utcnow()
    if row is None or row.state(now) != "active" or not row.user.active:
        return None
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_EVERY:
        row.last_used_at = now
        db.session.commit()
    return row.user
