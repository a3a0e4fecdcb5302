"""Fixtures of the export tests: a small trial with complete, signed data."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from helpers import email_for, register_patient

from edc.extensions import db as _db


@pytest.fixture(autouse=True)
def snapshot_dir(app, tmp_path):
    """Each test writes its snapshots into its own directory."""
    old = app.config.get("SNAPSHOT_DIR")
    app.config["SNAPSHOT_DIR"] = str(tmp_path / "snapshots")
    yield tmp_path / "snapshots"
    app.config["SNAPSHOT_DIR"] = old
    import os
    for root, dirs, files in os.walk(tmp_path):
        for name in dirs + files:
            os.chmod(os.path.join(root, name), 0o755)


def grant_everywhere(app, role="data_manager", who="ES01"):
    from edc.audit.services import SYSTEM
    from edc.auth.services import grant
    with app.app_context():
        for code in ("IT01", "LB01", "JO01"):
            grant(email_for(role, who), code, role, SYSTEM)
        _db.session.remove()


@pytest.fixture
def trial(app, world):
    """Two patients at ES01 and one at IT01 (one with identifiers), records of a short
    schedule (complete), every casebook signed; the ES01 data manager holds the role at
    every site."""
    from export_data import insert_records, patients_of, sign_casebooks

    from edc.auth.services import get_user_by_email
    pids = [register_patient(app, "ES01", identifiers={
                "full_name": "Lucía Fernández Ortega", "mrn": "HC-99887766",
                "birth_date": "2014-03-17"}),
            register_patient(app, "ES01"), register_patient(app, "IT01")]
    grant_everywhere(app)
    with app.app_context():
        inv = get_user_by_email(email_for("investigator", "ES01"))
        pts = patients_of()
        n = insert_records(pts, user_id=inv.id)
        sign_casebooks(pts, inv.id, inv.name)
        _db.session.remove()
    return SimpleNamespace(pids=pids, n_values=n,
                           identifiers=("Lucía Fernández Ortega", "HC-99887766",
                                        "2014-03-17"))


@pytest.fixture
def actor():
    """actor(role, site) -> the Actor of that test user (inside an app context)."""
    def make(role, site="ES01"):
        from edc.audit.services import Actor
        from edc.auth.services import get_user_by_email
        return Actor.of(get_user_by_email(email_for(role, site)), "test")
    return make
