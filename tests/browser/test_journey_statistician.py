"""Journey 3: a statistician downloads the locked snapshot and the public key in the
browser, then checks the files from the command line (``flask --app edc export verify``)
inside the test: intact files pass, a one-byte change fails — in English and in Arabic.
The trial's data, signatures and the database lock are seeded through the services."""
from __future__ import annotations

import os
import subprocess  # nosec B404 — the test runs the project's own CLI
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import email_for, register_patient
from playwright.sync_api import expect

from browser.journey_support import (
    actor, assert_reads_left_to_right, assert_rtl_page, services, user)
from edc.extensions import db as _db

ROOT = Path(__file__).resolve().parents[2]
FLASK = Path(sys.executable).with_name("flask")


@pytest.fixture
def locked_snapshot(app, world, tmp_path):
    """Two ES01 patients and one IT01 patient with complete, signed records; the data
    manager (of every site) locks the database, which stores snapshot version 1."""
    from export_data import insert_records, patients_of, sign_casebooks

    from edc.audit.services import SYSTEM
    from edc.auth.services import grant
    from edc.exports import services as exports
    old = app.config.get("SNAPSHOT_DIR")
    app.config["SNAPSHOT_DIR"] = str(tmp_path / "snapshots")
    for site in ("ES01", "ES01", "IT01"):
        register_patient(app, site)
    with services(app):
        for code in ("IT01", "LB01", "JO01"):
            grant(email_for("data_manager", "ES01"), code, "data_manager", SYSTEM)
        inv = user("investigator", "ES01")
        pts = patients_of()
        insert_records(pts, user_id=inv.id)
        sign_casebooks(pts, inv.id, inv.name)
        _lock, snap = exports.lock_database(actor("data_manager", "ES01"), kind="full")
        name = snap.name
        _db.session.commit()
    yield name
    app.config["SNAPSHOT_DIR"] = old
    for root, dirs, files in os.walk(tmp_path):
        for n in dirs + files:
            os.chmod(os.path.join(root, n), 0o755)


def verify(directory: Path, key: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """``flask --app edc export verify DIR --public-key KEY``, as a statistician runs it
    on their own machine: no database of the app is needed (an empty SQLite path)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDC_")}
    env.update(EDC_DATABASE_URL=f"sqlite:///{tmp_path / 'unused.sqlite'}",
               EDC_SECRET_KEY="statistician-laptop")
    return subprocess.run(  # nosec B603 — fixed argv, no shell
        [str(FLASK), "--app", "edc", "export", "verify", str(directory),
         "--public-key", str(key)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["en", "ar"])
def test_statistician_journey(app, locked_snapshot, new_page, browser_login, shots, lang,
                              tmp_path):
    page = new_page(lang)
    browser_login(page, email_for("statistician", "ES01"))
    page.click('nav a[href="/exports/"]')
    link = page.locator(f'#snapshots a[href="/exports/{locked_snapshot}/"]')
    expect(link).to_be_visible()
    if lang == "ar":
        assert_rtl_page(page)
        assert_reads_left_to_right(link.locator("bdi"), locked_snapshot)
    shots(page, "snapshots")
    link.click()
    page.wait_for_load_state()
    expect(page.locator("#files")).to_be_visible()
    command = page.locator("main p.hint code")
    expect(command.first).to_have_text("flask --app edc export verify DIRECTORY")
    if lang == "ar":   # the command line and the lock's name read left to right
        assert_reads_left_to_right(command.nth(1), "--public-key FILE")
        assert_reads_left_to_right(page.locator("dd bdi", has_text="Data_Manager"),
                                   "Data_Manager ES01")
    shots(page, "snapshot")

    with page.expect_download() as dl:
        page.click(f'a[href="/exports/{locked_snapshot}/zip"]')
    archive = tmp_path / dl.value.suggested_filename
    dl.value.save_as(archive)
    assert archive.name == f"{locked_snapshot}.zip"
    with page.expect_download() as dl:
        page.click('main a[href="/exports/public-key.pem"]')
    key = tmp_path / "milenari-signing-key.pem"
    dl.value.save_as(key)

    files = tmp_path / "files"
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(files)
    assert (files / "manifest.json").is_file() and (files / "manifest.sig").is_file()

    res = verify(files, key, tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "intact" in res.stdout and "locked" in res.stdout, res.stdout

    # one byte changed in one data file: refused, naming the file
    target = files / "DM.csv"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    res = verify(files, key, tmp_path)
    assert res.returncode != 0, res.stdout
    assert "DM.csv" in res.stderr, res.stderr
