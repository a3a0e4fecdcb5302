"""Load benchmark: gunicorn (several workers) on PostgreSQL on 127.0.0.1, N simulated
investigators for T seconds through the investigator loop:
login, patient list, open form, save form, view timeline.

    .venv/bin/python tests/benchmarks/bench_load.py [--users 50] [--seconds 120]
        [--think 1.0] [--ramp 10] [--workers 5] [--threads 1] [--port 5099] [--db edc_load]

Prints requests/s, p50/p95/p99 latency per step and the error count. Targets on the
2-core machine: 0 errors, p95 <= 300 ms for every step at 50 users. Traffic goes to
127.0.0.1 only; every loop is bounded in time and stops by itself.

Each user works on their own patient like a browser: "open form" follows the redirect
from the visit's form link to the record (both requests are timed as one step), "save
form" posts a changed temperature (so every save writes the record, its audit rows and
the automatic checks) with the page's CSRF token and row version.

Think time (``--think``): a person at a bedside reads the page and types before the next
click. By default each user pauses a random 0.5–1.5 × ``--think`` seconds (mean 1 s)
between steps, which is still far quicker than a real investigator (who spends minutes
on a form) — a conservative simulated user. ``--think 0`` is a closed loop with no pause
at all: 50 clients hammering as fast as the server answers. There, by Little's law, each
step's latency is about N users / throughput, so p95 ≤ 300 ms at 50 users would need
~170 steps/s from 2 cores shared with the 50 client threads; report both.

Log-ins (``--ramp``): the users log in one after the other over ``--ramp`` seconds, as
investigators do not all log in at the same instant; each log-in verifies an argon2id
hash (OWASP's parameters, ~40 ms of CPU by design), so 50 simultaneous log-ins take the
two cores for a few seconds (``--ramp 0``). When the last one is in, the T seconds of the loop
start; requests/s and the server's CPU (gunicorn workers + PostgreSQL backends, read from
/proc, so other work on the machine does not count) are those of the loop.

Server (``--workers``/``--threads``): the pages are CPU-bound Python (templates, ORM) and
the GIL lets one process use one core, so on 2 cores: 5 sync workers (gunicorn's 2 x
cores + 1) — a worker waiting for PostgreSQL leaves the core to another, and each
request goes to whichever worker is free. gthread workers (``--threads`` > 1) keep a
client's keep-alive connection on one worker, which unbalances 50 clients over few
workers.
"""
from __future__ import annotations

import argparse
import base64
import os
import random
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
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import cpu_times, steal_since  # noqa: E402
PASSWORD = "correct horse battery staple"
DB_NAME = "edc_load"
CRS = {"CRSDAT": "2026-03-10", "CRSTMAX": "38.6", "CRSFEVOC": "false", "CRSMASK": "false",
       "CRSHYPO": "false", "CRSO2DEV": "none", "CRSDTH": "false", "CRSICU": "false",
       "CRSGRINV": "1", "CRSTOCI": "false", "CRSCS": "false", "CRSACYT": "false",
       "action": "save"}


def db_url(name: str) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def seed(users: int, name: str) -> list[str]:
    """A fresh database with ES01, `users` investigators and one patient each."""
    import psycopg
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit("--db: a plain database name")
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres",
                         autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        c.execute(f"CREATE DATABASE {name}")
    from datetime import date

    from edc import create_app
    from edc.audit.services import Actor
    from edc.auth import services as auth
    from edc.cli import upgrade_db
    from edc.patients import services as patients
    from edc.sites.services import add_site, get_by_code
    os.environ["EDC_MASTER_KEY"] = MASTER
    app = create_app({"SECRET_KEY": "load", "DATABASE_URL": db_url(name)})
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


def row_version(html: str) -> str | None:
    m = re.search(r'name="row_version"[^>]*value="(\d+)"', html) or \
        re.search(r'value="(\d+)"[^>]*name="row_version"', html)
    return m.group(1) if m else None


class Run:
    """Shared state of one run: the log-in phase, then the timed investigator loop."""

    def __init__(self, users: int, seconds: float, on_start):
        self.lat, self.errors, self.requests = defaultdict(list), [], []
        self.stop_at = float("inf")
        self.seconds = seconds

        def start():  # the last user logged in: the loop starts for everyone
            self.stop_at = time.time() + seconds
            on_start()
        self.barrier = threading.Barrier(users, action=start)


def user_loop(i, pid, base, run: Run, think, start_at):
    time.sleep(max(0.0, start_at - time.time()))
    s = requests.Session()
    visit_path = f"/patients/{pid}/forms/ACUTE/CRS"
    rnd = random.Random(i)

    def pause():
        if think > 0:
            time.sleep(min(rnd.uniform(0.5 * think, 1.5 * think),
                           max(0.0, run.stop_at - time.time())))

    def step(name, method, path, follow=False, **kw):
        t0 = time.perf_counter()
        try:
            r = s.request(method, path if path.startswith("http") else base + path,
                          timeout=30, allow_redirects=follow, **kw)
            ok = r.status_code == 200 or (r.status_code == 302 and name in (
                "login", "save form") and "/auth/" not in r.headers.get("Location", ""))
            run.requests.append((name, 1 + len(r.history)))
        except requests.RequestException:
            r, ok = None, False
            run.requests.append((name, 1))
        run.lat[name].append(time.perf_counter() - t0)
        if not ok:
            run.errors.append((name, getattr(r, "status_code", "exception")))
        return r
    r = step("login page", "GET", "/auth/login")
    if r is not None and r.status_code == 200:
        pause()
        r = step("login", "POST", "/auth/login", data={
            "email": f"inv{i}@load.test", "password": PASSWORD, "csrf_token": token(r.text)})
    logged_in = r is not None and r.status_code == 302
    try:
        run.barrier.wait(timeout=600)
    except threading.BrokenBarrierError:
        return
    if not logged_in:
        return
    n = 0
    while time.time() < run.stop_at:
        pause()
        step("patient list", "GET", "/patients/")
        pause()
        # the visit's form link (CRS is a daily, repeating form: a new assessment)
        r = step("open form", "GET", visit_path, follow=True)
        if r is None or r.status_code != 200:
            continue
        pause()
        n += 1
        data = dict(CRS, csrf_token=token(r.text), CRSTMAX=f"{37.5 + (i + n) % 25 / 10:.1f}")
        rv = row_version(r.text)
        if rv:
            data["row_version"] = rv
        step("save form", "POST", r.url, data=data)
        pause()
        step("timeline", "GET", f"/patients/{pid}")


