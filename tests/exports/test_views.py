"""Statisticians see the snapshot list and download files or one zip; every download is
audited; working exports are for data managers."""
import io
import json
import zipfile

import pandas as pd
import pyreadstat
import pytest
from helpers import post
from sqlalchemy import select

from edc.audit.models import AuditEvent
from edc.exports import services


@pytest.fixture
def locked(app, trial):
    from helpers import email_for

    from edc.audit.services import Actor
    from edc.auth.services import get_user_by_email
    with app.app_context():
        dm = Actor.of(get_user_by_email(email_for("data_manager", "ES01")), "t")
        _lock, snap = services.lock_database(dm, kind="full")
        return snap.name


def _downloads(app):
    from edc.extensions import db
    with app.app_context():
        return [(e.user_name, e.object_id, e.item, json.loads(e.new_value)["via"])
                for e in db.session.scalars(select(AuditEvent).where(
                    AuditEvent.action == "export.download").order_by(AuditEvent.id))]


def test_statistician_downloads_every_format_and_reads_it_back(app, locked, logged_in,
                                                               tmp_path):
    c = logged_in("statistician")
    page = c.get("/exports/").get_data(as_text=True)
    assert locked in page and "Lock the database" not in page
    assert "Take a working export" not in page
    detail = c.get(f"/exports/{locked}/").get_data(as_text=True)
    for name in ("DM.csv", "items_long.csv", "odm.xml", "dm.xpt", "DM.dta", "DM.sav",
                 "codebook.html", "codebook.csv", "manifest.json", "manifest.sig"):
        r = c.get(f"/exports/{locked}/files/{name}")
        assert r.status_code == 200, name
        assert "attachment" in r.headers["Content-Disposition"]
        (tmp_path / name).write_bytes(r.data)
        r.close()
        assert name in detail
    assert len(pd.read_csv(tmp_path / "DM.csv")) == 3
    for reader, name in ((pyreadstat.read_xport, "dm.xpt"), (pyreadstat.read_dta, "DM.dta"),
                         (pyreadstat.read_sav, "DM.sav")):
        df, meta = reader(str(tmp_path / name))
        assert len(df) == 3 and meta.column_names_to_labels["SUBJID"] == "Patient pseudonym"
    events = _downloads(app)
    assert len(events) == 10
    assert all(e[0] == "Statistician ES01" and e[1] == locked and e[3] == "web"
               for e in events)


def test_zip_download_is_audited_and_identical_twice(app, locked, logged_in):
    c = logged_in("statistician")
    r1 = c.get(f"/exports/{locked}/zip")
    assert r1.status_code == 200 and r1.mimetype == "application/zip"
    b1 = r1.data
    b2 = c.get(f"/exports/{locked}/zip").data
    assert b1 == b2
    with zipfile.ZipFile(io.BytesIO(b1)) as zf:
        names = zf.namelist()
        assert "manifest.json" in names and "DM.sav" in names and "odm.xml" in names
        assert zf.testzip() is None
        man = json.loads(zf.read("manifest.json"))
        assert {f["path"] for f in man["files"]} | {"manifest.json", "manifest.sig"} == \
            set(names)
    assert [e[2] for e in _downloads(app)] == ["(zip)", "(zip)"]


def test_unknown_file_and_tampered_store(app, locked, logged_in):
    c = logged_in("statistician")
    assert c.get(f"/exports/{locked}/files/nothing.csv").status_code == 404
    assert c.get(f"/exports/{locked}/files/..%2Finstance").status_code == 404
    assert c.get("/exports/full-v99/").status_code == 404
    with app.app_context():
        d = services.snapshot_root() / locked
    import os
    os.chmod(d, 0o755)
    os.chmod(d / "manifest.json", 0o644)
    (d / "manifest.json").write_text("{}")
    assert c.get(f"/exports/{locked}/files/DM.csv").status_code == 409


@pytest.mark.parametrize("role", ["investigator", "coordinator", "monitor", "admin"])
def test_live_data_roles_do_not_see_snapshots(app, locked, logged_in, role):
    c = logged_in(role)
    assert c.get("/exports/").status_code == 403
    assert c.get(f"/exports/{locked}/").status_code == 404
    assert c.get(f"/exports/{locked}/files/DM.csv").status_code == 404
    assert _downloads(app) == []


def test_working_export_through_the_pages(app, trial, logged_in):
    c = logged_in("data_manager", "IT01")
    r = post(c, "/exports/working", {})
    assert r.status_code == 302
    name = r.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    assert name.startswith("working-")
    page = c.get(f"/exports/{name}/").get_data(as_text=True)
    assert "NOT LOCKED" in page and "NOT_LOCKED_DM.csv" in page
    assert logged_in("statistician").get(f"/exports/{name}/").status_code == 404
    assert post(logged_in("statistician"), "/exports/working", {}).status_code == 403


def test_public_key_download(app, world, logged_in):
    r = logged_in("statistician").get("/exports/public-key.pem")
    assert r.status_code == 200 and b"BEGIN PUBLIC KEY" in r.data


def test_navigation_link(app, world, logged_in):
    assert 'href="/exports/"' in logged_in("statistician").get("/").get_data(as_text=True)
    assert 'href="/exports/"' not in logged_in("investigator").get("/") \
        .get_data(as_text=True)
