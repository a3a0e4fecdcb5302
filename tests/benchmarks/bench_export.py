"""Benchmark: database lock + snapshot of a full trial, per format and as a whole.

    .venv/bin/python tests/benchmarks/bench_export.py [--patients 1000]
        [--pg postgresql+psycopg://postgres@127.0.0.1:5432/edc_bench_exp]

Generates synthetic patients (4 sites) with the full visit schedule — every scheduled
visit to year 15, 7 daily CRS/ICANS assessments, an adverse event and an unscheduled visit
— about 1,000 item values per patient (30 % of the items left empty, as skip logic does;
3 % missing-data codes), on PostgreSQL. Then, each in a fresh process (so that its peak
RSS is its own):

- every format alone (CSV wide + long, codebook, ODM, SAS, Stata, SPSS): seconds, item
  values per second, peak RSS;
- a raw baseline: the same rows selected with SQL and written with csv.writer (wide files
  and a long file through jsonb_each_text), and the ratio of the CSV writer to it;
- the whole thing as a data manager does it: lock (blockers, lock row, audit) + the
  snapshot in every format + manifest and signature. Target: <= 60 s on 2 cores, peak
  RSS <= 400 MB.
"""
from __future__ import annotations

import argparse
import base64
import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE.parents[2]))

from bench_common import fresh_pg  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/edc_bench_exp"
SITES = (("ES01", "Barcelona", "ES", "Europe/Madrid"), ("IT01", "Rome", "IT", "Europe/Rome"),
         ("LB01", "Beirut", "LB", "Asia/Beirut"), ("JO01", "Amman", "JO", "Asia/Amman"))
PASSWORD = "correct horse battery staple"
PHASES = ("csv", "codebook", "odm", "sas", "stata", "spss", "baseline", "lock")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_app(url: str, instance: str):
    from argon2 import PasswordHasher

    import edc.auth.services as auth
    from edc import create_app
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url,
                      "MASTER_KEY": Path(instance, "master.b64").read_text().strip(),
                      "SESSION_COOKIE_SECURE": False,
                      "SNAPSHOT_DIR": str(Path(instance, "snapshots"))})
    app.instance_path = instance
    auth._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return app


# ---------------------------------------------------------------- data
def generate(url: str, instance: str, n_patients: int) -> dict:
    import logging
    from datetime import date, timedelta

    from sqlalchemy import insert

    from edc.audit.services import Actor
    from edc.auth import services as auth
    from edc.cli import upgrade_db
    from edc.extensions import db
    from edc.patients.models import Patient
    from edc.patients.pseudonym import make as pseudonym
    from edc.sites import services as sites
    from edc.sites.models import Site
    from export_data import insert_records, patients_of, sign_casebooks
    logging.disable(logging.INFO)
    app = make_app(url, instance)
    t0 = time.perf_counter()
    with app.app_context():
        upgrade_db()
        a = Actor(None, "bench", "bench")
        for code, name, cc, tz in SITES:
            sites.add_site(code, name, cc, tz, a)
        auth.create_user("dm@bench.org", "Bench Data Manager", PASSWORD, a)
        auth.create_user("inv@bench.org", "Bench Investigator", PASSWORD, a)
        for code, *_ in SITES:
            auth.grant("dm@bench.org", code, "data_manager", a)
            auth.grant("inv@bench.org", code, "investigator", a)
        inv = auth.get_user_by_email("inv@bench.org")
        rows, site_rows = [], list(db.session.query(Site).order_by(Site.code))
        for i in range(n_patients):
            s = site_rows[i % len(site_rows)]
            seq = i // len(site_rows) + 1
            rows.append(dict(site_id=s.id, seq=seq, pseudonym=pseudonym(s.code, seq),
                             status="enrolled", birth_year=2010 + i % 12, sex="FM"[i % 2],
                             registered_on=date(2024, 1, 8) + timedelta(days=i % 300),
                             demo=False, created_by=inv.id))
        db.session.execute(insert(Patient), rows)
        for s in site_rows:
            s.patient_seq = (n_patients + len(site_rows) - 1) // len(site_rows)
        db.session.commit()
        pts = patients_of()
        n_values = insert_records(pts, seed=2026, acute_days=7, full=True, p_empty=0.3,
                                  p_missing=0.03, user_id=inv.id)
        sign_casebooks(pts, inv.id, inv.name)
        from sqlalchemy import func, select

        from edc.crf.models import FormRecord
        n_records = db.session.scalar(select(func.count(FormRecord.id)))
        db.session.commit()
        db.engine.dispose()
    vacuum(url)
    return {"patients": n_patients, "records": n_records, "values": n_values,
            "seconds": time.perf_counter() - t0}


