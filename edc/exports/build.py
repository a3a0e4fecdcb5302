"""Generating a snapshot directory: datasets, every format, the signed manifest.

Records stream from the database form by form (CSV, long CSV and the stats buffers of one
form at a time), then patient by patient (ODM). Nothing about a field is written here:
the form definitions say what each column is. The same data give the same bytes.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

from sqlalchemy import select

from ..audit.models import AuditEvent
from ..auth.models import User
from ..crf import catalog as cat
from ..extensions import db
from ..sites.models import Site
from . import manifest as mf
from . import plan, rows
from .source import Definitions, Scope, Source, fast_json
from .texts import from_app
from .writers import codebook, odm, stats
from .writers.csv import LONG_HEADER, CsvFile

ALL_FORMATS = ("csv", "codebook", "odm", "sas", "stata", "spss")
STATS = ("sas", "stata", "spss")
NAN = float("nan")
FORMAT_OF_EXT = {".csv": "csv", ".html": "codebook", ".xml": "odm", ".xpt": "sas",
                 ".sas": "sas", ".dta": "stata", ".sav": "spss", ".pem": "key"}


@dataclass
class BuildInfo:
    name: str
    locked: bool
    kind: str                               # full | interim | working
    as_of: datetime
    site_ids: tuple[int, ...]
    version: int | None = None
    cutoff: date | None = None
    lock: dict | None = None                # id, name, locked_at, locked_by, reason…
    taken_by: str | None = None
    odm_audit: bool = False

    @property
    def prefix(self) -> str:
        return "" if self.locked else "NOT_LOCKED_"

    @property
    def label(self) -> str:
        if self.locked:
            return f"MILenARI locked snapshot {self.name}"
        return f"MILenARI WORKING EXPORT - NOT LOCKED {self.name}"


@dataclass
class Result:
    manifest: dict
    manifest_bytes: bytes
    files: list[dict]
    timings: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------- the build
def build(directory: Path, info: BuildInfo, *, formats=ALL_FORMATS, key=None,
          app=None) -> Result:
    """Write every file of the snapshot into ``directory`` (which must exist, empty)."""
    from flask import current_app
    app = app or current_app._get_current_object()
    directory = Path(directory)
    texts = from_app(app)
    schedule = cat.catalog().schedule
    defs = Definitions(cat.form_version)
    timings: dict[str, float] = {}
    scope = Scope(tuple(sorted(info.site_ids)), info.cutoff)
    prefix = info.prefix
    written: list[str] = []
    counts: dict[str, dict[str, int]] = {}
    n_values = 0

    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ",
                                          postgresql_readonly=True)
        with conn.begin(), fast_json(conn):
            t0 = time.perf_counter()
            source = Source(conn, scope, defs, schedule)
            present = source.versions()
            oids = sorted(set(cat.catalog().forms) | set(present))
            datasets = []
            for oid in oids:
                versions = set(present.get(oid, ()))
                current = cat.current(oid)
                if current is not None:
                    versions.add(current.version)
                datasets.append(plan.build_dataset([defs.get(oid, v)
                                                    for v in sorted(versions)]))
            plan.assign_members(datasets)
            codelists = plan.Codelists(datasets)
            sites = [(c, n) for c, n in conn.execute(
                select(Site.code, Site.name).where(Site.id.in_(scope.site_ids))
                .order_by(Site.code))]
            timings["plan"] = time.perf_counter() - t0

            want_stats = [f for f in STATS if f in formats]
            if "csv" in formats or want_stats:
                t0 = time.perf_counter()
                long_csv = CsvFile(directory / f"{prefix}items_long.csv", LONG_HEADER) \
                    if "csv" in formats else None
                try:
                    for ds in datasets:
                        n_values += _form_pass(ds, source, directory, info, formats,
                                               want_stats, long_csv, counts, written,
                                               texts, timings)
                finally:
                    if long_csv is not None:
                        long_csv.close()
                if long_csv is not None:
                    written.append(f"{prefix}items_long.csv")
                timings["forms"] = time.perf_counter() - t0
            else:
                for r in source.all_records():
                    counts.setdefault(r.oid, {}).setdefault(r.site, 0)
                    counts[r.oid][r.site] += 1
                    n_values += sum(1 for v in r.values.values() if v is not None) + \
                        len(r.missing)
            if "sas" in formats:
                name = f"{prefix}formats.sas"
                (directory / name).write_text(stats.sas_formats_program(datasets, texts),
                                              encoding="utf-8", newline="\n")
                written.append(name)

            if "odm" in formats:
                t0 = time.perf_counter()
                meta = odm.Metadata(datasets, schedule, texts,
                                    mdv_oid=f"MDV.{info.name}")
                audit = users = None
                if info.odm_audit:
                    audit = _audit_lookup(conn)
                    users = [(None, "system")] + [
                        (uid, name) for uid, name in conn.execute(
                            select(User.id, User.name).order_by(User.id))]
                name = f"{prefix}odm.xml"
                odm.write(directory / name, meta, source.by_patient(),
                          file_oid=f"MILENARI.{info.name}", as_of=info.as_of,
                          description=info.label, sites=sites, defs=defs, audit=audit,
                          users=users)
                written.append(name)
                timings["odm"] = time.perf_counter() - t0

    if "codebook" in formats:
        t0 = time.perf_counter()
        cb_info = {"name": info.name, "locked": info.locked, "version": info.version,
                   "as_of": _iso(info.as_of), "cutoff": info.cutoff,
                   "sites": [c for c, _n in sites]}
        for name, fn in ((f"{prefix}codebook.csv",
                          lambda p: codebook.write_csv(p, datasets, codelists, texts)),
                         (f"{prefix}codebook_codelists.csv",
                          lambda p: codebook.write_codelists_csv(p, codelists, texts)),
                         (f"{prefix}codebook.html",
                          lambda p: codebook.write_html(p, app.jinja_env, datasets,
                                                        codelists, texts, info=cb_info))):
            fn(directory / name)
            written.append(name)
        timings["codebook"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    if key is None:
        key = mf.load_private_key(app.config, app.instance_path)
    public = key.public_key()
    (directory / mf.PUBLIC_KEY).write_bytes(mf.public_pem(public))
    written.append(mf.PUBLIC_KEY)
    files = [dict(mf.file_entry(directory, n), format=_format_of(n)) for n in sorted(written)]
    manifest = _manifest(info, datasets, counts, n_values, files, sites, mf.fingerprint(public))
    blob = mf.write_signed(directory, manifest, key)
    timings["manifest"] = time.perf_counter() - t0
    return Result(manifest, blob, files, timings)


def _form_pass(ds, source, directory, info, formats, want_stats, long_csv, counts,
               written, texts, timings) -> int:
    prefix = info.prefix
    want_csv = "csv" in formats
    make = rows.wide_maker(ds, want_csv=want_csv, want_stats=bool(want_stats))
    wide = CsvFile(directory / f"{prefix}{ds.oid}.csv", [v.name for v in ds.vars]) \
        if want_csv else None
    buf = stats.StatsBuffer(ds) if want_stats else None
    n_values = 0
    site_counts = counts.setdefault(ds.oid, {})
    longs: dict[int, object] = {}
    pending: list[tuple] = []
    try:
        for r in source.by_form(ds.oid):
            site_counts[r.site] = site_counts.get(r.site, 0) + 1
            csv_row, stat_row = make(r)
            if wide is not None:
                wide.writerow(csv_row)
            if buf is not None:
                buf.add(stat_row)
            add = longs.get(r.version)
            if add is None:
                add = longs[r.version] = rows.long_maker(source.defs.get(r.oid, r.version))
            n_values += add(r, pending)
            if len(pending) >= 5000:
                if long_csv is not None:
                    long_csv.writerows(pending)
                pending.clear()
        if long_csv is not None and pending:
            long_csv.writerows(pending)
    finally:
        if wide is not None:
            wide.close()
    if wide is not None:
        written.append(f"{prefix}{ds.oid}.csv")
    if not site_counts:
        counts.pop(ds.oid, None)
    for fmt in want_stats:
        t0 = time.perf_counter()
        ext = {"sas": "xpt", "stata": "dta", "spss": "sav"}[fmt]
        fname = f"{prefix}{ds.member.lower() if fmt == 'sas' else ds.oid}.{ext}"
        stats.write(buf, fmt, directory / fname, file_label=f"{ds.oid} {info.label}",
                    as_of=info.as_of, texts=texts)
        written.append(fname)
        timings[fmt] = timings.get(fmt, 0.0) + time.perf_counter() - t0
    if buf is not None:
        buf.clear()
    return n_values


def _audit_lookup(conn):
    def lookup(record_ids):
        out = {}
        for rid, item, uid, at, reason in conn.execute(
                select(AuditEvent.record_id, AuditEvent.item, AuditEvent.user_id,
                       AuditEvent.at, AuditEvent.reason)
                .where(AuditEvent.record_id.in_(record_ids),
                       AuditEvent.action.in_(("crf.create", "crf.update")))
                .order_by(AuditEvent.id)):
            out[(rid, item)] = (uid, at, reason)
        return out
    return lookup


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _format_of(name: str) -> str:
    if name == mf.PUBLIC_KEY:
        return "key"
    if "codebook" in name:
        return "codebook"
    if name.endswith("items_long.csv"):
        return "csv-long"
    return FORMAT_OF_EXT.get(Path(name).suffix, "other")


def _manifest(info: BuildInfo, datasets, counts, n_values, files, sites, fp) -> dict:
    from .writers.odm import _version
    lock = info.lock or {}
    return {
        "format": "MILenARI EDC snapshot manifest 1",
        "snapshot": info.name,
        "locked": info.locked,
        "status": "LOCKED" if info.locked else "NOT LOCKED - working export for data "
                                              "cleaning; the data may still change",
        "kind": info.kind,
        "version": info.version,
        "as_of": _iso(info.as_of),
        "lock_time": _iso(info.as_of) if info.locked else None,
        "locked_by": lock.get("locked_by") if info.locked else None,
        "taken_by": info.taken_by,
        "lock": {"id": lock.get("id"), "name": lock.get("name"), "kind": lock.get("kind"),
                 "cutoff": info.cutoff.isoformat() if info.cutoff else None,
                 "override_reason": lock.get("override_reason"),
                 "blockers": lock.get("blockers") or {}} if info.locked else None,
        "cutoff": info.cutoff.isoformat() if info.cutoff else None,
        "sites": [c for c, _n in sites],
        "form_versions": {ds.oid: [{"version": f.version, "content_hash": f.content_hash}
                                   for f in ds.forms] for ds in datasets},
        "record_counts": {oid: dict(sorted(c.items())) for oid, c in sorted(counts.items())},
        "records": sum(sum(c.values()) for c in counts.values()),
        "item_values": n_values,
        "odm_audit_records": info.odm_audit,
        "no_direct_identifiers": True,
        "software": {"name": "MILenARI EDC", "version": _version()},
        "signing": {"algorithm": "Ed25519", "public_key_sha256": fp,
                    "public_key_file": mf.PUBLIC_KEY, "signature_file": mf.SIGNATURE},
        "files": files,
    }
