"""Fixtures of the API tests: data at two sites, and tokens per role."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from helpers import email_for, register_patient

from edc.extensions import db as _db


@pytest.fixture(autouse=True)
def snapshot_dir(app, tmp_path):
    old = app.config.get("SNAPSHOT_DIR")
    app.config["SNAPSHOT_DIR"] = str(tmp_path / "snapshots")
    yield
    app.config["SNAPSHOT_DIR"] = old
    import os
    for root, dirs, files in os.walk(tmp_path):
        for name in dirs + files:
            os.chmod(os.path.join(root, name), 0o755)


@pytest.fixture
def data(app, world):
    """A patient with records at ES01 and at IT01; a locked snapshot (the ES01 data
    manager holds the role at every site)."""
    from export_data import insert_records, patients_of, sign_casebooks

    from edc.audit.services import SYSTEM, Actor
    from edc.auth.services import get_user_by_email, grant
    from edc.exports import services
    es, it = register_patient(app, "ES01"), register_patient(app, "IT01")
    with app.app_context():
        for code in ("IT01", "LB01", "JO01"):
            grant(email_for("data_manager", "ES01"), code, "data_manager", SYSTEM)
        inv = get_user_by_email(email_for("investigator", "ES01"))
        pts = patients_of()
        insert_records(pts, user_id=inv.id, acute_days=1)
        sign_casebooks(pts, inv.id)
        dm = Actor.of(get_user_by_email(email_for("data_manager", "ES01")), "t")
        _lock, snap = services.lock_database(dm, kind="full")
        services.unlock_database(dm, "continue")
        name = snap.name
        _db.session.remove()
    return SimpleNamespace(es=es, it=it, snapshot=name)


@pytest.fixture
def token(app, world):
    """token(role, site="ES01", days=30) -> a fresh API token of that user."""
    def make(role, site="ES01", days=30):
        from edc.api.services import create_token
        from edc.audit.services import Actor
        from edc.auth.services import get_user_by_email
        with app.app_context():
            _row, plain = create_token(Actor.of(get_user_by_email(email_for(role, site))),
                                       "test", days)
            _db.session.remove()
        return plain
    return make


def auth(tok):
    return {"Authorization": f"Bearer {tok}"}
