"""Who may do what, where — the ONE place that scopes data to a user's sites.

Roles are held per site (Membership). A permission is granted at a site when one of the
user's active roles there carries it. Views never re-implement this: they ask
:func:`can`, :func:`sites_with` or :func:`patient_query` / :func:`get_patient`.
A patient of a site where the user may not see patients is a 404, never a 403.
"""
from __future__ import annotations

from functools import cache

from sqlalchemy import Select, select

from flask_babel import lazy_gettext as _l

from .errors import Forbidden, NotFound

ROLES = ("investigator", "coordinator", "monitor", "data_manager", "statistician", "admin",
         "safety")
ROLE_LABELS = {
    "investigator": _l("Investigator"),
    "coordinator": _l("Study coordinator"),
    "monitor": _l("Monitor"),
    "data_manager": _l("Data manager"),
    "statistician": _l("Statistician"),
    "admin": _l("Administrator"),
    "safety": _l("Sponsor safety officer"),
}

# permission names
PATIENT_VIEW = "patient.view"
PATIENT_REGISTER = "patient.register"
IDENTIFIERS_VIEW = "identifiers.view"
CRF_VIEW = "crf.view"
CRF_EDIT = "crf.edit"
QUERY_ANSWER = "query.answer"
QUERY_MANAGE = "query.manage"     # raise, close, re-open, cancel
SDV = "sdv"
SIGN = "sign"
LOCK = "lock"                     # freeze forms, lock patients/sites, unlock
AUDIT_VIEW = "audit.view"
SNAPSHOT_VIEW = "snapshot.view"   # locked datasets only
WORKING_EXPORT = "export.working"
CASEBOOK = "casebook.print"
USERS_MANAGE = "users.manage"
ALERT_VIEW = "alert.view"         # safety alerts of the site (inbox, list)
DASHBOARD = "monitoring.dashboard"  # the monitor dashboard of the site

PERMISSIONS: dict[str, frozenset[str]] = {
    "investigator": frozenset({PATIENT_VIEW, PATIENT_REGISTER, IDENTIFIERS_VIEW, CRF_VIEW,
                               CRF_EDIT, QUERY_ANSWER, SIGN, AUDIT_VIEW, CASEBOOK,
                               ALERT_VIEW}),
    "coordinator": frozenset({PATIENT_VIEW, PATIENT_REGISTER, IDENTIFIERS_VIEW, CRF_VIEW,
                              CRF_EDIT, QUERY_ANSWER, AUDIT_VIEW, CASEBOOK}),
    "monitor": frozenset({PATIENT_VIEW, CRF_VIEW, QUERY_MANAGE, SDV, AUDIT_VIEW, CASEBOOK,
                          ALERT_VIEW, DASHBOARD}),
    "data_manager": frozenset({PATIENT_VIEW, CRF_VIEW, QUERY_MANAGE, LOCK, AUDIT_VIEW,
                               WORKING_EXPORT, ALERT_VIEW, DASHBOARD, SNAPSHOT_VIEW}),
    "statistician": frozenset({SNAPSHOT_VIEW}),
    "admin": frozenset({USERS_MANAGE, AUDIT_VIEW}),
    # the sponsor's safety users: the safety alerts of the sites they are assigned to
    "safety": frozenset({ALERT_VIEW}),
}


def roles_at(user, site_id: int) -> set[str]:
    if user is None or not getattr(user, "is_authenticated", False):
        return set()
    return {m.role for m in user.memberships if m.site_id == site_id and m.active}


def can(user, permission: str, site_id: int) -> bool:
    return any(permission in PERMISSIONS[r] for r in roles_at(user, site_id))


def can_anywhere(user, permission: str) -> bool:
    return bool(sites_with(user, permission))


def sites_with(user, permission: str) -> list[int]:
    """Ids of the sites where the user holds a role carrying ``permission``."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return sorted({m.site_id for m in user.memberships
                   if m.active and permission in PERMISSIONS[m.role]})


def user_sites(user) -> list:
    """Every site where the user holds at least one active role (for the site switcher)."""
    seen = {}
    for m in (user.memberships if user is not None and user.is_authenticated else []):
        if m.active:
            seen[m.site_id] = m.site
    return sorted(seen.values(), key=lambda s: s.code)


def patient_query(user, permission: str = PATIENT_VIEW) -> Select:
    """``select(Patient)`` restricted to the sites where the user has ``permission``."""
    from .patients.models import Patient
    return select(Patient).where(Patient.site_id.in_(sites_with(user, permission)))


def get_patient(session, user, pseudonym: str, permission: str = PATIENT_VIEW):
    """The patient, if the user may see it; NotFound otherwise (even if it exists).

    If the user may see the patient but lacks ``permission`` there: Forbidden.
    """
    patient = session.execute(_patient_by_pseudonym(), {
        "sites": sites_with(user, PATIENT_VIEW), "pseudonym": pseudonym}).scalar()
    if patient is None:
        raise NotFound(_l("Patient not found."))
    if permission != PATIENT_VIEW and not can(user, permission, patient.site_id):
        raise Forbidden(_l("You are not allowed to do this."))
    return patient


@cache
def _patient_by_pseudonym():
    """Built once: every patient page runs it."""
    from sqlalchemy import bindparam

    from .patients.models import Patient
    return select(Patient).where(Patient.site_id.in_(bindparam("sites", expanding=True)),
                                 Patient.pseudonym == bindparam("pseudonym"))


def require(user, permission: str, site_id: int) -> None:
    if not can(user, permission, site_id):
        raise Forbidden(_l("You are not allowed to do this."))


def can_everywhere(user, permission: str) -> bool:
    """True if the user holds ``permission`` at every site of the trial (trial-wide
    operations such as the database lock)."""
    from .extensions import db
    from .sites.models import Site
    all_sites = set(db.session.scalars(select(Site.id)))
    return bool(all_sites) and all_sites <= set(sites_with(user, permission))
