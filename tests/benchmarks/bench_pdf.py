"""Benchmark: a site's casebooks (about 1,000 pages) printed into one zip, with flat memory.

    .venv/bin/python tests/benchmarks/bench_pdf.py [--pages 1000] [--lang en]
        [--pg postgresql+psycopg://postgres@127.0.0.1:5432/edc_bench_pdf]

Builds a site whose patients have realistic records (consent, demographics corrected
with a reason, daily CRS and ICANS assessments, follow-up visits with out-of-range values
raising automatic queries, missing-data codes), all saved through the eCRF service (so
the audit trail is real), until their casebooks hold about ``--pages`` pages. Then runs
the same code as ``flask --app edc pdf casebooks``: one casebook is built, written into
the zip and forgotten before the next. Prints pages per second, peak RSS, and the RSS
after the first tenth of the casebooks and at the end (flat memory: no growth with the
number of casebooks).
"""
from __future__ import annotations

import argparse
import base64
import math
import os
import resource
import sys
import tempfile
import time
import zipfile
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

PASSWORD = "correct horse battery staple"
ICANS = {  # as in bench_save.py: a valid ICANS assessment
    "ICANDD": "false", "ICANSED": "false", "ICEYEAR": "1", "ICEMONTH": "1", "ICECITY": "1",
    "ICEHOSP": "0", "ICENAME": "3", "ICECMD": "1", "ICEWRITE": "1", "ICECOUNT": "0",
    "ICANLOC": "voice", "ICANSZ": "none", "ICANEEG": "false", "ICANMOT": "false",
    "ICANIMG": "false", "ICANICH": "false", "ICANICP": "false", "ICANDTH": "false",
    "ICANGINV": "2",
}


def rss_mb() -> float:
    """Current resident set size (MB), from /proc."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    """Peak RSS of the process (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM), so it measures the printing alone."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def hwm_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def make_app(url: str):
    from argon2 import PasswordHasher

    import edc.auth.services as auth
    from edc import create_app
    from edc.cli import upgrade_db
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url,
                      "MASTER_KEY": base64.b64encode(os.urandom(32)).decode()})
    app.instance_path = tempfile.mkdtemp()
    auth._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with app.app_context():
        upgrade_db()
    return app


def _save(actor, patient, visit, oid, values, *, missing=None, complete=False,
          record_id=None, reason=None):
    from edc.crf import services as crf
    rv = crf.get_record(actor, patient, record_id).row_version if record_id else None
    out = crf.save(actor, patient, visit, oid, record_id=record_id, row_version=rv,
                   raw=values, raw_missing=missing or {}, complete=complete, reason=reason)
    assert out.saved, out.result.__dict__
    return out.record.id


