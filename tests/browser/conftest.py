"""Browser tests: the app served over real HTTP from a thread, driven by Playwright in
Debian's Chromium (/usr/bin/chromium; a browser is never downloaded).

Fixtures:
- ``live_server``: base URL of the session's app (same database as the other fixtures;
  tables are cleaned after every test as everywhere else).
- ``browser``: one headless Chromium for the session.
- ``new_page(lang="en", width=1280, height=900)``: a fresh browser context and page whose
  Accept-Language is ``lang``; console errors and CSP violations fail the test.
- ``shots``: ``shots(page, "step name")`` saves a full-page screenshot to the run's folder
  (printed at the end of the run) for a person to review.
- ``browser_login(page, email)``: logs in through the login form.
"""
from __future__ import annotations

import os
import re
import threading
from datetime import datetime
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from helpers import PASSWORD

CHROMIUM = os.environ.get("EDC_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SHOTS_ROOT = Path(os.environ.get("EDC_SCREENSHOTS",
                                 ROOT / "test-artifacts" / "screenshots"))
_run_dir: Path | None = None

if not Path(CHROMIUM).exists():  # pragma: no cover - tests/run installs it
    pytest.exit(f"{CHROMIUM} is missing: apt-get install chromium", returncode=3)


def shots_dir() -> Path:
    global _run_dir
    if _run_dir is None:
        db = "postgresql" if os.environ.get("EDC_TEST_DATABASE_URL") else "sqlite"
        _run_dir = SHOTS_ROOT / f"{datetime.now():%Y%m%d-%H%M%S}-{db}"
        _run_dir.mkdir(parents=True, exist_ok=True)
    return _run_dir


def pytest_terminal_summary(terminalreporter):
    if _run_dir is not None:
        terminalreporter.write_line(f"browser screenshots: {_run_dir}")


@pytest.fixture(scope="session")
def live_server(app):
    app.config["SERVER_NAME"] = None
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


@pytest.fixture(scope="session")
def _playwright():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(_playwright):
    b = _playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True,
        args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"])
    yield b
    b.close()


@pytest.fixture
def new_page(browser, live_server, request):
    contexts = []

    def make(lang: str = "en", width: int = 1280, height: int = 900):
        ctx = browser.new_context(
            base_url=live_server, locale=lang,
            extra_http_headers={"Accept-Language": lang},
            viewport={"width": width, "height": height})
        ctx.set_default_timeout(15_000)
        page = ctx.new_page()
        page.problems = []  # console errors (CSP violations included) and page errors
        page.on("console", lambda m: m.type == "error" and page.problems.append(m.text))
        page.on("pageerror", lambda e: page.problems.append(str(e)))
        contexts.append((ctx, page))
        return page
    yield make
    failed = getattr(request.node, "rep_call", None)
    for ctx, page in contexts:
        problems = [p for p in page.problems
                    # a refused request (403/404/409, a refused save 422) logs a console error by design
                    if not re.search(r"status of (40[0-9]|422)", p)]
        ctx.close()
        if not (failed and failed.failed):
            assert not problems, f"browser console errors: {problems}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture
def shots(request):
    counter = {"n": 0}
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)

    def take(page, step: str) -> Path:
        counter["n"] += 1
        d = shots_dir() / name
        d.mkdir(parents=True, exist_ok=True)
        path = d / f"{counter['n']:02d}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', step)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path
    return take


def do_login(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/auth/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert "/auth/login" not in page.url, page.content()[:2000]


@pytest.fixture
def browser_login():
    return do_login
