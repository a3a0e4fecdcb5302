"""In-app help for each role, from ONE source: edc/help/help.yaml (English msgids,
translated through the catalogues like the eCRF texts)."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from .. import access

HELP_FILE = Path(__file__).with_name("help.yaml")


@dataclass(frozen=True)
class Link:
    endpoint: str
    label: str


@dataclass(frozen=True)
class Section:
    title: str
    text: str = ""
    steps: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()


@dataclass(frozen=True)
class Help:
    common: tuple[Section, ...]
    roles: dict = field(default_factory=dict)   # role -> tuple[Section, ...]


def _sections(raw) -> tuple[Section, ...]:
    out = []
    for s in raw or []:
        for x in [s.get("title"), s.get("text"), *(s.get("steps") or ())]:
            if x is not None and not isinstance(x, str):
                raise ValueError(f"help.yaml: not a text (quote it?): {x!r}")
        out.append(Section(
            title=str(s["title"]), text=str(s.get("text") or "").strip(),
            steps=tuple(str(x) for x in s.get("steps") or ()),
            links=tuple(Link(str(lk["endpoint"]), str(lk["label"]))
                        for lk in s.get("links") or ())))
    return tuple(out)


@lru_cache(maxsize=1)
def load(path: Path = HELP_FILE) -> Help:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    roles = {role: _sections((raw or {}).get("sections"))
             for role, raw in (data.get("roles") or {}).items()}
    unknown = set(roles) - set(access.ROLES)
    if unknown:
        raise ValueError(f"{path.name}: unknown roles {sorted(unknown)}")
    return Help(common=_sections((data.get("common") or {}).get("sections")), roles=roles)


#: who may open the page a help link points to (anywhere; None: every logged-in user)
LINK_PERMISSIONS = {
    "patients.index": access.PATIENT_VIEW,
    "patients.register": access.PATIENT_REGISTER,
    "schedule.overdue": access.CRF_VIEW,
    "schedule.summary": access.CRF_VIEW,
    "queries.index": access.CRF_VIEW,
    "queries.sdv_progress": access.CRF_VIEW,
    "queries.mine": access.QUERY_MANAGE,
    "monitoring.dashboard": access.DASHBOARD,
    "signing.locks_page": access.LOCK,
    "alerts.inbox": access.ALERT_VIEW,
    "admin.users": access.USERS_MANAGE,
    "exports.index": (access.SNAPSHOT_VIEW, access.WORKING_EXPORT),
    "exports.lock": access.LOCK,
    "main.home": None,
    "auth.change_password": None,  # nosec B105 (an endpoint name, no password)
    "auth.mfa": None,
    "api_tokens.tokens": None,
}


def may_open(user, endpoint: str) -> bool:
    perm = LINK_PERMISSIONS.get(endpoint, "?")
    if perm is None:
        return True
    if perm == "?":
        return False
    perms = perm if isinstance(perm, tuple) else (perm,)
    return any(access.can_anywhere(user, p) for p in perms)
