"""What an administrator may see and do, scoped to the sites where they hold the admin
role (permission USERS_MANAGE). The changes themselves are the audited services of
edc.auth.services.

* Users listed: those holding a role at one of the administrator's sites, and those
  holding no role at all (new accounts waiting for one).
* Roles are granted and revoked only at the administrator's own sites.
* Account actions (disable, unlock, reset password, reset MFA) only on users whose every
  role is at the administrator's sites — an administrator of one site cannot take over
  an account that works at another site. Nobody acts on their own account here.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import access
from ..audit.services import Actor
from ..auth import mfa
from ..auth import services as auth
from ..auth.models import User
from ..errors import Forbidden, NotFound, ServiceError
from ..extensions import db
from ..sites.models import Site


def managed_sites(admin) -> list[Site]:
    ids = set(access.sites_with(admin, access.USERS_MANAGE))
    return [s for s in access.user_sites(admin) if s.id in ids]


def require_admin(admin) -> list[Site]:
    sites = managed_sites(admin)
    if not sites:
        raise Forbidden(_l("You are not allowed to do this."))
    return sites


@dataclass
class UserRow:
    user: User
    #: site code → role names, at the administrator's sites only
    roles: dict[str, list[str]] = field(default_factory=dict)
    #: holds roles at sites the administrator does not manage
    elsewhere: bool = False
    manageable: bool = False
    mfa: str = "off"
    locked: bool = False


def _row(admin, user: User, managed_ids: set[int]) -> UserRow | None:
    mine = [m for m in user.memberships if m.active and m.site_id in managed_ids]
    elsewhere = any(m.active and m.site_id not in managed_ids for m in user.memberships)
    if elsewhere and not mine:
        return None  # another site's user
    roles: dict[str, list[str]] = {}
    for m in sorted(mine, key=lambda m: (m.site.code, access.ROLES.index(m.role)
                                         if m.role in access.ROLES else 99)):
        roles.setdefault(m.site.code, []).append(m.role)
    return UserRow(user=user, roles=roles, elsewhere=elsewhere,
                   manageable=not elsewhere and user.id != admin.id,
                   mfa=mfa.status(user), locked=auth.is_locked(user))


def user_rows(admin) -> list[UserRow]:
    managed_ids = {s.id for s in require_admin(admin)}
    rows = []
    for user in db.session.scalars(select(User).order_by(User.name, User.id)):
        row = _row(admin, user, managed_ids)
        if row is not None:
            rows.append(row)
    return rows


def user_row(admin, user_id: int) -> UserRow:
    """One user the administrator may see; NotFound otherwise."""
    managed_ids = {s.id for s in require_admin(admin)}
    user = db.session.get(User, user_id)
    row = _row(admin, user, managed_ids) if user is not None else None
    if row is None:
        raise NotFound(_l("Unknown user."))
    return row


def _managed_site(admin, site_code: str) -> Site:
    for s in require_admin(admin):
        if s.code == (site_code or "").upper():
            return s
    raise Forbidden(_l("You may change roles only at the sites where you are an "
                       "administrator."))


def _not_self(admin, row: UserRow) -> None:
    if row.user.id == admin.id:
        raise Forbidden(_l("Another administrator must change your own account."))


def _account(admin, user_id: int) -> User:
    row = user_row(admin, user_id)
    _not_self(admin, row)
    if not row.manageable:
        raise Forbidden(_l("This user also works at sites you do not administer: an "
                           "administrator of every one of their sites must do this."))
    return row.user


def grant(admin, user_id: int, site_code: str, role: str, actor: Actor) -> None:
    row = user_row(admin, user_id)
    _not_self(admin, row)
    site = _managed_site(admin, site_code)
    auth.grant(row.user.email, site.code, role, actor)


def revoke(admin, user_id: int, site_code: str, role: str, actor: Actor) -> None:
    row = user_row(admin, user_id)
    _not_self(admin, row)
    site = _managed_site(admin, site_code)
    auth.revoke(row.user.email, site.code, role, actor)


def disable(admin, user_id: int, actor: Actor) -> None:
    auth.disable(_account(admin, user_id).email, actor)


def unlock(admin, user_id: int, actor: Actor) -> None:
    auth.unlock(_account(admin, user_id).email, actor)


def reset_password(admin, user_id: int, actor: Actor) -> str:
    user = _account(admin, user_id)
    if not user.active:
        raise ServiceError(_l("%(email)s is disabled."), email=user.email)
    return auth.reset_password(user.email, actor)


def reset_mfa(admin, user_id: int, actor: Actor) -> None:
    auth.reset_mfa(_account(admin, user_id).email, actor)


def grant_by_email(admin, email: str, site_code: str, role: str, actor: Actor) -> User:
    """Grant a role at one of the administrator's sites to any existing account (e.g. a
    person who already works at another site)."""
    site = _managed_site(admin, site_code)
    user = auth.get_user_by_email(email)
    if user is None:
        raise NotFound(_l("Unknown user: %(email)s"), email=auth.normalise_email(email))
    if user.id == admin.id:
        raise Forbidden(_l("Another administrator must change your own account."))
    auth.grant(user.email, site.code, role, actor)
    return user
