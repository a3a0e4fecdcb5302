"""Sites: creation (with their wrapped data key) and key access."""
from __future__ import annotations

import re
from zoneinfo import ZoneInfo, available_timezones

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import keys
from ..audit.services import Actor, record
from ..errors import ServiceError
from ..extensions import db
from .models import Site

CODE_RE = re.compile(r"^[A-Z]{2}[0-9]{2}$")


def master_key() -> bytes:
    return keys.load_master_key(current_app.config, current_app.instance_path)


def add_site(code: str, name: str, country: str, timezone: str, actor: Actor, *,
             demo: bool = False) -> Site:
    code = (code or "").strip().upper()
    if not CODE_RE.match(code):
        raise ServiceError(_l("A site code is two letters and two digits, e.g. ES01."))
    if db.session.scalars(select(Site).where(Site.code == code)).first() is not None:
        raise ServiceError(_l("The site %(code)s already exists."), code=code)
    country = (country or "").strip().upper()
    if not re.match(r"^[A-Z]{2}$", country):
        raise ServiceError(_l("A country is a two-letter ISO 3166 code, e.g. ES."))
    if timezone not in available_timezones():
        raise ServiceError(_l("Unknown time zone: %(tz)s (use Area/City, e.g. "
                              "Europe/Madrid)."), tz=timezone)
    if not (name or "").strip():
        raise ServiceError(_l("A site name is required."))
    site = Site(code=code, name=name.strip(), country=country, timezone=timezone,
                wrapped_key=keys.new_wrapped_site_key(master_key()), demo=demo)
    db.session.add(site)
    db.session.flush()
    record("site.create", actor, site_code=code, object_type="site", object_id=site.id,
           new={"code": code, "name": site.name, "country": country, "timezone": timezone})
    db.session.commit()
    return site


def site_key(site: Site) -> bytes:
    return keys.unwrap(master_key(), site.wrapped_key)


def zone(site: Site) -> ZoneInfo:
    return ZoneInfo(site.timezone)


def get_by_code(code: str) -> Site | None:
    return db.session.scalars(select(Site).where(Site.code == (code or "").upper())).first()