def vacuum(url: str) -> None:
    """As a production database would be: vacuumed and analysed after the bulk load."""
    from sqlalchemy import create_engine, text
    eng = create_engine(url, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text("VACUUM (ANALYZE)"))
    eng.dispose()


def cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


# ---------------------------------------------------------------- phases (children)
def phase(name: str, url: str, instance: str) -> dict:
    import logging
    logging.disable(logging.INFO)
    app = make_app(url, instance)
    out_dir = Path(tempfile.mkdtemp(prefix=f"bench-{name}-", dir=instance))
    with app.app_context():
        from sqlalchemy import select

        from edc.extensions import db
        from edc.sites.models import Site
        t0 = time.perf_counter()
        if name == "lock":
            from edc.exports import services
            blockers = services.blockers()          # timed alone; the lock runs it again
            t_blockers = time.perf_counter() - t0
            t0 = time.perf_counter()
        cpu0 = cpu_seconds()
        if name == "baseline":
            rows = baseline(url, out_dir)
            extra = {}
        elif name == "lock":
            from edc.audit.services import Actor
            from edc.auth.services import get_user_by_email
            from edc.exports import services
            dm = Actor.of(get_user_by_email("dm@bench.org"), "bench")
            lock, snap = services.lock_database(dm, kind="full")
            man = services.read_manifest(snap)
            rows = man["item_values"]
            extra = {"blockers_s": t_blockers, "files": snap.file_count,
                     "bytes": snap.total_bytes, "records": man["records"],
                     "blocked": blockers.total}
            services.unlock_database(dm, "benchmark")
        else:
            from datetime import datetime, timezone

            from edc.exports.build import BuildInfo, build
            ids = tuple(db.session.scalars(select(Site.id)))
            info = BuildInfo(name="bench", locked=True, kind="full",
                             as_of=datetime.now(timezone.utc), site_ids=ids, version=1)
            res = build(out_dir, info, formats=(name,))
            rows = res.manifest["item_values"] or res.manifest["records"]
            extra = {"records": res.manifest["records"],
                     "bytes": sum(f["size"] for f in res.files),
                     "parts": {k: round(v, 2) for k, v in res.timings.items()}}
        seconds = time.perf_counter() - t0
        cpu = cpu_seconds() - cpu0
        db.engine.dispose()
    return {"phase": name, "seconds": seconds, "cpu": cpu, "rows": rows,
            "peak_rss_mb": peak_rss_mb(), **extra}


def baseline(url: str, out_dir: Path) -> int:
    """The same rows, selected with SQL and written with csv.writer: one wide file per
    form (values in the definition's item order) and one long file (jsonb_each_text)."""
    import psycopg

    from edc.crf import catalog as cat
    dsn = url.replace("postgresql+psycopg", "postgresql")
    rows = 0
    base = ("from form_record r join patient p on p.id = r.patient_id "
            "join site s on s.id = r.site_id where r.status in ('in_progress', 'complete') ")
    with psycopg.connect(dsn) as conn:
        for oid, form in sorted(cat.catalog().forms.items()):
            items = list(form.items)
            with conn.cursor(name=f"b_{oid}") as cur, \
                    open(out_dir / f"{oid}.csv", "w", newline="", encoding="utf-8") as fh:
                cur.itersize = 2000
                cur.execute("select p.pseudonym, s.code, r.visit_code, r.seq, "
                            "r.form_version, r.status, r.values " + base +
                            "and r.form_oid = %s order by p.pseudonym, r.visit_code, r.seq",
                            (oid,))
                w = csv.writer(fh)
                w.writerow(["SUBJID", "SITEID", "VISIT", "REPEAT", "FORMVER", "RECSTAT"]
                           + items)
                for row in cur:
                    values = row[6]
                    w.writerow(list(row[:6]) + [values.get(i) for i in items])
        with conn.cursor(name="b_long") as cur, \
                open(out_dir / "items_long.csv", "w", newline="", encoding="utf-8") as fh:
            cur.itersize = 5000
            cur.execute("select p.pseudonym, s.code, r.visit_code, r.form_oid, "
                        "r.form_version, r.seq, kv.key, kv.value " + base.replace(
                            "where", ", jsonb_each_text(r.values) kv where") +
                        "order by r.form_oid, p.pseudonym, r.visit_code, r.seq")
            w = csv.writer(fh)
            w.writerow(["SUBJID", "SITEID", "VISIT", "FORM", "FORMVER", "REPEAT", "ITEM",
                        "VALUE"])
            for row in cur:
                w.writerow(row)
                rows += 1
    return rows


