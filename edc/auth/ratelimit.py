"""Rate limits on failed attempts (log-in, second factor, API tokens), and on the use of
an account's API tokens, in the database.

A *kind* names what is counted and how (``RATE_LIMITS`` in edc/config.py: kind →
(failed attempts, window in seconds)); a *key* is what it is counted for: an IP address
or an account. Counting lives in the ``rate_limit_hit`` table, so every gunicorn worker
sees the same counts. Keys are stored hashed.

Use: check :func:`blocked` before doing the (costly) check, :func:`hit` after a failed
one::

    if ratelimit.blocked("api.ip", ip):
        ...  # answer 429, with Retry-After: ratelimit.retry_after("api.ip", ip)
    if not token_ok:
        ratelimit.hit("api.ip", ip)

The kinds of the API (wired in edc/api/services.py :func:`authenticate`): ``api.ip``
counts failed token authentications per IP address, ``api.account`` those that name an
account (its revoked or expired tokens, its tokens while it is disabled or must change its
password), and ``api.use`` counts every request the account's tokens make (a quota, so a
stolen token cannot pull the whole database at full speed).

:func:`hit` commits by default (``commit=False`` to leave it to the caller's
transaction, e.g. together with an audit row).
"""
from __future__ import annotations

import hashlib
import math
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from ..db import utcnow
from ..errors import ServiceError
from ..extensions import db
from .models import RateLimitHit


TOO_MANY_FAILURES = _l("Too many failed attempts. Wait %(minutes)d minutes and try again.")
#: kinds that count something else than failures say so
MESSAGES = {
    "api.use": _l("Too many requests with this account's API tokens. Wait %(minutes)d "
                  "minutes and try again."),
}


class RateLimited(ServiceError):
    """Too many failed attempts: answered with HTTP 429."""

    status = 429

    def __init__(self, kind: str, retry_after: int, message=None):
        super().__init__(message or MESSAGES.get(kind) or TOO_MANY_FAILURES,
                         minutes=max(1, math.ceil(retry_after / 60)))
        self.kind = kind
        self.retry_after = retry_after


def limit(kind: str) -> tuple[int, int]:
    """(maximum failed attempts, window in seconds) of a kind; ValueError if unknown.

    A kind missing from an instance's own RATE_LIMITS keeps its default (edc/config.py)."""
    from .. import config
    try:
        attempts, window = (current_app.config.get("RATE_LIMITS") or {}).get(kind) or \
            config.RATE_LIMITS[kind]
    except KeyError:
        raise ValueError(f"unknown rate-limit kind {kind!r} (see RATE_LIMITS)") from None
    return int(attempts), int(window)


def _key(key) -> str:
    return hashlib.sha256(str(key if key is not None else "").strip().lower()
                          .encode("utf-8")).hexdigest()


def _window_query(kind: str, key):
    _, window = limit(kind)
    since = utcnow() - timedelta(seconds=window)
    return (RateLimitHit.kind == kind, RateLimitHit.key_hash == _key(key),
            RateLimitHit.at > since)


def count(kind: str, key) -> int:
    """Failed attempts of ``kind`` for ``key`` within the window."""
    return db.session.scalar(select(func.count(RateLimitHit.id)).where(
        *_window_query(kind, key))) or 0


def blocked(kind: str, key) -> bool:
    """True when ``key`` has used up its failed attempts of ``kind``: refuse the attempt."""
    attempts, _ = limit(kind)
    return count(kind, key) >= attempts


def retry_after(kind: str, key) -> int:
    """Seconds until the oldest counted failure leaves the window (0: not blocked)."""
    attempts, window = limit(kind)
    times = list(db.session.scalars(select(RateLimitHit.at).where(
        *_window_query(kind, key)).order_by(RateLimitHit.at.desc()).limit(attempts)))
    if len(times) < attempts:
        return 0
    free_at = times[-1] + timedelta(seconds=window)
    return max(1, math.ceil((free_at - utcnow()).total_seconds()))


def hit(kind: str, key, *, commit: bool = True) -> None:
    """Count one failed attempt of ``kind`` for ``key`` (and purge expired ones)."""
    _, window = limit(kind)
    now = utcnow()
    db.session.execute(delete(RateLimitHit).where(
        RateLimitHit.kind == kind, RateLimitHit.at <= now - timedelta(seconds=window)))
    db.session.add(RateLimitHit(kind=kind, key_hash=_key(key), at=now))
    if commit:
        db.session.commit()
    else:
        db.session.flush()


def clear(kind: str, key, *, commit: bool = True) -> None:
    """Forget the failed attempts of ``key`` (after a successful log-in, an unlock)."""
    db.session.execute(delete(RateLimitHit).where(RateLimitHit.kind == kind,
                                                  RateLimitHit.key_hash == _key(key)))
    if commit:
        db.session.commit()


def check(*pairs: tuple[str, object], actor=None, object_type: str | None = None,
          object_id=None) -> None:
    """Raise :class:`RateLimited` for the first blocked (kind, key) pair; with an
    ``actor``, the refusal is audited (``ratelimit.blocked``) and committed first."""
    for kind, key in pairs:
        if blocked(kind, key):
            if actor is not None:
                from ..audit.services import record
                record("ratelimit.blocked", actor, object_type=object_type,
                       object_id=object_id, reason=kind)
                db.session.commit()
            raise RateLimited(kind, retry_after(kind, key))
