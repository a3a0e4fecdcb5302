"""Load benchmark: gunicorn (several workers) on PostgreSQL on 127.0.0.1, N simulated
investigators for T seconds through the investigator loop:
login, patient list, open form, save form, view timeline.

    .venv/bin/python tests/benchmarks/bench_load.py [--users 50] [--seconds 120]
        [--workers 4] [--threads 4] [--port 5099]

Prints requests/s, p50/p95/p99 latency per step and the error count. Targets on the
2-core machine: 0 errors, p95 <= 300 ms for every step at 50 users. Traffic goes to
127.0.0.1 only; every loop is bounded in time and stops by itself.
"""
from __future__ import annotations

import argparse
import base64
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
PASSWORD = "correct horse battery staple"
DB = "postgresql+psycopg://postgres@127.0.0.1:5432/edc_load"
CRS = {"CRSDAT": "2026-03-10", "CRSTMAX": "38.6", "CRSFEVOC": "false", "CRSMASK": "false",
       "CRSHYPO": "false", "CRSO2DEV": "none", "CRSDTH": "false", "CRSICU": "false",
       "CRSGRINV": "1", "CRSTOCI": "false", "CRSCS": "false", "CRSACYT": "false",
       "action": "save"}


def seed(users: int) -> list[str]:
    """A fresh database with ES01, `users` investigators and one patient each."""
    import psycopg
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres",
                         autocommit=True) as c:
        c.execute("DROP DATABASE IF EXISTS edc_load WITH (FORCE)")
        c.execute("CREATE DATABASE edc_load")
    from datetime import date

    from edc import create_app
    from edc.audit.services import Actor
    from edc.auth import services as auth
    from edc.cli import upgrade_db
    from edc.patients import services as patients
    from edc.sites.services import add_site, get_by_code
    os.environ["EDC_MASTER_KEY"] = MASTER
    app = create_app({"SECRET_KEY": "load", "DATABASE_URL": DB})
    pids = []
    with app.app_context():
        upgrade_db()
        a = Actor(None, "bench", "bench")
        add_site("ES01", "Load test site", "ES", "Europe/Madrid", a)
        for i in range(users):
            email = f"inv{i}@load.test"
            auth.create_user(email, f"Investigator {i}", PASSWORD, a)
            auth.grant(email, "ES01", "investigator", a)
            user = auth.get_user_by_email(email)
            p = patients.register(get_by_code("ES01"), Actor.of(user, "bench"),
                                  birth_year=2014, sex="F", registered_on=date(2026, 1, 5))
            pids.append(p.pseudonym)
        from edc.extensions import db
        db.engine.dispose()
    return pids


MASTER = base64.b64encode(os.urandom(32)).decode()


def token(html: str) -> str:
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
    return m.group(1)


def user_loop(i, pid, base, stop_at, lat, errors):
    s = requests.Session()
    visit_path = f"/patients/{pid}/forms/ACUTE/CRS"

    def step(name, method, path, **kw):
        t0 = time.perf_counter()
        try:
            r = s.request(method, base + path, timeout=30, allow_redirects=False, **kw)
            ok = r.status_code == 200 or (r.status_code == 302 and name in (
                "login", "save form") and "/auth/" not in r.headers.get("Location", ""))
        except requests.RequestException:
            r, ok = None, False
        lat[name].append(time.perf_counter() - t0)
        if not ok:
            errors.append((name, getattr(r, "status_code", "exception")))
        return r
    r = step("login page", "GET", "/auth/login")
    if r is None or r.status_code != 200:
        return
    step("login", "POST", "/auth/login",
         data={"email": f"inv{i}@load.test", "password": PASSWORD, "csrf_token": token(r.text)})
    while time.time() < stop_at:
        step("patient list", "GET", "/patients/")
        r = step("open form", "GET", visit_path)
        if r is None or r.status_code != 200:
            continue
        step("save form", "POST", visit_path, data=dict(CRS, csrf_token=token(r.text)))
        step("timeline", "GET", f"/patients/{pid}")


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--seconds", type=int, default=120)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--port", type=int, default=5099)
    args = ap.parse_args()
    pids = seed(args.users)
    env = dict(os.environ, EDC_DATABASE_URL=DB, EDC_SECRET_KEY="load", EDC_MASTER_KEY=MASTER,
               EDC_SESSION_COOKIE_SECURE="false",
               # the simulated investigators have no authenticator app
               EDC_MFA_REQUIRED_ROLES="")
    gun = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "--workers", str(args.workers), "--threads",
         str(args.threads), "--bind", f"127.0.0.1:{args.port}", "--log-level", "warning",
         "wsgi:app"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(100):
            try:
                requests.get(base + "/auth/login", timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.2)
        lat, errors = defaultdict(list), []
        stop_at = time.time() + args.seconds
        threads = [threading.Thread(target=user_loop, args=(i, pids[i], base, stop_at, lat,
                                                            errors), daemon=True)
                   for i in range(args.users)]
        t0 = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join(args.seconds + 60)
        wall = time.time() - t0
    finally:
        gun.send_signal(signal.SIGTERM)
        gun.wait(30)
    total = sum(len(v) for v in lat.values())
    print(f"{args.users} users, {args.seconds} s, gunicorn {args.workers} workers x "
          f"{args.threads} threads, PostgreSQL")
    print(f"requests: {total}  ({total / wall:.1f} req/s)   errors: {len(errors)}")
    print(f"{'step':<14}{'n':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for name in ("login page", "login", "patient list", "open form", "save form", "timeline"):
        v = lat.get(name, [])
        if v:
            print(f"{name:<14}{len(v):>7}{pct(v, 50) * 1000:>9.0f}{pct(v, 95) * 1000:>9.0f}"
                  f"{pct(v, 99) * 1000:>9.0f}")
    if errors:
        print("first errors:", errors[:10])


if __name__ == "__main__":
    main()