def run_child(name: str, url: str, instance: str) -> dict:
    res = subprocess.run([sys.executable, str(HERE), "--phase", name, "--pg", url,
                          "--instance", instance], capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"phase {name} failed:\n{res.stderr[-4000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=1000)
    ap.add_argument("--pg", default=DEFAULT_PG)
    ap.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    ap.add_argument("--instance", help=argparse.SUPPRESS)
    ap.add_argument("--only", default=",".join(PHASES),
                    help="comma-separated phases to time (default: all)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the instance folder (keys, snapshots) for inspection")
    args = ap.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, args.pg, args.instance)))
        return
    instance = tempfile.mkdtemp(prefix="bench-export-")
    Path(instance, "master.b64").write_text(base64.b64encode(os.urandom(32)).decode())
    print(f"PostgreSQL {args.pg.rsplit('@', 1)[-1]}; {os.cpu_count()} CPUs; load average "
          f"{os.getloadavg()[0]:.1f} (other processes compete for the CPUs); "
          f"instance {instance}")
    fresh_pg(args.pg)
    gen = generate(args.pg, instance, args.patients)
    print(f"generated {gen['patients']} patients, {gen['records']} records, "
          f"{gen['values']} item values in {gen['seconds']:.1f} s")
    results = {}
    for name in [p for p in PHASES if p in args.only.split(",")]:
        r = results[name] = run_child(name, args.pg, instance)
        rate = r["rows"] / r["seconds"] if r["seconds"] else 0
        more = f"  {r.get('parts')}" if r.get("parts") else ""
        print(f"  {name:<9} {r['seconds']:7.2f} s (CPU {r['cpu']:6.2f} s)  {rate:11,.0f} "
              f"rows/s  peak RSS {r['peak_rss_mb']:6.0f} MB{more}", flush=True)
    if "csv" in results and "baseline" in results:
        ratio = results["csv"]["seconds"] / results["baseline"]["seconds"]
        print(f"CSV writer {results['csv']['seconds']:.2f} s vs raw SQL + csv.writer "
              f"{results['baseline']['seconds']:.2f} s: ratio {ratio:.2f} "
              f"(CPU {results['csv']['cpu']:.1f} s vs {results['baseline']['cpu']:.1f} s)")
    if "lock" in results:
        r = results["lock"]
        print(f"lock + snapshot (all formats, manifest, signature): {r['seconds']:.1f} s "
              f"(blockers {r['blockers_s']:.1f} s), {r['files']} files, "
              f"{r['bytes'] / 1e6:.0f} MB, {r['records']} records, {r['rows']} values; "
              f"peak RSS {r['peak_rss_mb']:.0f} MB, CPU {r['cpu']:.1f} s — target <= 60 s "
              f"and <= 400 MB: "
              f"{'met' if r['seconds'] <= 60 and r['peak_rss_mb'] <= 400 else 'NOT met'}")
    if args.keep:
        print(f"kept {instance}")
    else:
        for root, dirs, _files in os.walk(instance):
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o700)   # snapshots are read-only
        shutil.rmtree(instance)


if __name__ == "__main__":
    main()
