"""Backup and restore round trip: records, the audit chain and the keys survive."""

from helpers import PASSWORD, email_for, login, post, register_patient
from sqlalchemy import create_engine, select, text

from edc import create_app


def _fresh_target(app, tmp_path):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite"):
        return "sqlite:///" + str(tmp_path / "restored.sqlite")
    admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text("DROP DATABASE IF EXISTS edc_restore_test"))
        c.execute(text("CREATE DATABASE edc_restore_test"))
    admin.dispose()
    return url.rsplit("/", 1)[0] + "/edc_restore_test"


def test_backup_restore_round_trip(app, world, tmp_path):
    pid = register_patient(app, identifiers={"full_name": "Lucía Ferrer", "mrn": "HC-777"})
    c = app.test_client()
    login(c, email_for("investigator", "ES01"))
    assert post(c, f"/patients/{pid}/forms/SCR/DM",
                {"BRTHYR": "2016", "SEX": "F", "WEIGHT": "20", "HEIGHT": "110",
                 "action": "save"}).status_code == 302
    out = tmp_path / "edc.backup"
    r = app.test_cli_runner().invoke(args=["backup", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert out.stat().st_size > 0
    # a second backup to the same file is refused
    assert app.test_cli_runner().invoke(args=["backup", "-o", str(out)]).exit_code == 1

    target = _fresh_target(app, tmp_path)
    app2 = create_app({"TESTING": True, "DATABASE_URL": target,
                       "MASTER_KEY": app.config["MASTER_KEY"]})
    app2.instance_path = app.instance_path
    r = app2.test_cli_runner().invoke(args=["restore", str(out)])
    assert r.exit_code == 0, r.output
    with app2.app_context():
        from edc.audit.services import verify
        from edc.auth.services import get_user_by_email
        from edc.crf.models import FormRecord
        from edc.extensions import db
        from edc.patients import services
        from edc.audit.services import Actor
        assert verify().ok
        rec = db.session.scalars(select(FormRecord)).one()
        assert rec.values["WEIGHT"] == "20"
        inv = get_user_by_email(email_for("investigator", "ES01"))
        patient = services.lookup(Actor.of(inv), pid)
        assert services.identifiers(patient, Actor.of(inv))["full_name"] == "Lucía Ferrer"
        # restoring over data is refused
        r = app2.test_cli_runner().invoke(args=["restore", str(out)])
        assert r.exit_code == 1 and "not empty" in r.output
        db.session.remove()
        db.engine.dispose()
    # the restored database serves log-ins
    c2 = app2.test_client()
    assert login(c2, email_for("investigator", "ES01"), PASSWORD).status_code == 302
    with app2.app_context():
        from edc.extensions import db
        db.session.remove()
        db.engine.dispose()
