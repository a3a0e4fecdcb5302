"""The loaded eCRF definitions of this app (current files + stored older versions)."""
from __future__ import annotations

from functools import lru_cache

from flask import current_app
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from .definitions import Catalog, FormDef, form_from_source
from .models import FormVersion


def catalog() -> Catalog:
    return current_app.extensions["edc_catalog"]


def current(oid: str) -> FormDef | None:
    return catalog().forms.get(oid)


@lru_cache(maxsize=256)
def _from_source(source: str) -> FormDef:
    return form_from_source(source)


def form_version(oid: str, version: int) -> FormDef:
    """The definition a record was entered with: the current file, or the stored source."""
    cur = current(oid)
    if cur is not None and cur.version == version:
        return cur
    row = db.session.scalars(select(FormVersion).filter_by(oid=oid, version=version)).first()
    if row is None:
        raise LookupError(f"form {oid} version {version} is unknown")
    return _from_source(row.source)


_REGISTERED_HASH = select(FormVersion.__table__.c.content_hash).where(
    FormVersion.__table__.c.oid == bindparam("oid"),
    FormVersion.__table__.c.version == bindparam("version"))


def ensure_registered(form: FormDef) -> None:
    """Store the definition of the version records are being entered with (once)."""
    stored = db.session.connection().execute(
        _REGISTERED_HASH, {"oid": form.oid, "version": form.version}).scalar()
    if stored is None:
        # Two first saves of a form version may race: the loser re-reads the winner's row.
        try:
            with db.session.begin_nested():
                db.session.add(FormVersion(oid=form.oid, version=form.version,
                                           content_hash=form.content_hash,
                                           source=form.source))
            return
        except IntegrityError:
            stored = db.session.scalars(select(FormVersion).filter_by(
                oid=form.oid, version=form.version)).one().content_hash
    if stored != form.content_hash:
        raise RuntimeError(f"{form.oid}: the definition changed without a version bump "
                           f"(run flask --app edc forms check)")


def version_problems() -> list[str]:
    """Forms whose content changed although records exist with the same version."""
    problems = []
    stored = {(r.oid, r.version): r for r in db.session.scalars(select(FormVersion))}
    for form in catalog().forms.values():
        row = stored.get((form.oid, form.version))
        if row is not None and row.content_hash != form.content_hash:
            problems.append(f"{form.oid}.yaml: content changed but version {form.version} "
                            f"already has records: bump the version")
        older = [v for (o, v) in stored if o == form.oid and v > form.version]
        if older:
            problems.append(f"{form.oid}.yaml: version {form.version} is older than stored "
                            f"version {max(older)}")
    return problems
