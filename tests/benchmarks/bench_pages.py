"""Micro-benchmark of the investigator loop's GET pages: server CPU per page.

    .venv/bin/python tests/benchmarks/bench_pages.py [--n 60] [--rounds 3]
        [--records 25] [--patients 50] [--lang en] [--sqlite] [--show-sql PAGE]
        [--profile PAGE [--all] [--cprofile [--sort tottime] [--lines 45]]]
        [--pg postgresql+psycopg://postgres@127.0.0.1:5432/edc_pages_bench]

The same data as tests/benchmarks/bench_load.py after a while: a site with ``--patients``
patients, an investigator, and one patient with ``--records`` CRS assessments (ACUTE
visit, repeating) and a demography record. Through the Flask test client (one process,
no HTTP server), it requests each page ``--n`` times after a warm-up (``--rounds`` times,
keeping the quickest round: other work on the machine slows a round down) and prints the CPU
milliseconds per request of this process (``time.process_time``: the app and the test
client, not the database server), the SQL statements one request sends, the page's size
and the Python function calls of one request (cProfile; a count that, unlike the CPU time,
does not move with other work on the machine):

- patient list      GET /patients/
- form (new)        GET /patients/<pid>/forms/ACUTE/CRS (repeating: the blank new-record page)
- form (existing)   GET /patients/<pid>/records/<rid> (a saved CRS assessment)
- timeline          GET /patients/<pid>

``--profile PAGE`` (list, new, existing, timeline) prints a pyinstrument profile of that
page's requests instead (``--all``: every frame), or with ``--cprofile`` cProfile's
table (call counts). The PostgreSQL database (default edc_pages_bench) is emptied first.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench_common import (INVESTIGATOR, StatementCounter, fresh_pg,  # noqa: E402
                          investigator_app)

CRS = {"CRSDAT": "2026-03-10", "CRSTMAX": "38.6", "CRSFEVOC": "false", "CRSMASK": "false",
       "CRSHYPO": "false", "CRSO2DEV": "none", "CRSDTH": "false", "CRSICU": "false",
       "CRSGRINV": "1", "CRSTOCI": "false", "CRSCS": "false", "CRSACYT": "false",
       "action": "save"}


def setup(url: str, patients: int, records: int, lang: str):
    from datetime import date

    import edc.auth.services as auth
    from edc.audit.services import Actor
    from edc.patients import services as patient_services
    from edc.sites.services import get_by_code
    app, c, token = investigator_app(url)
    with app.app_context():
        user = auth.get_user_by_email(INVESTIGATOR)
        pids = [patient_services.register(get_by_code("ES01"), Actor.of(user, "bench"),
                                          birth_year=2014, sex="F",
                                          registered_on=date(2026, 1, 5)).pseudonym
                for _ in range(patients)]
    pid = pids[0]
    rid = None
    for n in range(records):
        r = c.post(f"/patients/{pid}/forms/ACUTE/CRS",
                   data=dict(CRS, csrf_token=token, CRSTMAX=f"{37.5 + n % 25 / 10:.1f}"))
        assert r.status_code == 302 and "/records/" in r.headers["Location"], r.status_code
        rid = rid or int(r.headers["Location"].rsplit("/", 1)[1])
    if lang != "en":
        c.post("/language", data={"lang": lang, "csrf_token": token})
    with c.session_transaction() as sess:
        sess.pop("_flashes", None)
    pages = {"list": "/patients/",
             "new": f"/patients/{pid}/forms/ACUTE/CRS",
             "existing": f"/patients/{pid}/records/{rid}",
             "timeline": f"/patients/{pid}"}
    return app, c, pages


def count_statements(app, c, path) -> list[str]:
    with StatementCounter(app) as counter:
        r = c.get(path)
    assert r.status_code == 200, (path, r.status_code)
    return counter.statements


def python_calls(c, path) -> int:
    """Python function calls of one request (cProfile): unlike the CPU time, the same
    from run to run whatever else the machine does."""
    import cProfile
    import pstats
    prof = cProfile.Profile()
    prof.enable()
    c.get(path)
    prof.disable()
    return pstats.Stats(prof).total_calls


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds of --n requests per page; the quickest round is shown")
    ap.add_argument("--records", type=int, default=25)
    ap.add_argument("--patients", type=int, default=50)
    ap.add_argument("--lang", default="en")
    ap.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/"
                    "edc_pages_bench")
    ap.add_argument("--sqlite", action="store_true")
    ap.add_argument("--profile", choices=("list", "new", "existing", "timeline"))
    ap.add_argument("--all", action="store_true", help="--profile: every frame")
    ap.add_argument("--cprofile", action="store_true",
                    help="--profile with cProfile: call counts, sorted by --sort")
    ap.add_argument("--sort", default="tottime", help="--cprofile: pstats sort key")
    ap.add_argument("--lines", type=int, default=45, help="--cprofile: lines shown")
    ap.add_argument("--show-sql", choices=("list", "new", "existing", "timeline"))
    args = ap.parse_args()
    if args.sqlite:
        url = f"sqlite:///{tempfile.mkdtemp()}/pages.sqlite"
    else:
        url = args.pg
        fresh_pg(url)
    app, c, pages = setup(url, args.patients, args.records, args.lang)
    for path in pages.values():  # warm-up: templates compiled, caches filled
        for _ in range(3):
            r = c.get(path)
            assert r.status_code == 200, (path, r.status_code)
    if args.profile and args.cprofile:
        import cProfile
        import pstats
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(args.n):
            c.get(pages[args.profile])
        prof.disable()
        pstats.Stats(prof).sort_stats(args.sort).print_stats(args.lines)
        return
    if args.profile:
        from pyinstrument import Profiler
        prof = Profiler(interval=0.0005)
        prof.start()
        for _ in range(args.n):
            c.get(pages[args.profile])
        prof.stop()
        print(prof.output_text(unicode=True, color=False, show_all=args.all))
        return
    print(f"{'SQLite' if args.sqlite else 'PostgreSQL'}, {args.patients} patients, "
          f"{args.records} CRS records on the timeline's patient, language {args.lang}, "
          f"{args.n} requests per page, best of {args.rounds} rounds")
    print(f"{'page':<12}{'CPU ms':>8}{'wall ms':>9}{'stmts':>7}{'KiB':>7}{'calls':>9}")
    for name, path in pages.items():
        cpu = wall = float("inf")
        for _ in range(args.rounds):  # the least disturbed round (other work on the cores)
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(args.n):
                r = c.get(path)
            cpu = min(cpu, (time.process_time() - c0) / args.n * 1000)
            wall = min(wall, (time.perf_counter() - t0) / args.n * 1000)
        stmts = count_statements(app, c, path)
        print(f"{name:<12}{cpu:>8.1f}{wall:>9.1f}{len(stmts):>7}{len(r.data) / 1024:>7.0f}"
              f"{python_calls(c, path):>9}")
        if args.show_sql == name:
            for s in stmts:
                print("      ", s)
    from edc.extensions import db
    with app.app_context():
        db.engine.dispose()


if __name__ == "__main__":
    main()
