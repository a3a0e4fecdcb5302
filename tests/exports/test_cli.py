"""Ops commands: a failed snapshot leaves the lock in force and is taken again."""
import pytest
from helpers import email_for
from sqlalchemy import select

from edc.audit.models import AuditEvent
from edc.errors import ServiceError
from edc.exports import services
from edc.exports.models import Snapshot


def _dm(app):
    from edc.audit.services import Actor
    from edc.auth.services import get_user_by_email
    return Actor.of(get_user_by_email(email_for("data_manager", "ES01")), "t")


def test_failed_snapshot_is_recorded_and_taken_again(app, trial, monkeypatch, tmp_path):
    import edc.exports.services as svc
    from edc.extensions import db

    def broken(directory, info, **kw):
        (directory / "half.csv").write_text("x")
        raise OSError("disk full")
    with app.app_context():
        monkeypatch.setattr(svc, "build", broken)
        with pytest.raises(ServiceError):
            services.lock_database(_dm(app), kind="full")
        monkeypatch.undo()
        assert services.active_lock() is not None          # the data stay frozen
        snap = db.session.scalars(select(Snapshot)).one()
        assert snap.status == "failed" and "disk full" in snap.error
        assert not (services.snapshot_root() / snap.name).exists()
        assert [p.name for p in services.snapshot_root().iterdir()] == []
        ev = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "snapshot.failed")).one()
        assert "disk full" in ev.reason
        db.session.remove()
    runner = app.test_cli_runner()
    res = runner.invoke(args=["export", "snapshot"])
    assert res.exit_code == 0, res.output
    assert "full-v2" in res.output
    res = runner.invoke(args=["export", "list"])
    assert "full-v2" in res.output and "failed" in res.output
    res = runner.invoke(args=["export", "snapshot"])
    assert res.exit_code == 1 and "already has its snapshot" in res.output
    res = runner.invoke(args=["export", "rebuild", "full-v2", str(tmp_path / "again")])
    assert res.exit_code == 0 and "byte-identical" in res.output, res.output


def test_snapshot_command_without_lock(app, world):
    res = app.test_cli_runner().invoke(args=["export", "snapshot"])
    assert res.exit_code == 1 and "not locked" in res.output


def test_verify_without_a_key_says_so(app, tmp_path):
    cfg_key = app.config["SIGNING_KEY_FILE"]
    app.config["SIGNING_KEY_FILE"] = "absent.key"
    try:
        res = app.test_cli_runner().invoke(args=["export", "verify", str(tmp_path)])
    finally:
        app.config["SIGNING_KEY_FILE"] = cfg_key
    assert res.exit_code == 1 and "public key" in res.output


def test_abandoned_snapshot_can_be_taken_again(app, trial):
    from datetime import timedelta

    from edc.extensions import db
    with app.app_context():
        lock, snap = services.lock_database(_dm(app), kind="full")
        snap.status = "building"
        snap.created_at = snap.created_at - timedelta(hours=2)
        db.session.commit()
        again = services.take_snapshot(_dm(app), services.active_lock())
        assert again.status == "ready" and again.version == snap.version + 1
        assert db.session.get(Snapshot, snap.id).status == "failed"