def cpu_seconds(pids) -> float:
    """user + system CPU seconds of processes (Linux /proc), 0 for those gone."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


def server_pids(gunicorn_pid: int, dbname: str) -> tuple[list[int], list[int]]:
    """The gunicorn workers, and the PostgreSQL backends connected to the database."""
    workers, backends = [], []
    try:
        with open(f"/proc/{gunicorn_pid}/task/{gunicorn_pid}/children") as f:
            workers = [int(x) for x in f.read().split()]
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open(f"/proc/{d}/cmdline", "rb") as f:
                        cmd = f.read().decode(errors="replace")
                except OSError:
                    continue
                if cmd.startswith("postgres: ") and f" {dbname} " in cmd:
                    backends.append(int(d))
    except OSError:
        pass
    return workers, backends


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--seconds", type=int, default=120)
    ap.add_argument("--ramp", type=float, default=10.0,
                    help="seconds over which the users start (log in)")
    ap.add_argument("--think", type=float, default=1.0,
                    help="mean pause between steps in seconds (0: none); see above")
    ap.add_argument("--workers", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1,
                    help="> 1: gthread workers (keep-alive pins a client to a worker)")
    ap.add_argument("--port", type=int, default=5099)
    ap.add_argument("--db", default=DB_NAME, help="PostgreSQL database (dropped first)")
    args = ap.parse_args()
    load_before = os.getloadavg()
    pids = seed(args.users, args.db)
    env = dict(os.environ, EDC_DATABASE_URL=db_url(args.db), EDC_SECRET_KEY="load",
               EDC_MASTER_KEY=MASTER,
               EDC_SESSION_COOKIE_SECURE="false",
               # the simulated investigators have no authenticator app
               EDC_MFA_REQUIRED_ROLES="")
    gun = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "--workers", str(args.workers), "--threads",
         str(args.threads), "--bind", f"127.0.0.1:{args.port}", "--log-level", "warning",
         "--backlog", "256", "wsgi:app"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(100):
            try:
                requests.get(base + "/auth/login", timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.2)
        mark = {}

        def loop_starts():  # CPU and time at the start of the timed loop
            workers, backends = server_pids(gun.pid, args.db)
            mark.update(t=time.time(), app=cpu_seconds(workers), db=cpu_seconds(backends),
                        backends=set(backends), client=time.process_time(),
                        steal=cpu_times())
        run = Run(args.users, args.seconds, loop_starts)
        start = time.time()
        threads = [threading.Thread(target=user_loop, args=(
            i, pids[i], base, run, args.think, start + args.ramp * i / args.users),
            daemon=True) for i in range(args.users)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(args.ramp + args.seconds + 660)
        end, client_cpu = time.time(), time.process_time() - mark.get("client", 0.0)
        steal = steal_since(mark["steal"]) if "steal" in mark else "CPU steal: unknown"
        workers, backends = server_pids(gun.pid, args.db)
        # backends opened during the loop count whole; those of the log-in phase from the mark
        new = [b for b in backends if b not in mark.get("backends", ())]
        app_cpu = cpu_seconds(workers) - mark.get("app", 0.0)
        db_cpu = cpu_seconds([b for b in backends if b in mark.get("backends", ())]) \
            - mark.get("db", 0.0) + cpu_seconds(new)
    finally:
        gun.send_signal(signal.SIGTERM)
        gun.wait(30)
    lat, errors = run.lat, run.errors
    wall = end - mark.get("t", end)
    loop_steps = sum(len(v) for k, v in lat.items() if k not in ("login page", "login"))
    print(f"{args.users} users, think {args.think:g} s (mean), log-ins ramped over "
          f"{args.ramp:g} s, then {args.seconds} s of investigator loop; gunicorn "
          f"{args.workers} workers x {args.threads} threads, PostgreSQL")
    print("load average before: %.2f %.2f %.2f, after: %.2f %.2f %.2f (%d cores)"
          % (*load_before, *os.getloadavg(), os.cpu_count()))
    print(steal)
    loop_requests = sum(n for name, n in run.requests if name not in ("login page", "login"))
    if wall > 0:
        print(f"loop: {loop_steps} steps ({loop_steps / wall:.1f}/s), {loop_requests} HTTP "
              f"requests ({loop_requests / wall:.1f} req/s)   errors (whole run): "
              f"{len(errors)}")
    if loop_steps:
        # CPU the server used in the loop (gunicorn workers + PostgreSQL backends),
        # whatever else runs on the machine: the load-independent cost of the work
        print(f"server CPU in the loop: app {app_cpu:.1f} s + PostgreSQL {db_cpu:.1f} s "
              f"= {(app_cpu + db_cpu) / wall:.2f} of {os.cpu_count()} cores; "
              f"{(app_cpu + db_cpu) / loop_steps * 1000:.1f} ms per step")
        print(f"client CPU in the loop (this process, its threads share one GIL): "
              f"{client_cpu / wall:.2f} cores")
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