def add_patient(actor, site, n: int) -> None:
    """One patient with about two dozen records through the real save path."""
    from edc.patients import services as patients
    p = patients.register(site, actor, birth_year=2012 + n % 8, sex="FM"[n % 2],
                          registered_on=date(2026, 1, 5))
    _save(actor, p, "SCR", "IC", {"RFICDAT": "2026-01-06", "ICLANG": "es", "ICVER": "v2.1"})
    dm = _save(actor, p, "SCR", "DM", {"BRTHYR": str(2012 + n % 8), "SEX": "FM"[n % 2],
                                       "WEIGHT": "22,5", "HEIGHT": "118"}, complete=True)
    _save(actor, p, "SCR", "DM", {"BRTHYR": str(2012 + n % 8), "SEX": "FM"[n % 2],
                                  "WEIGHT": "23.1", "HEIGHT": "118"}, complete=True,
          record_id=dm, reason="Transcription error corrected")
    d0 = date(2026, 2, 1)
    for day in range(7):
        when = (d0 + timedelta(days=day)).isoformat()
        _save(actor, p, "ACUTE", "CRS", {"CRSDAT": when, "CRSTMAX": f"{38 + day % 3}.4",
                                         "CRSO2DEV": "none", "CRSHYPO": "false",
                                         "CRSSPO2": "97", "CRSCRP": "45.5"})
        _save(actor, p, "ACUTE", "ICANS", dict(ICANS, ICANDAT=when))
    for visit, offset, weight in (("D7", 7, "140"), ("D14", 14, "23.4"), ("D21", 21, "23.8"),
                                  ("D28", 28, "24")):
        _save(actor, p, visit, "FU", {"FUDAT": (d0 + timedelta(days=offset)).isoformat(),
                                      "FUSURV": "alive", "FUWT": weight, "FUPLAT": "120"},
              missing={"FUHT": ("ND", "Scale broken")})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=1000, help="pages to print (about)")
    ap.add_argument("--lang", default="en")
    ap.add_argument("--pg", default=None, help="PostgreSQL URL (default: SQLite)")
    args = ap.parse_args()
    import logging
    logging.disable(logging.INFO)
    tmp = tempfile.mkdtemp()
    url = args.pg or f"sqlite:///{tmp}/bench.sqlite"
    if args.pg:
        from sqlalchemy import create_engine, text
        eng = create_engine(args.pg, isolation_level="AUTOCOMMIT")
        with eng.connect() as c:
            c.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            c.execute(text("CREATE SCHEMA public"))
        eng.dispose()
    app = make_app(url)
    from edc.audit.services import Actor
    from edc.auth import services as auth
    from edc.extensions import db
    from edc.reports import services
    from edc.reports.casebook import write_casebook
    from edc.sites.services import add_site, get_by_code

    with app.app_context():
        setup = Actor(None, "bench", "bench")
        add_site("ES01", "Hospital Clínic–IDIBAPS, Barcelona", "ES", "Europe/Madrid", setup)
        auth.create_user("inv@bench.org", "Bench Investigator", PASSWORD, setup)
        auth.grant("inv@bench.org", "ES01", "investigator", setup)
        actor = Actor.of(auth.get_user_by_email("inv@bench.org"), "bench")
        site = get_by_code("ES01")
        t0 = time.perf_counter()
        add_patient(actor, site, 0)
        from edc.patients.models import Patient
        first = db.session.query(Patient).one()
        import io
        per_patient = write_casebook(io.BytesIO(), first, args.lang,
                                     generated_at=first.created_at)
        n_patients = max(1, math.ceil(args.pages * 1.05 / per_patient))
        for n in range(1, n_patients):
            add_patient(actor, get_by_code("ES01"), n)
        db.session.remove()
        print(f"data: {n_patients} patients, about {per_patient} pages each "
              f"({time.perf_counter() - t0:.0f} s to enter through the eCRF service)")

        samples: list[float] = []

        def progress(done, total, pseudonym, pages):
            samples.append(rss_mb())

        start_rss = rss_mb()
        entry_peak = peak_mb()
        peak_reset = reset_peak()
        t0 = time.perf_counter()
        res = services.site_casebooks(Actor(None, "cli:bench", "cli"), get_by_code("ES01"),
                                      args.lang, Path(tmp) / "out", on_progress=progress)
        dt = time.perf_counter() - t0
        with zipfile.ZipFile(res.path) as zf:
            assert len(zf.namelist()) == res.patients
        tenth = samples[max(0, len(samples) // 10 - 1)]
        print(f"printed: {res.patients} casebooks, {res.pages} pages, {args.lang}, "
              f"{'PostgreSQL' if args.pg else 'SQLite'}")
        print(f"  time          : {dt:8.1f} s")
        print(f"  pages/s       : {res.pages / dt:8.1f}")
        print(f"  zip           : {res.path.stat().st_size / 1e6:8.1f} MB")
        print(f"  RSS before    : {start_rss:8.1f} MB")
        print(f"  RSS after 10% : {tenth:8.1f} MB")
        print(f"  RSS at end    : {samples[-1]:8.1f} MB  (growth after the first tenth: "
              f"{samples[-1] - tenth:+.1f} MB)")
        if peak_reset:
            print(f"  peak RSS      : {hwm_mb():8.1f} MB  while printing (data entry before "
                  f"it: {entry_peak:.1f} MB)")
        else:
            print(f"  peak RSS      : {peak_mb():8.1f} MB  (whole run, data entry included)")
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main()
